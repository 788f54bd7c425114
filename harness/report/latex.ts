/**
 * LaTeX renderer: a booktabs table (no vertical rules), the best value as `$\mathbf{..}\pm..$` so no extra
 * package beyond booktabs is needed, names escaped, a caption that says what ± means and how many seeds,
 * and the provenance under the tabular.
 */
import { cellText, columnLabel, footerLine, rowLabel, type TableColumn, type TableModel } from './model.js';

const SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}', '&': '\\&', '%': '\\%', $: '\\$', '#': '\\#', _: '\\_', '{': '\\{', '}': '\\}',
  '~': '\\textasciitilde{}', '^': '\\textasciicircum{}',
  'α': '$\\alpha$', 'η': '$\\eta$', 'δ': '$\\delta$', 'Δ': '$\\Delta$', '±': '$\\pm$', '−': '$-$', '↑': '$\\uparrow$', '↓': '$\\downarrow$',
  '·': '$\\cdot$', '×': '$\\times$', '→': '$\\to$', '–': '--', '—': '---', '≥': '$\\geq$', '≤': '$\\leq$',
};

/** Escapes text for LaTeX, mapping the few non-ASCII symbols the tables use to math. */
export function texEscape(s: string): string {
  return [...s].map((ch) => SPECIAL[ch] ?? ch).join('').replace(/"([^"]*)"/g, "``$1''");
}

/** A number from cellText ("−1.5", "+2.0") as math-mode text. */
const mathNum = (s: string): string => s.replace('−', '-');

function texCell(t: TableModel, c: TableColumn, rowId: string): string {
  const cell = t.rows.find((r) => r.id === rowId)?.cells[c.key];
  if (!cell) return '--';
  const x = cellText(cell, c);
  if (cell.kind === 'empty' || (cell.kind === 'value' && cell.text !== undefined)) return texEscape(x.main);
  if (cell.kind === 'ratio') return `$${mathNum(x.main.replace('%', ''))}\\%$`;
  const main = x.best ? `\\mathbf{${mathNum(x.main)}}` : mathNum(x.main);
  const core = x.spread !== undefined ? `$${main}\\pm${x.spread}$` : `$${main}$`;
  if (!x.extra) return core;
  if (x.extra.startsWith('[') && x.extra.includes(', ')) {
    const [lo, hi] = x.extra.slice(1, -1).split(', ') as [string, string];
    return `${core} {\\scriptsize $[${mathNum(lo)}, ${mathNum(hi)}]$}`;
  }
  return `${core} {\\scriptsize ${texEscape(x.extra)}}`;
}

export function toLatex(t: TableModel): string {
  const spec = `l${'r'.repeat(t.columns.length)}`;
  const lines = ['\\begin{table}[t]', '  \\centering', `  \\caption{${texEscape(`${t.title}. ${t.caption}`)}}`, `  \\label{tab:${t.suite}-${t.name}}`, `  \\begin{tabular}{${spec}}`, '    \\toprule'];
  // Group header (ablation variants): one \multicolumn per run of columns sharing a group.
  if (t.columns.some((c) => c.group)) {
    const spans: { group: string; from: number; to: number }[] = [];
    t.columns.forEach((c, i) => {
      const last = spans[spans.length - 1];
      if (last && last.group === (c.group ?? '')) last.to = i + 2;
      else spans.push({ group: c.group ?? '', from: i + 2, to: i + 2 });
    });
    lines.push(`     & ${spans.map((s) => `\\multicolumn{${s.to - s.from + 1}}{c}{${texEscape(s.group)}}`).join(' & ')} \\\\`);
    lines.push(`    ${spans.filter((s) => s.group).map((s) => `\\cmidrule(lr){${s.from}-${s.to}}`).join('')}`);
  }
  lines.push(`    ${[t.rowHeader, ...t.columns.map(columnLabel)].map(texEscape).join(' & ')} \\\\`, '    \\midrule');
  for (const r of t.rows) lines.push(`    ${[texEscape(rowLabel(r)), ...t.columns.map((c) => texCell(t, c, r.id))].join(' & ')} \\\\`);
  lines.push('    \\bottomrule', '  \\end{tabular}', '', `  \\par\\smallskip{\\footnotesize ${texEscape(footerLine(t.footer))}}`, '\\end{table}');
  return lines.join('\n') + '\n';
}

/**
 * LaTeX renderer: a booktabs table (no vertical rules) sized for a paper page — \small, narrow column gaps,
 * long headers and row labels broken over lines, and a Δ printed beneath its metric's mean (TableColumn.under)
 * rather than in a column of its own. Line breaks inside a cell are nested tabulars, the best value is
 * `$\mathbf{..}$`, so no package beyond booktabs is needed. The caption says what ± means and how many
 * seeds; the provenance sits under the tabular.
 */
import { cellText, columnLabel, footerLine, rowLabel, type TableCell, type TableColumn, type TableModel } from './model.js';

const SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}', '&': '\\&', '%': '\\%', $: '\\$', '#': '\\#', _: '\\_', '{': '\\{', '}': '\\}',
  '~': '\\textasciitilde{}', '^': '\\textasciicircum{}',
  'α': '$\\alpha$', 'η': '$\\eta$', 'δ': '$\\delta$', 'Δ': '$\\Delta$', '±': '$\\pm$', '−': '$-$', '↑': '$\\uparrow$', '↓': '$\\downarrow$',
  '·': '$\\cdot$', '×': '$\\times$', '→': '$\\to$', '–': '--', '—': '---', '≥': '$\\geq$', '≤': '$\\leq$', 'ᵀ': '$^\\top$', '÷': '$\\div$',
};

/** Escapes text for LaTeX, mapping the few non-ASCII symbols the tables use to math. */
export function texEscape(s: string): string {
  return [...s].map((ch) => SPECIAL[ch] ?? ch).join('').replace(/"([^"]*)"/g, "``$1''");
}

/** Header lines hold at most this many characters (at least the second), row labels this many (at \small, ~4.5 pt each). */
const HEADER_CHARS = 14;
const MIN_HEADER_CHARS = 8;
const LABEL_CHARS = 18;

/**
 * Breaks text into lines of at most `width` characters at spaces, and inside a longer word before a '+' or '@'
 * or after a '-' ("v-pretraining+decontam"); a word longer than the width with no such place stays whole.
 */
export function wrapText(s: string, width: number): string[] {
  // A short parenthesis ("(1 failed)", "(%)") is kept on one line, as one word.
  const words: string[] = [];
  for (const w of s.split(' ').filter((x) => x)) {
    const last = words[words.length - 1];
    const open = last !== undefined && last.startsWith('(') && !last.endsWith(')');
    if (open && last.length + 1 + w.length <= width) words[words.length - 1] = `${last} ${w}`;
    else words.push(w);
  }
  const pieces: { text: string; glue: string }[] = [];
  for (const word of words) {
    // A word longer than a line (by more than two characters) breaks before a '+' or '@' or after a '-' ("baseline@time", "Self-distillation").
    const parts = word.length > width + 2 ? word.split(/(?=[+@])|(?<=-)(?=.{3})/) : [word];
    parts.forEach((p, i) => pieces.push({ text: p, glue: i === 0 ? ' ' : '' }));
  }
  const lines: string[] = [];
  pieces.forEach((p, i) => {
    const last = lines[lines.length - 1];
    // A short last piece (a direction arrow) stays with the line before rather than alone on its own.
    const fits = last !== undefined && (last.length + p.glue.length + p.text.length <= width || (i === pieces.length - 1 && p.text.length <= 2));
    if (fits) lines[lines.length - 1] = last + p.glue + p.text;
    else lines.push(p.text);
  });
  return lines.length ? lines : [''];
}

/** Lines stacked in one cell (a nested tabular: no package needed); a single line stays as it is. */
function stack(lines: readonly string[], align: 'l' | 'r' | 'c', vertical: 't' | 'b'): string {
  return lines.length === 1 ? (lines[0] as string) : `\\begin{tabular}[${vertical}]{@{}${align}@{}}${lines.join('\\\\')}\\end{tabular}`;
}

/** A number from cellText ("−1.5", "+2.0") as math-mode text. */
const mathNum = (s: string): string => s.replace(/−/g, '-');

const scriptsize = (s: string): string => `{\\scriptsize ${s}}`;

/**
 * One cell on one line. An interval or note after the number is set in \scriptsize when `smallExtra` (a cell on
 * its own); a line printed beneath another is \scriptsize as a whole, so its extra stays at that size.
 */
function texCell(cell: TableCell, c: TableColumn, smallExtra: boolean): string {
  const x = cellText(cell, c);
  if (cell.kind === 'empty' || cell.kind === 'ratio' || (cell.kind === 'value' && cell.text !== undefined)) return texEscape(x.main);
  const main = x.best ? `\\mathbf{${mathNum(x.main)}}` : mathNum(x.main);
  const core = x.spread !== undefined ? `$${main}\\pm${x.spread}$` : `$${main}$`;
  if (!x.extra) return core;
  const bracket = x.extra.startsWith('[') && x.extra.includes(', ');
  const extra = bracket ? `$[${mathNum(x.extra.slice(1, -1))}]$` : texEscape(x.extra);
  return `${core} ${smallExtra ? scriptsize(extra) : extra}`;
}

/** Characters a \\scriptsize line takes at table size (7 pt against 9 pt). */
const SCRIPT = 0.78;

/** Characters one line of a \\small table holds across TEXT_WIDTH (5.5 in at ~4.5 pt a character, less a margin). */
const PAGE_CHARS = 84;

/**
 * Characters the widest value of a column takes: with ± sd beside the mean, or (`compact`) beneath it; the
 * lines of the columns printed beneath it count at \\scriptsize.
 */
function bodyChars(t: TableModel, c: TableColumn, beneath: readonly TableColumn[], compact: boolean): number {
  let widest = 0;
  for (const r of t.rows) {
    const own = r.cells[c.key];
    if (own) {
      const x = cellText(own, c);
      const spread = x.spread ? x.spread.length + 1 : 0;
      const first = compact && own.kind === 'stat' && !beneath.length ? Math.max(x.main.length, spread * SCRIPT) : x.main.length + (spread ? spread + 2 : 0);
      widest = Math.max(widest, first + (x.extra ? (x.extra.length + 1) * (beneath.length ? 1 : SCRIPT) : 0));
    }
    for (const u of beneath) {
      const b = r.cells[u.key];
      if (!b) continue;
      const x = cellText(b, u);
      widest = Math.max(widest, (x.main.length + (x.extra ? x.extra.length + 1 : 0)) * SCRIPT);
    }
  }
  return widest;
}

/** Longest line of a label broken at `chars`. */
const longest = (label: string, chars: number): number => Math.max(...wrapText(label, chars).map((l) => l.length));

/**
 * The layout a table gets: as it is when it fits a line of the page (headers up to HEADER_CHARS a line, ± sd
 * beside the mean); else compact, with ± sd beneath the mean and each header broken to about its column's values
 * (at least MIN_HEADER_CHARS), so a header never widens its column much. Returns each shown column's header width.
 */
function layout(t: TableModel, shown: readonly TableColumn[], under: (c: TableColumn) => TableColumn[]): { compact: boolean; headerChars: Map<string, number> } {
  const label = Math.max(longest(t.rowHeader, LABEL_CHARS), ...t.rows.map((r) => longest(rowLabel(r), LABEL_CHARS)));
  const natural = shown.reduce((sum, c) => sum + Math.max(longest(columnLabel(c), HEADER_CHARS), bodyChars(t, c, under(c), false)) + 2, label + 2);
  const compact = natural > PAGE_CHARS;
  const headerChars = new Map(shown.map((c) => [c.key, compact ? Math.min(HEADER_CHARS, Math.max(MIN_HEADER_CHARS, Math.ceil(bodyChars(t, c, under(c), true)))) : HEADER_CHARS]));
  return { compact, headerChars };
}

/** A column's header: its label broken over lines, and beneath it (smaller) what the columns under it show. */
function headerCell(c: TableColumn, beneath: readonly TableColumn[], chars: number): string {
  const lines = wrapText(columnLabel(c), chars).map(texEscape);
  for (const u of beneath) lines.push(scriptsize(texEscape(u.label.startsWith('Δ') ? 'Δ [95% CI]' : u.label)));
  return stack(lines, 'c', 'b');
}

/** A body cell: its own value, and beneath it (\scriptsize) the values of the columns printed under it. */
function bodyCell(c: TableColumn, beneath: readonly TableColumn[], cells: Record<string, TableCell>, compact: boolean): string {
  const own = cells[c.key];
  if (!own) return '--';
  const more = beneath.flatMap((u) => {
    const x = cells[u.key];
    // A blank (the reference row's own difference) adds no line.
    return x && !(x.kind === 'empty' && x.text === '') ? [scriptsize(texCell(x, u, false))] : [];
  });
  if (more.length) return stack([texCell(own, c, false), ...more], 'r', 't');
  // Compact: a mean's ± sd goes beneath it (smaller), so the column is as wide as the number, not both.
  if (compact && own.kind === 'stat' && own.stat.n > 1) {
    const x = cellText(own, c);
    return stack([`$${x.best ? `\\mathbf{${mathNum(x.main)}}` : mathNum(x.main)}$`, scriptsize(`$\\pm${x.spread}$`)], 'r', 't');
  }
  return texCell(own, c, true);
}

export function toLatex(t: TableModel): string {
  const shown = t.columns.filter((c) => !c.under || !t.columns.some((o) => o.key === c.under));
  const under = (c: TableColumn): TableColumn[] => t.columns.filter((u) => u.under === c.key);
  const width = shown.length + 1;
  const lines = [
    '\\begin{table}[t]',
    '  \\centering',
    '  \\small',
    '  \\setlength{\\tabcolsep}{4pt}',
    `  \\caption{${texEscape(`${t.title}. ${t.caption}`)}}`,
    `  \\label{tab:${t.suite}-${t.name}}`,
    `  \\begin{tabular}{l${'r'.repeat(shown.length)}}`,
    '    \\toprule',
  ];
  // Group header (ablation streams): one \multicolumn per run of columns sharing a group.
  if (shown.some((c) => c.group)) {
    const spans: { group: string; from: number; to: number }[] = [];
    shown.forEach((c, i) => {
      const last = spans[spans.length - 1];
      if (last && last.group === (c.group ?? '')) last.to = i + 2;
      else spans.push({ group: c.group ?? '', from: i + 2, to: i + 2 });
    });
    lines.push(`     & ${spans.map((s) => `\\multicolumn{${s.to - s.from + 1}}{c}{${texEscape(s.group)}}`).join(' & ')} \\\\`);
    lines.push(`    ${spans.filter((s) => s.group).map((s) => `\\cmidrule(lr){${s.from}-${s.to}}`).join('')}`);
  }
  const { compact, headerChars } = layout(t, shown, under);
  lines.push(`    ${[stack(wrapText(t.rowHeader, LABEL_CHARS).map(texEscape), 'l', 'b'), ...shown.map((c) => headerCell(c, under(c), headerChars.get(c.key) ?? HEADER_CHARS))].join(' & ')} \\\\`, '    \\midrule');
  let group: string | undefined;
  t.rows.forEach((r, i) => {
    if (r.group !== undefined && r.group !== group) {
      if (i > 0) lines.push('    \\midrule');
      lines.push(`    \\multicolumn{${width}}{@{}l}{\\textit{${texEscape(r.group)}}} \\\\`);
      group = r.group;
    }
    const label = stack(wrapText(rowLabel(r), LABEL_CHARS).map(texEscape), 'l', 't');
    lines.push(`    ${[label, ...shown.map((c) => bodyCell(c, under(c), r.cells, compact))].join(' & ')} \\\\`);
  });
  lines.push('    \\bottomrule', '  \\end{tabular}', '', `  \\par\\smallskip{\\footnotesize ${texEscape(footerLine(t.footer))}}`, '\\end{table}');
  return lines.join('\n') + '\n';
}

/** Markdown renderer of a {@link TableModel}: title, caption, a pipe table with bold best values, footer. */
import { cellText, columnLabel, footerLine, rowLabel, type TableModel } from './model.js';

const esc = (s: string): string => s.replace(/\|/g, '\\|');

export function toMarkdown(t: TableModel): string {
  const head = [t.rowHeader, ...t.columns.map((c) => (c.group ? `${c.group}: ${columnLabel(c)}` : columnLabel(c)))];
  const lines = [`### ${t.title}`, '', t.caption, '', `| ${head.map(esc).join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`];
  let group: string | undefined;
  for (const r of t.rows) {
    // A row group (the model of a table across suites) gets a heading row where it changes.
    if (r.group !== undefined && r.group !== group) lines.push(`| **${esc(r.group)}** |${' |'.repeat(t.columns.length)}`);
    group = r.group;
    const cells = t.columns.map((c) => {
      const cell = r.cells[c.key];
      if (!cell) return '–';
      const x = cellText(cell, c);
      const core = x.spread !== undefined ? `${x.main} ± ${x.spread}` : x.main;
      const shown = x.best ? `**${core}**` : core;
      return x.extra ? `${shown} ${x.extra}` : shown;
    });
    lines.push(`| ${[esc(rowLabel(r)), ...cells].join(' | ')} |`);
  }
  lines.push('', footerLine(t.footer));
  return lines.join('\n') + '\n';
}

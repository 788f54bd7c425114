/** The three text renderings of each table, by output file name. */
import { toCsv } from './csv.js';
import { toLatex } from './latex.js';
import { toMarkdown } from './markdown.js';
import type { TableModel } from './model.js';

/** File name → content of the tables in Markdown, CSV and LaTeX (main.md, main.csv, main.tex, ...). */
export function renderTables(tables: readonly TableModel[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of tables) {
    out.set(`${t.name}.md`, toMarkdown(t));
    out.set(`${t.name}.csv`, toCsv(t));
    out.set(`${t.name}.tex`, toLatex(t));
  }
  return out;
}

/**
 * A suite's tables, each at most MAX_COLUMNS wide so a paper page holds it: main (each arm against the
 * baseline on the headline metrics) and, when there are more metrics, "more metrics"; ablation (the paper's
 * shape: arms down, one metric, the streams across); cost (the overhead table); and apart from these, the
 * diagnostics. Columns come from what the cells recorded; nothing here knows which task produced them.
 */
import type { TableModel } from './model.js';
import type { ResultSet } from './read.js';
import { ablationTable } from './table-ablation.js';
import { costTable } from './table-cost.js';
import { diagnosticsTable } from './table-diagnostics.js';
import { mainTable, metricTables } from './table-main.js';

export { direction, metricKeys, oracleOf, referenceOf } from './cells.js';
export { ablationTable, costTable, diagnosticsTable, mainTable };

/** Every table of a suite; one with nothing to show (no diagnostics recorded, say) is left out, never main. */
export function allTables(set: ResultSet): TableModel[] {
  const rest = [ablationTable(set), costTable(set), diagnosticsTable(set)].filter((t) => t.columns.length && t.rows.length);
  return [...metricTables(set), ...rest];
}

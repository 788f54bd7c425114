/**
 * The main table (each arm against the baseline: mean ± sd and the paired difference for the headline
 * metrics) and, when the cells record more metrics than a page holds, the same table for the others.
 */
import { metricDisplay } from './display.js';
import { MAX_COLUMNS, type TableCell, type TableColumn, type TableModel, type TableRow } from './model.js';
import { deltaCell, direction, failures, finite, markBest, metricGetter, NOT_APPLICABLE, rankedMetricKeys, referenceOf, seedCountText, seedValues, statCell } from './cells.js';
import { provenance, type ResultSet } from './read.js';
import { describe, MIN_INTERVAL_N } from '../stats.js';

/** Metrics per table: each takes two columns (mean ± sd, Δ) beside the row labels. */
export const METRICS_PER_TABLE = Math.floor((MAX_COLUMNS - 1) / 2);

/** " Budget: …" for the caption: which rows train a fixed number of updates and which a wall-clock time. */
export function budgetText(set: ResultSet): string {
  const kinds = new Map<string, string[]>();
  for (const a of set.arms) {
    const b = set.cells.find((c) => c.armId === a.id && c.budget)?.budget?.budget;
    if (!b) continue;
    const what = b.kind === 'updates' ? 'a fixed number of learner updates' : b.kind === 'seconds' ? `${b.seconds} s of training` : `the wall-clock ${b.arm} needs for ${b.updates ?? 'its'} updates (calibrated per step)`;
    kinds.set(what, [...(kinds.get(what) ?? []), a.id]);
  }
  if (!kinds.size) return '';
  if (kinds.size === 1) return ` Budget: every arm trains ${[...kinds.keys()][0]}.`;
  return ` Budget: ${[...kinds].map(([what, ids]) => `${ids.join(', ')} train ${what}`).join('; ')}.`;
}

/** What Δ and its interval mean, in every caption that shows one. */
export function deltaText(refNames: string): string {
  return (
    `Δ: difference from the baseline trained on the same stream (${refNames || 'none'}), the mean of per-seed differences ` +
    '(cells of one seed share base checkpoint, stream order and feedback sample) with its 95% t interval on n − 1 degrees of freedom, ' +
    `stated only with at least ${MIN_INTERVAL_N} paired seeds whose differences vary enough to show; otherwise the cell shows what holds ("n = 2", "n = 4, no spread").`
  );
}

function metricTable(set: ResultSet, keys: readonly string[], name: string, title: string, also: string): TableModel {
  const refs = referenceOf(set);
  const columns: TableColumn[] = [];
  for (const key of keys) {
    const display = metricDisplay(key);
    const hib = direction(set, key);
    columns.push({ key: `m:${key}`, label: display.label, source: key, ranked: true, display, ...(hib === undefined ? {} : { higherIsBetter: hib }) });
    columns.push({ key: `d:${key}`, label: `Δ ${display.label}`, source: key, ranked: false, display, under: `m:${key}` });
  }
  const rows: TableRow[] = [];
  for (const ref of set.references ?? []) {
    const cells: Record<string, TableCell> = {};
    for (const key of keys) {
      const m = ref.metrics[key];
      const v = m && m.n > 0 ? finite(m.value) : undefined;
      cells[`m:${key}`] = v === undefined ? { kind: 'empty' } : { kind: 'stat', stat: describe([v]), seeds: {}, best: false };
      cells[`d:${key}`] = NOT_APPLICABLE;
    }
    rows.push({ id: ref.id, label: ref.label, note: ref.note, failed: 0, cells });
  }
  for (const a of set.arms) {
    const ref = refs.get(a.id);
    const cells: Record<string, TableCell> = {};
    for (const key of keys) {
      const mine = seedValues(set, a.id, metricGetter(key));
      cells[`m:${key}`] = statCell(mine);
      cells[`d:${key}`] = ref && ref.id !== a.id ? deltaCell(mine, seedValues(set, ref.id, metricGetter(key)), metricDisplay(key)) : NOT_APPLICABLE;
    }
    rows.push({ id: a.id, label: a.id, failed: failures(set, a.id), cells });
  }
  markBest(rows, columns);
  const refNames = [...new Set([...refs.values()].map((r) => r.id))].join(', ');
  return {
    name,
    section: 'compact',
    suite: set.suite,
    title,
    caption: `Mean ± sample sd over ${seedCountText(rows)}. ${deltaText(refNames)} ↑/↓: higher/lower is better; best mean per column in bold.${also}${budgetText(set)}`,
    rowHeader: 'arm',
    columns,
    rows,
    seeds: set.seeds,
    footer: provenance(set),
  };
}

/**
 * The main table, the headline metrics (display.ts's rank) each with its Δ, and a "more metrics" table per
 * further group of metrics, so no table is wider than a page and no recorded metric is left out.
 */
export function metricTables(set: ResultSet): TableModel[] {
  const keys = rankedMetricKeys(set);
  const groups: string[][] = [];
  for (let i = 0; i < keys.length; i += METRICS_PER_TABLE) groups.push(keys.slice(i, i + METRICS_PER_TABLE));
  if (!groups.length) groups.push([]);
  const label = (ks: readonly string[]): string => ks.map((k) => metricDisplay(k).label).join(', ');
  return groups.map((ks, i) => {
    const later = groups.slice(i + 1).flat();
    const also = later.length ? ` Further metrics (${label(later)}) in the next table.` : '';
    if (i === 0) return metricTable(set, ks, 'main', `${set.suite}: each arm against the baseline`, also);
    const name = i === 1 ? 'more-metrics' : `more-metrics-${i}`;
    return metricTable(set, ks, name, `${set.suite}: each arm against the baseline, further metrics`, also);
  });
}

/** The main table alone. */
export function mainTable(set: ResultSet): TableModel {
  return metricTables(set)[0] as TableModel;
}

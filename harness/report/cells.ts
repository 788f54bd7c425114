/**
 * What every table builder shares: which metrics the cells recorded and in which direction, each arm's
 * reference (the baseline of its stream), per-seed values, and the cells they become (mean ± sd, the paired
 * difference with an honest interval, best-in-column marks).
 */
import { metricRank, type MetricDisplay } from './display.js';
import type { SeedValues, TableCell, TableColumn, TableRow } from './model.js';
import { completedBySeed, type ArmInfo, type CellRecord, type ResultSet } from './read.js';
import { describe, intervalWithheld, pairedDifference } from '../stats.js';

/** Metric keys in a stable order: as the first completed cell (declared arm order) lists them, then the rest sorted. */
export function metricKeys(set: ResultSet): string[] {
  const done = set.arms.flatMap((a) => set.cells.filter((c) => c.armId === a.id && c.status === 'completed'));
  const first = done[0] ? Object.keys(done[0].metrics) : [];
  const rest = [...new Set(done.flatMap((c) => Object.keys(c.metrics)))].filter((k) => !first.includes(k)).sort();
  return [...first, ...rest];
}

/** Metric keys headline first (display.ts's rank), ties in recorded order: what a compact table shows first. */
export function rankedMetricKeys(set: ResultSet): string[] {
  return metricKeys(set)
    .map((k, i) => ({ k, i }))
    .sort((a, b) => metricRank(a.k) - metricRank(b.k) || a.i - b.i)
    .map((x) => x.k);
}

/** Direction of a metric as the cells record it (undefined when none does). */
export function direction(set: ResultSet, key: string): boolean | undefined {
  for (const c of set.cells) if (key in c.higherIsBetter) return c.higherIsBetter[key];
  return undefined;
}

/** The reference arm of each arm: the baseline arm on the same stream variant, else the first baseline, else the first arm. */
export function referenceOf(set: ResultSet): Map<string, ArmInfo> {
  const baselines = set.arms.filter((a) => a.arm === 'baseline');
  const fallback = baselines[0] ?? set.arms[0];
  const out = new Map<string, ArmInfo>();
  for (const a of set.arms) {
    const ref = baselines.find((b) => b.variant === a.variant) ?? fallback;
    if (ref) out.set(a.id, ref);
  }
  return out;
}

/** The arm whose row bounds what target design can do on each stream variant (`oracle-gate`), by variant. */
export function oracleOf(set: ResultSet): Map<string, ArmInfo> {
  const out = new Map<string, ArmInfo>();
  for (const a of set.arms) if (a.arm === 'oracle-gate' && !out.has(a.variant)) out.set(a.variant, a);
  return out;
}

export type Getter = (c: CellRecord) => number | undefined;

export const finite = (x: number | null | undefined): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** A difference from itself (the reference row): blank, unlike a value that could not be measured (n/a). */
export const NOT_APPLICABLE: TableCell = { kind: 'empty', text: '' };

/** A metric's value; one measured on zero items has none (it must never be ranked). */
export const metricGetter = (key: string): Getter => (c) => {
  const m = c.metrics[key];
  return m && m.n > 0 ? finite(m.value) : undefined;
};

export function seedValues(set: ResultSet, armId: string, get: Getter): SeedValues {
  const out: SeedValues = {};
  for (const [seed, c] of completedBySeed(set, armId)) {
    const v = get(c);
    if (v !== undefined) out[seed] = v;
  }
  return out;
}

export function statCell(values: SeedValues): TableCell {
  const xs = Object.values(values);
  return xs.length ? { kind: 'stat', stat: describe(xs), seeds: values, best: false } : { kind: 'empty' };
}

/**
 * Mean of per-seed differences arm − reference over the seeds where both completed, with its 95% t interval
 * only when one can honestly be stated (stats.ts intervalWithheld), and only when its bounds differ as the
 * column prints them (`display`): else the cell says what holds ("n = 2", "n = 4, no spread").
 */
export function deltaCell(arm: SeedValues, ref: SeedValues, display: MetricDisplay): TableCell {
  const seeds = Object.keys(arm).map(Number).filter((s) => s in ref).sort((a, b) => a - b);
  if (!seeds.length) return { kind: 'empty' };
  const diffs: SeedValues = {};
  for (const s of seeds) diffs[s] = (arm[s] as number) - (ref[s] as number);
  const xs = Object.values(diffs);
  const diff = describe(xs);
  const interval = intervalWithheld(xs) ? undefined : pairedDifference(xs);
  const shown = (x: number): string => (x * display.scale).toFixed(display.digits);
  if (interval && shown(interval.lo) !== shown(interval.hi)) return { kind: 'delta', diff, seeds: diffs, interval };
  return { kind: 'delta', diff, seeds: diffs, withheld: intervalWithheld(xs) ?? `n = ${xs.length}, no spread` };
}

/** Bold the best mean of each ranked column among arm rows (ties all bold). */
export function markBest(rows: TableRow[], columns: TableColumn[]): void {
  for (const col of columns) {
    if (!col.ranked || col.higherIsBetter === undefined) continue;
    const stats = rows.filter((r) => !r.note).map((r) => r.cells[col.key]).filter((c): c is Extract<TableCell, { kind: 'stat' }> => c?.kind === 'stat');
    if (!stats.length) continue;
    // Compared as displayed: values that print the same are tied, and all bold.
    const shown = (c: (typeof stats)[number]): number => Number((c.stat.mean * col.display.scale).toFixed(col.display.digits));
    const means = stats.map(shown);
    const target = col.higherIsBetter ? Math.max(...means) : Math.min(...means);
    for (const c of stats) c.best = shown(c) === target;
  }
}

export function failures(set: ResultSet, armId: string): number {
  return set.cells.filter((c) => c.armId === armId && c.status !== 'completed').length;
}

export function seedCountText(rows: TableRow[]): string {
  const ns = rows.filter((r) => !r.note).flatMap((r) => Object.values(r.cells)).filter((c) => c.kind === 'stat').map((c) => c.stat.n);
  if (!ns.length) return 'n = 0 seeds';
  const lo = Math.min(...ns);
  const hi = Math.max(...ns);
  return lo === hi ? `n = ${hi} seed${hi === 1 ? '' : 's'}` : `n = ${lo}–${hi} seeds`;
}

/** " Not shown (page width): a, b." for a caption, or '' when every candidate column fits. */
export function leftOutText(labels: readonly string[], where: string): string {
  return labels.length ? ` Not shown here (page width): ${labels.join(', ')}; ${where}.` : '';
}

/**
 * The candidates a table has room for: the `room` with the lowest `priority` (0 first), kept in display order,
 * and the ones left out, also in display order.
 */
export function fitColumns<T>(candidates: readonly T[], priority: (c: T) => number, room: number): { kept: T[]; left: T[] } {
  const order = candidates.map((c, i) => ({ c, i })).sort((x, y) => priority(x.c) - priority(y.c) || x.i - y.i);
  const keep = new Set(order.slice(0, room).map((x) => x.i));
  return { kept: candidates.filter((_, i) => keep.has(i)), left: candidates.filter((_, i) => !keep.has(i)) };
}

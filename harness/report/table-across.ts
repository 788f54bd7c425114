/**
 * Tables across several suites (results folders), in the paper's shapes: Table 1, models down and methods
 * across with one metric (`model-by-method`), and the vision table, model × method down and metrics across
 * (`method-by-metric`). A suite's "model" is its name and the shape its recorded `model` gives (layers ×
 * width): suites carry no model name, and two suites of one shape still differ in data or budget.
 */
import { armLabel, metricDisplay, modelShape } from './display.js';
import { MAX_COLUMNS, type Footer, type TableCell, type TableColumn, type TableModel, type TableRow } from './model.js';
import { direction, failures, fitColumns, leftOutText, metricGetter, rankedMetricKeys, seedCountText, seedValues, statCell } from './cells.js';
import { InputError, provenance, type ArmInfo, type ResultSet } from './read.js';

export const ACROSS_TABLES = ['model-by-method', 'method-by-metric'] as const;
export type AcrossKind = (typeof ACROSS_TABLES)[number];

export interface AcrossOptions {
  /** Metric keys: model-by-method takes one (default: the first suite's headline metric), method-by-metric several. */
  metrics?: string[];
  /** Arm ids to show, in this order (default: every standard-stream arm, in the order the suites declare them). */
  arms?: string[];
}

/** Row label of a suite: its name and model shape, and its config hash when that alone tells two apart. */
export function modelLabels(sets: readonly ResultSet[]): string[] {
  const base = sets.map((s) => {
    const shape = modelShape(s.suiteConfig?.model);
    return shape ? `${s.suite} (${shape})` : s.suite;
  });
  return base.map((l, i) => (base.indexOf(l) !== base.lastIndexOf(l) ? `${l}, config ${(sets[i] as ResultSet).configHash}` : l));
}

/** Standard-stream arms of every suite, by id, in first-declared order; `--arms` picks and orders them. */
function methods(sets: readonly ResultSet[], pick: readonly string[] | undefined): ArmInfo[] {
  const all = new Map<string, ArmInfo>();
  for (const s of sets) for (const a of s.arms) if (a.variant === 'standard' && !all.has(a.id)) all.set(a.id, a);
  if (!pick?.length) return [...all.values()];
  const unknown = pick.filter((id) => !all.has(id));
  if (unknown.length) throw new InputError(`--arms: no standard-stream arm ${unknown.join(', ')} in ${sets.map((s) => s.suite).join(', ')} (arms: ${[...all.keys()].join(', ')})`);
  return pick.map((id) => all.get(id) as ArmInfo);
}

const methodLabel = (a: ArmInfo): string => (a.id === a.arm ? armLabel(a.arm) : a.id);

/** The provenance of several suites: each value once, joined. */
function footerOf(sets: readonly ResultSet[]): Footer {
  const ps = sets.map(provenance);
  const join = (f: (p: Footer) => string): string => [...new Set(ps.map(f))].join('; ');
  return { harnessVersion: join((p) => p.harnessVersion), gitSha: join((p) => p.gitSha), configHash: join((p) => p.configHash), backend: join((p) => p.backend) };
}

/** Bold the best mean among the cells of one row (Table 1: the best method per model). */
function markBestInRow(row: TableRow, columns: readonly TableColumn[], higherIsBetter: boolean | undefined, digits: number, scale: number): void {
  if (higherIsBetter === undefined) return;
  const stats = columns.map((c) => row.cells[c.key]).filter((c): c is Extract<TableCell, { kind: 'stat' }> => c?.kind === 'stat');
  const shown = (c: (typeof stats)[number]): number => Number((c.stat.mean * scale).toFixed(digits));
  if (!stats.length) return;
  const target = higherIsBetter ? Math.max(...stats.map(shown)) : Math.min(...stats.map(shown));
  for (const c of stats) c.best = shown(c) === target;
}

function modelByMethod(sets: readonly ResultSet[], opts: AcrossOptions): TableModel {
  if ((opts.metrics?.length ?? 0) > 1) throw new InputError('--table model-by-method shows one metric: give one --metric');
  const key = opts.metrics?.[0] ?? rankedMetricKeys(sets[0] as ResultSet)[0];
  if (!key) throw new InputError('no metric recorded: nothing to tabulate');
  const display = metricDisplay(key);
  const hib = sets.map((s) => direction(s, key)).find((h) => h !== undefined);
  const { kept, left } = fitColumns(methods(sets, opts.arms), (a) => (a.arm === 'baseline' && a.id === a.arm ? 0 : a.arm === 'v-pretraining' ? 1 : 2), MAX_COLUMNS - 1);
  const columns: TableColumn[] = kept.map((a) => ({ key: `a:${a.id}`, label: methodLabel(a), source: key, ranked: false, display }));
  const labels = modelLabels(sets);
  const rows: TableRow[] = sets.map((s, i) => {
    const cells: Record<string, TableCell> = {};
    for (const a of kept) cells[`a:${a.id}`] = s.arms.some((x) => x.id === a.id) ? statCell(seedValues(s, a.id, metricGetter(key))) : { kind: 'empty', text: 'not run' };
    const row: TableRow = { id: `${s.suite}@${s.configHash}`, label: labels[i] as string, failed: kept.reduce((n, a) => n + failures(s, a.id), 0), cells };
    markBestInRow(row, columns, hib, display.digits, display.scale);
    return row;
  });
  return {
    name: 'model-by-method',
    section: 'compact',
    suite: sets.map((s) => s.suite).join('+'),
    title: `${display.label}${hib === undefined ? '' : hib ? ' ↑' : ' ↓'} by model and method`,
    caption:
      `Mean ± sample sd over ${seedCountText(rows)} of each suite. Rows: one per suite (its name and model shape, layers × width, as recorded); ` +
      `columns: its arms on the standard stream; best mean per row in bold; not run: the suite has no such arm.` +
      leftOutText(left.map(methodLabel), 'choose the arms with --arms'),
    rowHeader: 'model',
    columns,
    rows,
    seeds: [...new Set(sets.flatMap((s) => s.seeds))].sort((a, b) => a - b),
    footer: footerOf(sets),
  };
}

function methodByMetric(sets: readonly ResultSet[], opts: AcrossOptions): TableModel {
  const first = sets[0] as ResultSet;
  const keys = opts.metrics?.length ? opts.metrics : rankedMetricKeys(first).filter((k) => sets.every((s) => rankedMetricKeys(s).includes(k)));
  const { kept, left } = fitColumns(keys, (k) => keys.indexOf(k), MAX_COLUMNS - 1);
  const columns: TableColumn[] = kept.map((key) => {
    const display = metricDisplay(key);
    const hib = sets.map((s) => direction(s, key)).find((h) => h !== undefined);
    return { key: `m:${key}`, label: display.label, source: key, ranked: true, display, ...(hib === undefined ? {} : { higherIsBetter: hib }) };
  });
  const labels = modelLabels(sets);
  const arms = methods(sets, opts.arms);
  const rows: TableRow[] = [];
  sets.forEach((s, i) => {
    const group: TableRow[] = arms.filter((a) => s.arms.some((x) => x.id === a.id)).map((a) => {
      const cells: Record<string, TableCell> = {};
      for (const key of kept) cells[`m:${key}`] = statCell(seedValues(s, a.id, metricGetter(key)));
      return { id: `${s.suite}@${s.configHash}/${a.id}`, label: methodLabel(a), group: labels[i] as string, failed: failures(s, a.id), cells };
    });
    // Best per column within each model: methods compete on one backbone, not across backbones.
    for (const col of columns) {
      const sub = group.map((r) => r.cells[col.key]).filter((c): c is Extract<TableCell, { kind: 'stat' }> => c?.kind === 'stat');
      const shown = (c: (typeof sub)[number]): number => Number((c.stat.mean * col.display.scale).toFixed(col.display.digits));
      if (!sub.length || col.higherIsBetter === undefined) continue;
      const target = col.higherIsBetter ? Math.max(...sub.map(shown)) : Math.min(...sub.map(shown));
      for (const c of sub) c.best = shown(c) === target;
    }
    rows.push(...group);
  });
  return {
    name: 'method-by-metric',
    section: 'compact',
    suite: sets.map((s) => s.suite).join('+'),
    title: 'Each model and method on every metric',
    caption:
      `Mean ± sample sd over ${seedCountText(rows)}. Row groups: one per suite (its name and model shape, layers × width, as recorded), ` +
      'its arms on the standard stream within; ↑/↓: higher/lower is better; best mean per column within each model in bold.' +
      leftOutText(left.map((k) => metricDisplay(k).label), 'choose the metrics with --metric'),
    rowHeader: 'method',
    columns,
    rows,
    seeds: [...new Set(sets.flatMap((s) => s.seeds))].sort((a, b) => a - b),
    footer: footerOf(sets),
  };
}

/** A table across suites: Table 1's shape (`model-by-method`) or the vision table's (`method-by-metric`). */
export function acrossTable(sets: readonly ResultSet[], kind: AcrossKind, opts: AcrossOptions = {}): TableModel {
  if (!sets.length) throw new InputError('no results given');
  return kind === 'model-by-method' ? modelByMethod(sets, opts) : methodByMetric(sets, opts);
}

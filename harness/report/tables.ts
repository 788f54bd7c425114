/**
 * The three tables built from stored cells: main (each arm against the baseline, paired by seed), ablation
 * (the paper's shape: arms down, stream variants across) and cost (throughput, step time, meta share,
 * memory). Columns come from what the cells recorded: metric keys and their `higherIsBetter`, timings,
 * diagnostics and memory; nothing here knows which task produced them.
 */
import { DIAGNOSTICS, VARIANT_LABELS, armLabel, metricDisplay, type MetricDisplay } from './display.js';
import type { Footer, SeedValues, TableCell, TableColumn, TableModel, TableRow } from './model.js';
import { completedBySeed, provenance, type ArmInfo, type CellRecord, type ResultSet } from './read.js';
import { describe, pairedDifference } from '../stats.js';
import { meanCurve, recoveredFraction, stepsToReach, type CurvePoint } from './derived.js';

/** Metric keys in a stable order: as the first completed cell (declared arm order) lists them, then the rest sorted. */
export function metricKeys(set: ResultSet): string[] {
  const done = set.arms.flatMap((a) => set.cells.filter((c) => c.armId === a.id && c.status === 'completed'));
  const first = done[0] ? Object.keys(done[0].metrics) : [];
  const rest = [...new Set(done.flatMap((c) => Object.keys(c.metrics)))].filter((k) => !first.includes(k)).sort();
  return [...first, ...rest];
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

type Getter = (c: CellRecord) => number | undefined;

const finite = (x: number | null | undefined): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
/** A difference from itself (the reference row): blank, unlike a value that could not be measured (n/a). */
const NOT_APPLICABLE: TableCell = { kind: 'empty', text: '' };

/** A metric's value; one measured on zero items has none (it must never be ranked). */
const metricGetter = (key: string): Getter => (c) => {
  const m = c.metrics[key];
  return m && m.n > 0 ? finite(m.value) : undefined;
};

function seedValues(set: ResultSet, armId: string, get: Getter): SeedValues {
  const out: SeedValues = {};
  for (const [seed, c] of completedBySeed(set, armId)) {
    const v = get(c);
    if (v !== undefined) out[seed] = v;
  }
  return out;
}

function statCell(values: SeedValues): TableCell {
  const xs = Object.values(values);
  return xs.length ? { kind: 'stat', stat: describe(xs), seeds: values, best: false } : { kind: 'empty' };
}

/** Mean of per-seed differences arm − reference over the seeds where both completed. */
function deltaCell(arm: SeedValues, ref: SeedValues): TableCell {
  const seeds = Object.keys(arm).map(Number).filter((s) => s in ref).sort((a, b) => a - b);
  if (!seeds.length) return { kind: 'empty' };
  const diffs: SeedValues = {};
  for (const s of seeds) diffs[s] = (arm[s] as number) - (ref[s] as number);
  const xs = Object.values(diffs);
  const interval = pairedDifference(xs);
  return { kind: 'delta', diff: describe(xs), seeds: diffs, ...(interval ? { interval } : {}) };
}

/** Bold the best mean of each ranked column among arm rows (ties all bold). */
function markBest(rows: TableRow[], columns: TableColumn[]): void {
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

function failures(set: ResultSet, armId: string): number {
  return set.cells.filter((c) => c.armId === armId && c.status !== 'completed').length;
}

function seedCountText(rows: TableRow[]): string {
  const ns = rows.filter((r) => !r.note).flatMap((r) => Object.values(r.cells)).filter((c) => c.kind === 'stat').map((c) => c.stat.n);
  if (!ns.length) return 'n = 0 seeds';
  const lo = Math.min(...ns);
  const hi = Math.max(...ns);
  return lo === hi ? `n = ${hi} seed${hi === 1 ? '' : 's'}` : `n = ${lo}–${hi} seeds`;
}

function footerOf(set: ResultSet): Footer {
  return provenance(set);
}

/** The arm whose row bounds what target design can do on each stream variant (`oracle-gate`), by variant. */
export function oracleOf(set: ResultSet): Map<string, ArmInfo> {
  const out = new Map<string, ArmInfo>();
  for (const a of set.arms) if (a.arm === 'oracle-gate' && !out.has(a.variant)) out.set(a.variant, a);
  return out;
}

/** Recovered fraction of the oracle's headroom for one arm and metric (blank for the reference and the oracle). */
function recoveredCell(set: ResultSet, a: ArmInfo, ref: ArmInfo | undefined, oracle: ArmInfo | undefined, key: string): TableCell {
  if (!ref || !oracle || ref.id === a.id || oracle.id === a.id) return NOT_APPLICABLE;
  const get = metricGetter(key);
  const r = recoveredFraction(seedValues(set, a.id, get), seedValues(set, ref.id, get), seedValues(set, oracle.id, get));
  if (!r) return { kind: 'empty', text: 'n too small' };
  // The oracle's headroom interval includes 0: the fraction has no bounded interval and is not stated.
  if ('unbounded' in r) return { kind: 'value', value: r.estimate, text: 'n/a' };
  return { kind: 'value', value: r.estimate, lo: r.lo, hi: r.hi };
}

function downstreamCurve(c: CellRecord): CurvePoint[] | undefined {
  const pts = (c.curves?.downstream ?? []).filter((p): p is { step: number; nll: number } => typeof p.nll === 'number' && Number.isFinite(p.nll));
  return pts.length ? pts.map((p) => ({ step: p.step, nll: p.nll })) : undefined;
}

/** An arm's downstream curves over its completed seeds. */
function downstreamCurves(set: ResultSet, armId: string): CurvePoint[][] {
  return [...completedBySeed(set, armId).values()].map(downstreamCurve).filter((x): x is CurvePoint[] => x !== undefined);
}

/**
 * Token efficiency: the baseline steps (interpolated on its mean curve over seeds) that reach the arm's final
 * downstream validation loss (mean over seeds), with their ratio to the arm's own steps.
 */
function efficiencyCell(set: ResultSet, a: ArmInfo, ref: ArmInfo | undefined): TableCell {
  if (!ref || ref.id === a.id) return NOT_APPLICABLE;
  const mine = downstreamCurves(set, a.id);
  const base = meanCurve(downstreamCurves(set, ref.id));
  if (!mine.length || !base.length) return { kind: 'empty' };
  const finals = mine.map((c) => c[c.length - 1] as CurvePoint);
  const target = finals.reduce((s, p) => s + p.nll, 0) / finals.length;
  const armSteps = finals.reduce((s, p) => s + p.step, 0) / finals.length;
  const steps = stepsToReach(base, target);
  if (steps === undefined) return { kind: 'value', value: Number.NaN, text: 'never within the run' };
  return { kind: 'value', value: steps, ...(armSteps > 0 ? { suffix: `(${(steps / armSteps).toFixed(2)}×)` } : {}) };
}

/** " Budget: …" for the caption: which rows train a fixed number of updates and which a wall-clock time. */
function budgetText(set: ResultSet): string {
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

/** Main table: every metric's mean ± sd per arm and its paired difference from the reference arm. */
export function mainTable(set: ResultSet): TableModel {
  const keys = metricKeys(set);
  const refs = referenceOf(set);
  const oracles = oracleOf(set);
  const columns: TableColumn[] = [];
  for (const key of keys) {
    const display = metricDisplay(key);
    const hib = direction(set, key);
    columns.push({ key: `m:${key}`, label: display.label, source: key, ranked: true, display, ...(hib === undefined ? {} : { higherIsBetter: hib }) });
    columns.push({ key: `d:${key}`, label: `Δ ${display.label}`, source: key, ranked: false, display });
  }
  if (oracles.size) {
    for (const key of keys) {
      columns.push({ key: `f:${key}`, label: `recovered ${metricDisplay(key).label.replace(/ \(.*\)$/, '')}`, source: key, ranked: false, display: { label: 'recovered', scale: 1, digits: 2 } });
    }
  }
  const efficiency = set.arms.some((a) => downstreamCurves(set, a.id).length) && set.arms.some((a) => refs.get(a.id)?.id !== a.id);
  if (efficiency) {
    columns.push({ key: 'e:downstream', label: 'baseline steps to same val. NLL', source: 'curves.downstream', ranked: false, display: { label: 'steps', scale: 1, digits: 0 } });
  }
  const diags = DIAGNOSTICS.filter((d) => set.cells.some((c) => c.status === 'completed' && finite(c.diagnostics[d.key]) !== undefined));
  const recorded = (key: string): boolean => set.cells.some((c) => c.status === 'completed' && finite(c.diagnostics[key]) !== undefined);
  for (const d of diags) {
    const label = d.older && !recorded(d.older.unless) ? d.older.label : d.label;
    columns.push({ key: `x:${d.key}`, label, source: d.key, ranked: false, display: { ...d, label } });
  }
  // Learner updates per arm: equal under an update budget, different under a wall-clock one.
  const stepsOf: Getter = (c) => finite(c.steps?.done);
  const withSteps = set.cells.some((c) => c.status === 'completed' && stepsOf(c) !== undefined);
  if (withSteps) columns.push({ key: 'x:steps', label: 'learner updates', source: 'steps', ranked: false, display: { label: 'learner updates', scale: 1, digits: 0 } });

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
      cells[`d:${key}`] = ref && ref.id !== a.id ? deltaCell(mine, seedValues(set, ref.id, metricGetter(key))) : NOT_APPLICABLE;
    }
    if (oracles.size) for (const key of keys) cells[`f:${key}`] = recoveredCell(set, a, ref, oracles.get(a.variant), key);
    if (efficiency) cells['e:downstream'] = efficiencyCell(set, a, ref);
    for (const d of diags) cells[`x:${d.key}`] = statCell(seedValues(set, a.id, (c) => finite(c.diagnostics[d.key])));
    if (withSteps) cells['x:steps'] = statCell(seedValues(set, a.id, stepsOf));
    rows.push({ id: a.id, label: a.id, failed: failures(set, a.id), cells });
  }
  markBest(rows, columns);
  const refNames = [...new Set([...refs.values()].map((r) => r.id))].join(', ');
  const recoveredText = oracles.size
    ? ` Recovered: (arm − baseline)/(oracle − baseline) with ${[...oracles.values()].map((o) => o.id).join(', ')} as the oracle of its stream, paired by seed, with Fieller's 95% interval; ` +
      'n/a when the oracle\'s own headroom interval includes 0 (the fraction is then unbounded).'
    : '';
  const efficiencyText = efficiency
    ? ' Baseline steps to same val. NLL: the step at which the baseline\'s downstream validation loss (mean curve over seeds, interpolated between log points) first reaches the arm\'s final one (mean over seeds), and its ratio to the arm\'s own steps; "never within the run" when it does not.'
    : '';
  return {
    name: 'main',
    suite: set.suite,
    title: `${set.suite}: each arm against the baseline`,
    caption:
      `Mean ± sample sd over ${seedCountText(rows)}. Δ: difference from the baseline trained on the same stream (${refNames || 'none'}), ` +
      'the mean of per-seed differences (cells of one seed share base checkpoint, stream order and feedback sample) with its 95% t interval on n − 1 degrees of freedom; ' +
      '"n too small" when fewer than 2 seeds pair. ↑/↓: higher/lower is better; best mean per column in bold. Diagnostics are not ranked.' +
      recoveredText +
      efficiencyText +
      budgetText(set),
    rowHeader: 'arm',
    columns,
    rows,
    seeds: set.seeds,
    footer: footerOf(set),
  };
}

/** Row key of an arm in the ablation table: its id without the "+decontam" a decontaminated variant adds. */
function ablationKey(a: ArmInfo): string {
  return a.variant === 'decontaminated' && a.id.endsWith('+decontam') ? a.id.slice(0, -'+decontam'.length) : a.id;
}

/** Ablation table: arms down (declared order), stream variants across, every metric's mean ± sd. */
export function ablationTable(set: ResultSet): TableModel {
  const keys = metricKeys(set);
  const variants = [...new Set(set.arms.map((a) => a.variant))].sort((x, y) => (x === 'standard' ? -1 : y === 'standard' ? 1 : x < y ? -1 : 1));
  const columns: TableColumn[] = [];
  for (const v of variants) {
    for (const key of keys) {
      const display = metricDisplay(key);
      const hib = direction(set, key);
      columns.push({
        key: `${v}:${key}`, label: display.label, source: key, group: VARIANT_LABELS[v] ?? v, ranked: true, display,
        ...(hib === undefined ? {} : { higherIsBetter: hib }),
      });
    }
  }
  const rowKeys = [...new Set(set.arms.map(ablationKey))];
  const rows: TableRow[] = rowKeys.map((rk) => {
    const members = set.arms.filter((a) => ablationKey(a) === rk);
    const arm = (members[0] as ArmInfo).arm;
    const cells: Record<string, TableCell> = {};
    for (const v of variants) {
      const a = members.find((m) => m.variant === v);
      for (const key of keys) cells[`${v}:${key}`] = a ? statCell(seedValues(set, a.id, metricGetter(key))) : { kind: 'empty' };
    }
    return { id: rk, label: rk === arm ? armLabel(arm) : rk, failed: members.reduce((s, a) => s + failures(set, a.id), 0), cells };
  });
  markBest(rows, columns);
  return {
    name: 'ablation',
    suite: set.suite,
    title: `${set.suite}: ablation`,
    caption:
      `Mean ± sample sd over ${seedCountText(rows)}, by arm (rows, declared order) and training stream (column groups). ` +
      '↑/↓: higher/lower is better; best mean per column in bold; – : not run.',
    rowHeader: 'arm',
    columns,
    rows,
    seeds: set.seeds,
    footer: footerOf(set),
  };
}

interface CostSource {
  id: string;
  label: string;
  get: Getter;
  higherIsBetter: boolean;
  display: MetricDisplay;
  /** Also show the change of the mean relative to the reference arm. */
  relative: boolean;
  ranked: boolean;
}

const MIB = 1024 * 1024;

const COST_SOURCES: CostSource[] = [
  { id: 'tokensPerSecond', label: 'tokens/s', get: (c) => finite(c.timings?.tokensPerSecond), higherIsBetter: true, display: { label: 'tokens/s', scale: 1, digits: 0 }, relative: true, ranked: true },
  { id: 'msPerStep', label: 'ms per learner step', get: (c) => finite(c.timings?.msPerStep), higherIsBetter: false, display: { label: 'ms/step', scale: 1, digits: 1 }, relative: false, ranked: true },
  { id: 'meta_share_of_time', label: 'meta-step share of time (%)', get: (c) => finite(c.diagnostics.meta_share_of_time), higherIsBetter: false, display: { label: 'meta share', scale: 100, digits: 2 }, relative: false, ranked: false },
  { id: 'tfPeakBytes', label: 'peak tensor memory (MiB)', get: (c) => finite(c.memory?.tfPeakBytes), higherIsBetter: false, display: { label: 'tensor MiB', scale: 1 / MIB, digits: 1 }, relative: true, ranked: true },
  { id: 'rssPeakBytes', label: 'peak RSS (MiB)', get: (c) => finite(c.memory?.rssPeakBytes), higherIsBetter: false, display: { label: 'RSS MiB', scale: 1 / MIB, digits: 1 }, relative: true, ranked: true },
];

/** Cost table in the shape of the paper's overhead table: throughput and its change, step time, meta share, memory. */
export function costTable(set: ResultSet): TableModel {
  const present = COST_SOURCES.filter((s) => set.cells.some((c) => c.status === 'completed' && s.get(c) !== undefined));
  const refs = referenceOf(set);
  const columns: TableColumn[] = [];
  for (const s of present) {
    columns.push({ key: `c:${s.id}`, label: s.label, source: s.id, higherIsBetter: s.higherIsBetter, ranked: s.ranked, display: s.display });
    if (s.relative) columns.push({ key: `r:${s.id}`, label: `Δ ${s.label.replace(/ \(.*\)$/, '')} vs baseline`, source: s.id, ranked: false, display: { ...s.display, scale: 100, digits: 1 } });
  }
  const rows: TableRow[] = set.arms.map((a) => {
    const ref = refs.get(a.id);
    const cells: Record<string, TableCell> = {};
    for (const s of present) {
      const mine = statCell(seedValues(set, a.id, s.get));
      cells[`c:${s.id}`] = mine;
      if (!s.relative) continue;
      const theirs = ref && ref.id !== a.id ? statCell(seedValues(set, ref.id, s.get)) : undefined;
      cells[`r:${s.id}`] = mine.kind === 'stat' && theirs?.kind === 'stat' && theirs.stat.mean !== 0 ? { kind: 'ratio', change: mine.stat.mean / theirs.stat.mean - 1 } : ref?.id === a.id ? NOT_APPLICABLE : { kind: 'empty' };
    }
    return { id: a.id, label: a.id, failed: failures(set, a.id), cells };
  });
  markBest(rows, columns);
  return {
    name: 'cost',
    suite: set.suite,
    title: `${set.suite}: cost`,
    caption:
      `Mean ± sample sd over ${seedCountText(rows)}, timed on the backend below. Δ: change of the mean relative to the baseline on the same stream. ` +
      'Meta share: the designer\'s meta steps as a share of training wall time. Memory columns appear when cells record peaks. Best mean per ranked column in bold.',
    rowHeader: 'arm',
    columns,
    rows,
    seeds: set.seeds,
    footer: footerOf(set),
  };
}

export function allTables(set: ResultSet): TableModel[] {
  return [mainTable(set), ablationTable(set), costTable(set)];
}

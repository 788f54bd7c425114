/**
 * The ablation table in the paper's shape: arms down (declared order), one metric (the headline one), the
 * training streams across; with an oracle arm on a stream, the fraction of its headroom each arm recovers.
 */
import { armLabel, metricDisplay, VARIANT_LABELS } from './display.js';
import type { TableCell, TableColumn, TableModel, TableRow } from './model.js';
import { direction, failures, markBest, metricGetter, NOT_APPLICABLE, oracleOf, rankedMetricKeys, referenceOf, seedCountText, seedValues, statCell } from './cells.js';
import { recoveredPairs } from './derived.js';
import { provenance, type ArmInfo, type ResultSet } from './read.js';
import { describe, fiellerRatio, hasSpread, MIN_INTERVAL_N } from '../stats.js';

/** Row key of an arm in the ablation table: its id without the "+decontam" a decontaminated variant adds. */
function ablationKey(a: ArmInfo): string {
  return a.variant === 'decontaminated' && a.id.endsWith('+decontam') ? a.id.slice(0, -'+decontam'.length) : a.id;
}

/**
 * Recovered fraction of the oracle's headroom, (arm − baseline)/(oracle − baseline) paired by seed, with Fieller's
 * interval when one can honestly be stated; blank for the reference and the oracle.
 */
function recoveredCell(set: ResultSet, a: ArmInfo, ref: ArmInfo | undefined, oracle: ArmInfo, key: string): TableCell {
  if (!ref || ref.id === a.id || oracle.id === a.id) return NOT_APPLICABLE;
  const get = metricGetter(key);
  const { a: gains, o: heads } = recoveredPairs(seedValues(set, a.id, get), seedValues(set, ref.id, get), seedValues(set, oracle.id, get));
  if (!gains.length) return { kind: 'empty' };
  const estimate = describe(gains).mean / describe(heads).mean;
  // Both sides without spread make Fieller's interval a point: no more honest than two equal differences.
  const n = gains.length;
  const withheld = n < MIN_INTERVAL_N ? `n = ${n}` : hasSpread(gains) || hasSpread(heads) ? undefined : `n = ${n}, no spread`;
  if (withheld) return Number.isFinite(estimate) ? { kind: 'value', value: estimate, suffix: `(${withheld})` } : { kind: 'value', value: Number.NaN, text: `n/a (${withheld})` };
  const r = fiellerRatio(gains, heads);
  // The oracle's headroom interval includes 0: the fraction has no bounded interval and is not stated.
  if (!r || 'unbounded' in r) return { kind: 'value', value: estimate, text: 'n/a' };
  return { kind: 'value', value: r.estimate, lo: r.lo, hi: r.hi };
}

/** Ablation table: arms down, stream variants across, the headline metric's mean ± sd (and recovered, with an oracle). */
export function ablationTable(set: ResultSet): TableModel {
  const key = rankedMetricKeys(set)[0];
  const variants = [...new Set(set.arms.map((a) => a.variant))].sort((x, y) => (x === 'standard' ? -1 : y === 'standard' ? 1 : x < y ? -1 : 1));
  const refs = referenceOf(set);
  const oracles = oracleOf(set);
  const display = key ? metricDisplay(key) : { label: 'metric', scale: 1, digits: 3 };
  const hib = key ? direction(set, key) : undefined;
  const columns: TableColumn[] = [];
  for (const v of variants) {
    const group = VARIANT_LABELS[v] ?? v;
    columns.push({ key: `${v}:m`, label: display.label, source: key ?? '', group, ranked: true, display, ...(hib === undefined ? {} : { higherIsBetter: hib }) });
    if (oracles.has(v)) columns.push({ key: `${v}:f`, label: 'recovered', source: key ?? '', group, ranked: false, display: { label: 'recovered', scale: 1, digits: 2 } });
  }
  const rowKeys = [...new Set(set.arms.map(ablationKey))];
  const rows: TableRow[] = rowKeys.map((rk) => {
    const members = set.arms.filter((a) => ablationKey(a) === rk);
    const arm = (members[0] as ArmInfo).arm;
    const cells: Record<string, TableCell> = {};
    for (const v of variants) {
      const a = members.find((m) => m.variant === v);
      cells[`${v}:m`] = a && key ? statCell(seedValues(set, a.id, metricGetter(key))) : { kind: 'empty' };
      const oracle = oracles.get(v);
      if (oracle) cells[`${v}:f`] = a && key ? recoveredCell(set, a, refs.get(a.id), oracle, key) : { kind: 'empty' };
    }
    return { id: rk, label: rk === arm ? armLabel(arm) : rk, failed: members.reduce((s, a) => s + failures(set, a.id), 0), cells };
  });
  markBest(rows, columns);
  const recovered = oracles.size
    ? ` Recovered: (arm − baseline)/(oracle − baseline) with ${[...oracles.values()].map((o) => o.id).join(', ')} as the oracle of its stream, paired by seed, with Fieller's 95% interval ` +
      `(stated only with at least ${MIN_INTERVAL_N} such seeds whose differences vary; otherwise what holds); n/a when the oracle's own headroom interval includes 0 (the fraction is then unbounded).`
    : '';
  return {
    name: 'ablation',
    section: 'compact',
    suite: set.suite,
    title: `${set.suite}: ablation`,
    caption:
      `${display.label}: mean ± sample sd over ${seedCountText(rows)}, by arm (rows, declared order) and training stream (column groups). ` +
      `${hib === undefined ? '' : `${hib ? 'Higher' : 'Lower'} is better; `}best mean per column in bold; n/a: not run on that stream.${recovered}`,
    rowHeader: 'arm',
    columns,
    rows,
    seeds: set.seeds,
    footer: provenance(set),
  };
}

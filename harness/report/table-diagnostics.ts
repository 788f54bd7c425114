/**
 * The diagnostics table, apart from the compact tables: what the designer did (mean V, α on wrong results and
 * elsewhere, the probe's r and slope, designer updates, mask statistics) and token efficiency (how many baseline
 * steps reach an arm's final downstream loss). Unranked; arms with nothing to show are left out.
 */
import { DIAGNOSTICS } from './display.js';
import { MAX_COLUMNS, type TableCell, type TableColumn, type TableModel, type TableRow } from './model.js';
import { failures, finite, fitColumns, leftOutText, NOT_APPLICABLE, referenceOf, seedCountText, seedValues, statCell } from './cells.js';
import { meanCurve, stepsToReach, type CurvePoint } from './derived.js';
import { completedBySeed, provenance, type ArmInfo, type CellRecord, type ResultSet } from './read.js';

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
  if (steps === undefined) return { kind: 'value', value: Number.NaN, text: 'never' };
  return { kind: 'value', value: steps, ...(armSteps > 0 ? { suffix: `(${(steps / armSteps).toFixed(2)}×)` } : {}) };
}

const EFFICIENCY_LABEL = 'baseline steps to same val. NLL';

/** What the diagnostics mean, said in the caption when one of their columns is shown. */
const EXPLAINED: [string[], string][] = [
  [['value_mean'], "Mean V: the designer's value g_downᵀg_pre, averaged over its meta steps."],
  [['gate_wrong', 'gate_other', 'gate_mean'], "α: the gate's mean weight on the designer's soft target, over answer tokens the generator marked wrong and over the others."],
  [['probe_r', 'probe_slope', 'probe_r_first_order'], 'Probe r and slope: Pearson r and slope of the realised against the predicted (η·V) downstream decrease over held-out probe batches, at the last probe point.'],
  [['gate_wrong_meta', 'gate_other_meta'], 'Meta batches: α on the batches whose targets were built right after the designer updated on their own D.'],
  [['probe_alpha_r', 'probe_alpha_slope'], "α-part probe: the same for the difference between the designer's step and a one-hot step (the part of V the designer controls)."],
  [['keep_ratio', 'mask_entropy'], "Keep ratio and mask entropy: the designer's masks' mean value μ and mean binary entropy."],
];

interface Candidate {
  column: TableColumn;
  cell: (a: ArmInfo) => TableCell;
}

/** A cell with something to read (a number, or a stated reason such as "never"). */
const shows = (c: TableCell | undefined): boolean => c !== undefined && (c.kind === 'stat' || c.kind === 'value');

export function diagnosticsTable(set: ResultSet): TableModel {
  const refs = referenceOf(set);
  const recorded = (key: string): boolean => set.cells.some((c) => c.status === 'completed' && finite(c.diagnostics[key]) !== undefined);
  const candidates: Candidate[] = [];
  for (const d of DIAGNOSTICS) {
    if (recorded(d.key)) {
      const label = d.older && !recorded(d.older.unless) ? d.older.label : d.label;
      candidates.push({
        column: { key: `x:${d.key}`, label, source: d.key, ranked: false, display: { ...d, label } },
        cell: (a) => statCell(seedValues(set, a.id, (c) => finite(c.diagnostics[d.key]))),
      });
    }
    // Token efficiency follows the designer's own numbers (the order: V, α, probe, updates, efficiency).
    if (d.key === 'designer_updates' && set.arms.some((a) => downstreamCurves(set, a.id).length) && set.arms.some((a) => refs.get(a.id)?.id !== a.id)) {
      candidates.push({
        column: { key: 'e:downstream', label: EFFICIENCY_LABEL, source: 'curves.downstream', ranked: false, display: { label: 'steps', scale: 1, digits: 0 } },
        cell: (a) => efficiencyCell(set, a, refs.get(a.id)),
      });
    }
  }
  const { kept, left } = fitColumns(candidates, (c) => candidates.indexOf(c), MAX_COLUMNS - 1);
  const columns = kept.map((c) => c.column);
  const all: TableRow[] = set.arms.map((a) => {
    const cells: Record<string, TableCell> = {};
    for (const c of kept) cells[c.column.key] = c.cell(a);
    return { id: a.id, label: a.id, failed: failures(set, a.id), cells };
  });
  const rows = all.filter((r) => Object.values(r.cells).some(shows));
  const quiet = all.filter((r) => !rows.includes(r)).map((r) => r.id);
  const efficiency = kept.some((c) => c.column.key === 'e:downstream')
    ? ` ${EFFICIENCY_LABEL[0]?.toUpperCase()}${EFFICIENCY_LABEL.slice(1)}: the step at which the baseline's downstream validation loss (mean curve over seeds, interpolated between log points) first reaches the arm's final one (mean over seeds), and its ratio to the arm's own steps; "never": not within the run.`
    : '';
  return {
    name: 'diagnostics',
    section: 'diagnostics',
    suite: set.suite,
    title: `${set.suite}: diagnostics`,
    caption:
      `Mean ± sample sd over ${seedCountText(rows)}; not ranked.` +
      EXPLAINED.filter(([keys]) => keys.some((k) => kept.some((c) => c.column.key === `x:${k}`))).map(([, text]) => ` ${text}`).join('') +
      efficiency +
      (quiet.length ? ` Arms with nothing to show here are left out (${quiet.join(', ')}).` : '') +
      leftOutText(left.map((c) => c.column.label), 'every cell.json records them under diagnostics'),
    rowHeader: 'arm',
    columns,
    rows,
    seeds: set.seeds,
    footer: provenance(set),
  };
}

/**
 * The cost table in the shape of the paper's overhead table: tokens/s and its multiple of the baseline's, the
 * meta step's share of training time, memory and its multiple, and the learner updates each arm made (equal
 * under an update budget, different under a wall-clock one). Columns only for what the cells recorded.
 */
import type { MetricDisplay } from './display.js';
import { MAX_COLUMNS, type TableCell, type TableColumn, type TableModel, type TableRow } from './model.js';
import { failures, finite, fitColumns, type Getter, leftOutText, markBest, NOT_APPLICABLE, referenceOf, seedCountText, seedValues, statCell } from './cells.js';
import { provenance, type ResultSet } from './read.js';

interface CostSource {
  id: string;
  label: string;
  get: Getter;
  higherIsBetter?: boolean;
  display: MetricDisplay;
  /** Also show the mean as a multiple of the reference arm's, in a column with this label right after it. */
  ratioLabel?: string;
  ranked: boolean;
  /** Which columns stay when they do not all fit (0 first); the multiple takes `priority + 0.5`. */
  priority: number;
}

const MIB = 1024 * 1024;

/** Display order. ms per learner step is tokens per step ÷ tokens/s, so it yields first where tokens/s is shown. */
const COST_SOURCES: CostSource[] = [
  { id: 'tokensPerSecond', label: 'tokens/s', get: (c) => finite(c.timings?.tokensPerSecond), higherIsBetter: true, display: { label: 'tokens/s', scale: 1, digits: 0 }, ratioLabel: '× baseline', ranked: true, priority: 0 },
  { id: 'msPerStep', label: 'ms per learner step', get: (c) => finite(c.timings?.msPerStep), higherIsBetter: false, display: { label: 'ms/step', scale: 1, digits: 1 }, ranked: true, priority: 6 },
  { id: 'meta_share_of_time', label: 'meta-step share of time (%)', get: (c) => finite(c.diagnostics.meta_share_of_time), higherIsBetter: false, display: { label: 'meta share', scale: 100, digits: 2 }, ranked: false, priority: 1 },
  { id: 'tfPeakBytes', label: 'peak tensor memory (MiB)', get: (c) => finite(c.memory?.tfPeakBytes), higherIsBetter: false, display: { label: 'tensor MiB', scale: 1 / MIB, digits: 1 }, ratioLabel: '× baseline', ranked: true, priority: 2 },
  { id: 'rssPeakBytes', label: 'peak RSS (MiB)', get: (c) => finite(c.memory?.rssPeakBytes), higherIsBetter: false, display: { label: 'RSS MiB', scale: 1 / MIB, digits: 1 }, ratioLabel: '× baseline', ranked: true, priority: 5 },
  { id: 'steps', label: 'learner updates', get: (c) => finite(c.steps?.done), display: { label: 'learner updates', scale: 1, digits: 0 }, ranked: false, priority: 4 },
];

const labelOf = (id: string): string => COST_SOURCES.find((s) => s.id === id)?.label ?? id;

interface Candidate {
  column: TableColumn;
  priority: number;
  cell: (armId: string, refId: string | undefined) => TableCell;
}

/** Cost table: throughput and its multiple of the baseline's, meta share, memory, learner updates. */
export function costTable(set: ResultSet): TableModel {
  const present = COST_SOURCES.filter((s) => set.cells.some((c) => c.status === 'completed' && s.get(c) !== undefined));
  const refs = referenceOf(set);
  const candidates: Candidate[] = [];
  for (const s of present) {
    const hib = s.higherIsBetter === undefined ? {} : { higherIsBetter: s.higherIsBetter };
    candidates.push({ column: { key: `c:${s.id}`, label: s.label, source: s.id, ranked: s.ranked, display: s.display, ...hib }, priority: s.priority, cell: (id) => statCell(seedValues(set, id, s.get)) });
    if (!s.ratioLabel) continue;
    candidates.push({
      column: { key: `r:${s.id}`, label: s.ratioLabel, source: s.id, ranked: false, display: { ...s.display, scale: 1, digits: 2 } },
      priority: s.priority + 0.5,
      cell: (id, refId) => {
        if (refId === id) return NOT_APPLICABLE;
        const mine = statCell(seedValues(set, id, s.get));
        const theirs = refId === undefined ? undefined : statCell(seedValues(set, refId, s.get));
        return mine.kind === 'stat' && theirs?.kind === 'stat' && theirs.stat.mean !== 0 ? { kind: 'ratio', ratio: mine.stat.mean / theirs.stat.mean } : { kind: 'empty' };
      },
    });
  }
  const { kept, left } = fitColumns(candidates, (c) => c.priority, MAX_COLUMNS - 1);
  const columns = kept.map((c) => c.column);
  const rows: TableRow[] = set.arms.map((a) => {
    const cells: Record<string, TableCell> = {};
    for (const c of kept) cells[c.column.key] = c.cell(a.id, refs.get(a.id)?.id);
    return { id: a.id, label: a.id, failed: failures(set, a.id), cells };
  });
  markBest(rows, columns);
  const msNote = left.some((c) => c.column.key === 'c:msPerStep') ? ' (ms per learner step is tokens per step ÷ tokens/s)' : '';
  return {
    name: 'cost',
    section: 'compact',
    suite: set.suite,
    title: `${set.suite}: cost`,
    caption:
      `Mean ± sample sd over ${seedCountText(rows)}, timed on the backend below.` +
      (columns.some((c) => c.key.startsWith('r:')) ? " × baseline: the column before it as a multiple of the baseline's mean on the same stream." : '') +
      (columns.some((c) => c.key === 'c:meta_share_of_time') ? " Meta share: the designer's meta steps as a share of training wall time." : '') +
      ' Memory columns appear when cells record peaks. Best mean per ranked column in bold.' +
      leftOutText(left.map((c) => (c.column.key.startsWith('r:') ? `${labelOf(c.column.source)} × baseline` : c.column.label)), `every cell records them${msNote}`),
    rowHeader: 'arm',
    columns,
    rows,
    seeds: set.seeds,
    footer: provenance(set),
  };
}

/** Expansion of a suite into cells, the unit of work: `suite/arm-id/seed-N`, in declared order. */
import { taskOf, type Suite } from '../tasks/index.js';
import { armId, type CellReads, type CellSpec } from './cell.js';

export type { CellPlan, CellReads, CellSpec } from './cell.js';

/** What an arm row reads: its `from`, else its arm's default row, else nothing. */
export function readsOf(s: Suite, arm: Suite['arms'][number]): CellReads | undefined {
  const from = arm.from ?? taskOf(s).arms.get(arm.arm).reads;
  if (from === undefined) return undefined;
  return typeof from === 'string' ? { armId: from } : { armId: from.arm, results: from.results };
}

export function expandCells(s: Suite): CellSpec<Suite['arms'][number]>[] {
  const cells: CellSpec<Suite['arms'][number]>[] = [];
  for (const arm of s.arms) {
    const reads = readsOf(s, arm);
    for (const seed of s.seeds) {
      const id = armId(arm);
      cells.push({ id: `${s.name}/${id}/seed-${seed}`, suite: s.name, armId: id, arm, seed, ...(reads ? { reads } : {}) });
    }
  }
  return cells;
}

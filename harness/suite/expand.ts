/** Expansion of a suite into cells, the unit of work: `suite/arm-id/seed-N`, in declared order. */
import type { Suite } from './schema.js';
import { armId } from './define.js';

export interface CellSpec {
  id: string;
  suite: string;
  armId: string;
  /** The suite's arm row (language rows may carry `decontaminate`). */
  arm: Suite['arms'][number];
  seed: number;
}

export function expandCells(s: Suite): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const arm of s.arms) {
    for (const seed of s.seeds) {
      const id = armId(arm);
      cells.push({ id: `${s.name}/${id}/seed-${seed}`, suite: s.name, armId: id, arm, seed });
    }
  }
  return cells;
}

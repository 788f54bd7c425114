/** Expansion of a suite into cells, the unit of work: `suite/arm-id/seed-N`, in declared order. */
import type { Budget, Suite } from './schema.js';
import { armId } from './define.js';
import { taskOf } from '../tasks/index.js';

/** The cell record a cell reads before it runs: a row of the same run, or of a recorded results folder. */
export interface CellReads {
  /** Row id of the cell read (same seed). */
  armId: string;
  /** A recorded results folder; absent: this run's own folder (the read cell runs first). */
  results?: string;
}

export interface CellSpec {
  id: string;
  suite: string;
  armId: string;
  /** The suite's arm row (language rows may carry `decontaminate`). */
  arm: Suite['arms'][number];
  seed: number;
  /** The cell it reads, for arms that read another cell's record. */
  reads?: CellReads;
  /** Steps planned by the runner from the row's budget (absent: `train.steps`). */
  plan?: CellPlan;
}

/** A cell's budget turned into learner steps (see runner/budget.ts). */
export interface CellPlan {
  budget: Budget;
  steps: number;
  /** Planned training time from the calibration (wall-clock budgets). */
  plannedMs?: number;
  /** Hash of the calibration the steps came from. */
  calibration?: string;
}

/** What an arm row reads: its `from`, else its arm's default row, else nothing. */
export function readsOf(s: Suite, arm: Suite['arms'][number]): CellReads | undefined {
  const from = arm.from ?? taskOf(s).arms.get(arm.arm).reads;
  if (from === undefined) return undefined;
  return typeof from === 'string' ? { armId: from } : { armId: from.arm, results: from.results };
}

export function expandCells(s: Suite): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const arm of s.arms) {
    const reads = readsOf(s, arm);
    for (const seed of s.seeds) {
      const id = armId(arm);
      cells.push({ id: `${s.name}/${id}/seed-${seed}`, suite: s.name, armId: id, arm, seed, ...(reads ? { reads } : {}) });
    }
  }
  return cells;
}

/** The unit of work, a cell (suite, arm row, seed), and the plan its budget becomes. */
import type { ArmRow, Budget } from './schema.js';

/** The cell record a cell reads before it runs: a row of the same run, or of a recorded results folder. */
export interface CellReads {
  /** Row id of the cell read (same seed). */
  armId: string;
  /** A recorded results folder; absent: this run's own folder (the read cell runs first). */
  results?: string;
}

/** A cell: `suite/arm-id/seed-N`. `A` is the task's arm row type (language rows may carry `decontaminate`). */
export interface CellSpec<A extends ArmRow = ArmRow> {
  id: string;
  suite: string;
  armId: string;
  /** The suite's arm row. */
  arm: A;
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

/** Row id of an arm entry: its `id`, else the arm name (+ "+decontam" on the decontaminated stream). */
export function armId(a: { arm: string; id?: string | undefined; decontaminate?: boolean }): string {
  return a.id ?? (a.decontaminate ? `${a.arm}+decontam` : a.arm);
}

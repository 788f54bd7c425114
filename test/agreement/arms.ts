/** What ./run.ts computes for the designer and gate arms, shared with ../webgpu.test.ts (this module runs nothing). */

/** The designer and gate arms the science suites run, in an order where schedule-matched follows the cell it reads. */
export const DESIGNER_ARMS = ['v-pretraining', 'random-feedback', 'shuffled-feedback', 'oracle-gate', 'schedule-matched'] as const;

/** What one designer or gate arm gives over a few steps: its loss curve, diagnostics (timings left out) and curves. */
export interface ArmRun {
  losses: number[];
  diagnostics: Record<string, number>;
  curves: Record<string, unknown[]>;
  /** Tensors left behind once the rule and model are disposed (0 when nothing leaks). */
  leaked: number;
}

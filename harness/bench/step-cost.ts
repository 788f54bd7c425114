/**
 * An arm's measured cost per learner step at its suite's cadence: what tasks measure (`measureStepCost`) and what a
 * calibration stores (harness/runner/calibration.ts) to turn wall-clock budgets into step counts.
 */
import { z } from 'zod';

export const ArmCostSchema = z.strictObject({
  /** Median milliseconds per learner step at the suite's cadence. */
  msPerStep: z.number().positive(),
  /** Per-step cost of each measured cycle (ms), for the spread. */
  samples: z.array(z.number()),
  /** Smallest and largest per-step cost measured. */
  min: z.number(),
  max: z.number(),
  /** Learner steps per measured cycle (the meta-step cadence r). */
  cycleSteps: z.number().int().positive(),
});

export type ArmCost = z.output<typeof ArmCostSchema>;

/** Median, min and max of per-step costs. */
export function summariseCosts(perStep: readonly number[], cycleSteps: number): ArmCost {
  const s = [...perStep].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
  return { msPerStep: median, samples: [...perStep], min: s[0] as number, max: s[s.length - 1] as number, cycleSteps };
}

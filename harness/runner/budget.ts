/**
 * Budgets → step counts. An arm row trains `train.steps` updates, a fixed wall-clock time, or the time another
 * arm needs for N updates (the paper's v2). Wall-clock budgets are converted through a calibration (measured
 * milliseconds per learner step of each arm at the suite's cadence), so the same calibration always plans the
 * same steps.
 */
import { UserError } from '../errors.js';
import { armId } from '../suite/define.js';
import type { Budget } from '../suite/schema.js';
import type { Suite } from '../tasks/index.js';
import type { Calibration } from './calibration.js';

/** What a row of the suite trains: its budget, steps, and the wall-clock it was planned to take. */
export interface RowPlan {
  budget: Budget;
  steps: number;
  /** Planned training time (ms) from the calibration; absent for update budgets. */
  plannedMs?: number;
}

export function budgetOf(s: Suite, row: Suite['arms'][number]): Budget {
  return row.budget ?? s.budget;
}

/** Arms whose per-step cost the suite's budgets need (empty: no calibration needed). */
export function armsToCalibrate(s: Suite): string[] {
  const out = new Set<string>();
  for (const row of s.arms) {
    const b = budgetOf(s, row);
    if (b.kind === 'updates') continue;
    out.add(row.arm);
    if (b.kind === 'matched') out.add(b.arm);
  }
  return [...out].sort();
}

/** Steps per row id. `calibration` is needed when any row has a wall-clock budget. */
export function planRows(s: Suite, calibration?: Calibration): Map<string, RowPlan> {
  const plans = new Map<string, RowPlan>();
  const cost = (arm: string): number => {
    const c = calibration?.arms[arm]?.msPerStep;
    if (c === undefined) throw new UserError(`the calibration has no per-step cost for arm '${arm}': measure it again (vpt calibrate) for this suite`);
    return c;
  };
  for (const row of s.arms) {
    const budget = budgetOf(s, row);
    if (budget.kind === 'updates') {
      plans.set(armId(row), { budget, steps: s.train.steps });
      continue;
    }
    const ms = budget.kind === 'seconds' ? budget.seconds * 1000 : (budget.updates ?? s.train.steps) * cost(budget.arm);
    // The matched arm itself takes exactly its updates (no rounding through the division).
    const steps = budget.kind === 'matched' && budget.arm === row.arm ? (budget.updates ?? s.train.steps) : Math.max(1, Math.floor(ms / cost(row.arm)));
    plans.set(armId(row), { budget, steps, plannedMs: steps * cost(row.arm) });
  }
  return plans;
}

/** One line per row for the log: "baseline@time: 131 steps (matched to v-pretraining's 100 updates, 52.3 s)". */
export function describePlan(plans: ReadonlyMap<string, RowPlan>): string[] {
  return [...plans].map(([id, p]) => {
    const what = p.budget.kind === 'updates' ? 'updates' : p.budget.kind === 'seconds' ? `${p.budget.seconds} s wall-clock` : `matched to ${p.budget.arm}'s ${p.budget.updates ?? 'train.steps'} updates`;
    return `${id}: ${p.steps} steps (${what}${p.plannedMs !== undefined ? `, ${(p.plannedMs / 1000).toFixed(1)} s planned` : ''})`;
  });
}

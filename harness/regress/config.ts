/**
 * Settings of the regression gate, declared per suite under an optional `compare` key, and the documented
 * defaults used when a suite declares none.
 *
 * A quality metric regresses only when the whole (Holm-adjusted) 95% interval of its change lies beyond its
 * tolerance in the bad direction; the tolerance of a metric is max(abs, rel × |baseline mean|), looked up by
 * the full key ("pass@1,strict-match"), then by the metric name ("pass@1"), then `*`.
 */
import { z } from 'zod';
import { InputError } from '../report/read.js';

export const ToleranceSchema = z.strictObject({
  /** Absolute tolerance in the metric's own units (pass@1 is a fraction: 0.01 = one point). Default 0. */
  abs: z.number().min(0).default(0),
  /** Tolerance relative to the magnitude of the baseline mean (0.01 = 1%). Default 0. */
  rel: z.number().min(0).default(0),
});

/**
 * The optional `compare` key of a suite (harness/suite/schema.ts).
 */
export const CompareConfigSchema = z.strictObject({
  /** Tolerances by metric key, metric name or `*`; entries here replace the defaults for that key. Default {}. */
  tolerances: z.record(z.string(), ToleranceSchema).default({}),
  /** A timing or memory peak can regress only when it moves by more than this factor (asv's default). Default 1.1. */
  timingFactor: z.number().min(1).default(1.1),
  /** Familywise level of the Holm-corrected tests (the intervals are 1 − alpha). Default 0.05. */
  alpha: z.number().gt(0).lt(1).default(0.05),
});

export type Tolerance = z.output<typeof ToleranceSchema>;
export type CompareConfig = z.output<typeof CompareConfigSchema>;

/**
 * Default tolerances: changes this small are not worth failing a build over, whatever their significance.
 * pass@1, mIoU, top-1 and δ1 are fractions (one point = 0.01); NLL and depth errors are relative (1%, Criterion's
 * default noise threshold); anything else gets 1% of the baseline mean.
 */
export const DEFAULT_TOLERANCES: Readonly<Record<string, Tolerance>> = {
  'pass@1': { abs: 0.01, rel: 0 },
  answer_nll: { abs: 0, rel: 0.01 },
  miou: { abs: 0.005, rel: 0 },
  top1: { abs: 0.005, rel: 0 },
  delta1: { abs: 0.005, rel: 0 },
  rmse: { abs: 0, rel: 0.01 },
  absrel: { abs: 0, rel: 0.01 },
  '*': { abs: 0, rel: 0.01 },
};

export function toleranceFor(cfg: CompareConfig, key: string): Tolerance {
  const name = key.split(',')[0] as string;
  return cfg.tolerances[key] ?? cfg.tolerances[name] ?? DEFAULT_TOLERANCES[key] ?? DEFAULT_TOLERANCES[name] ?? cfg.tolerances['*'] ?? (DEFAULT_TOLERANCES['*'] as Tolerance);
}

/** Tolerance in metric units for a baseline mean. */
export function toleranceAt(t: Tolerance, baselineMean: number): number {
  return Math.max(t.abs, t.rel * Math.abs(baselineMean));
}

/** Reads the gate settings from a recorded suite config (its `compare` key), else the defaults. */
export function compareConfigOf(suite: Record<string, unknown> | undefined, source: string): CompareConfig {
  const r = CompareConfigSchema.safeParse(suite?.compare ?? {});
  if (!r.success) {
    const i = r.error.issues[0] as z.core.$ZodIssue;
    throw new InputError(`${source}: compare.${i.path.join('.')}: ${i.message}`);
  }
  return r.data;
}

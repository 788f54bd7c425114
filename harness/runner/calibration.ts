/**
 * The calibration behind wall-clock budgets: each arm's cost per learner step at the suite's cadence (meta steps
 * and target building included at their rate), measured with tinybench in a fresh worker on the current backend
 * and device, warm-up excluded. It is stored with the results (`calibration.json`) and can be reused with
 * `--calibration <file>`; one from another device, backend or harness version is refused unless forced.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { EngineInfo } from '../engine/backend.js';
import { UserError } from '../errors.js';
import { fileHash } from '../suite/hash.js';
import { ArmCostSchema } from '../bench/step-cost.js';

export { summariseCosts, type ArmCost } from '../bench/step-cost.js';

export const CALIBRATION_SCHEMA_VERSION = 1;

export const CalibrationSchema = z.strictObject({
  kind: z.literal('vpt-calibration'),
  schemaVersion: z.number().int(),
  harnessVersion: z.string(),
  codeHash: z.string(),
  /** The suite config it was measured for. */
  configHash: z.string(),
  engine: z.looseObject({ backend: z.string(), tfjsVersion: z.string().optional(), device: z.string() }),
  measuredAt: z.string(),
  arms: z.record(z.string(), ArmCostSchema),
});

export type Calibration = z.output<typeof CalibrationSchema>;

export function readCalibration(file: string): Calibration {
  if (!existsSync(file)) throw new UserError(`--calibration ${file}: no such file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const head = z.looseObject({ kind: z.literal('vpt-calibration'), schemaVersion: z.number() }).safeParse(raw);
  if (!head.success) throw new UserError(`${file}: not a vpt calibration (no kind "vpt-calibration")`);
  if (head.data.schemaVersion !== CALIBRATION_SCHEMA_VERSION) {
    throw new UserError(`${file}: calibration schema version ${head.data.schemaVersion}, this vpt reads ${CALIBRATION_SCHEMA_VERSION}: measure it again (vpt calibrate)`);
  }
  const r = CalibrationSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new UserError(`${file}: ${i?.path.join('.') || '(top level)'}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

export function calibrationHash(file: string): string {
  return fileHash(readFileSync(file)).slice(0, 16);
}

/**
 * Why a stored calibration cannot plan this run's steps (undefined: it can). Times from another device, backend
 * or harness version would give another run's step counts, so they are refused unless `force`.
 */
export function calibrationMismatch(c: Calibration, engine: Pick<EngineInfo, 'device'> & { backend: string }, harnessVersion: string, arms: readonly string[]): string | undefined {
  const missing = arms.filter((a) => !c.arms[a]);
  if (missing.length) return `it has no cost for arm(s) ${missing.join(', ')} (it has ${Object.keys(c.arms).join(', ') || 'none'})`;
  if (c.engine.backend !== engine.backend) return `it was measured on backend ${c.engine.backend}, this run uses ${engine.backend}`;
  if (c.engine.device !== engine.device) return `it was measured on device "${c.engine.device}", this run is on "${engine.device}"`;
  if (c.harnessVersion !== harnessVersion) return `it was measured with harness ${c.harnessVersion}, this is ${harnessVersion}`;
  return undefined;
}

/**
 * Runs one cell in the current process, whatever its task: select the backend, let the suite's task train and
 * evaluate, and write cell.json (atomically) with the fields every task shares.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { fileHash } from '../suite/hash.js';
import { settleDevice } from '../engine/webgpu.js';
import { writeJsonAtomic } from '../results/atomic.js';
import { RESULT_SCHEMA_VERSION, type CellResult } from '../results/schema.js';
import { codeHash, gitSha, harnessVersion } from '../results/version.js';
import type { CellSpec } from '../suite/expand.js';
import { suiteHash } from '../suite/define.js';
import type { Suite } from '../tasks/index.js';
import { taskOf } from '../tasks/index.js';
import { selectSuiteBackend } from './suite-backend.js';
import { CALIBRATION_SCHEMA_VERSION, type Calibration } from './calibration.js';
import type { CellPaths, ProgressFn } from '../tasks/contract.js';

export type { CellPaths, ProgressFn } from '../tasks/contract.js';

const backendFor = selectSuiteBackend;

export async function prepareBase(s: Suite, cacheDir: string, progress?: ProgressFn): Promise<void> {
  await backendFor(s);
  await taskOf(s).prepareBase(s, cacheDir, progress);
  await settleDevice();
}

/** Measures each arm's per-step cost on this backend and device, and writes the calibration to `out`. */
export async function calibrate(s: Suite, arms: readonly string[], cacheDir: string, out: string, code: string, progress?: ProgressFn): Promise<Calibration> {
  const engine = await backendFor(s);
  const task = taskOf(s);
  const costs: Calibration['arms'] = {};
  for (const [i, arm] of arms.entries()) {
    progress?.({ phase: `calibrate ${arm}`, done: i, total: arms.length });
    costs[arm] = await task.measureStepCost(s, arm, cacheDir);
  }
  const c: Calibration = {
    kind: 'vpt-calibration', schemaVersion: CALIBRATION_SCHEMA_VERSION, harnessVersion: harnessVersion(), codeHash: code,
    configHash: suiteHash(s), engine: { ...((await task.trainerEngine?.(s)) ?? engine) }, measuredAt: new Date().toISOString(), arms: costs,
  };
  writeJsonAtomic(out, c);
  return c;
}

/** The record a cell reads must exist and have completed; its hash is recorded so --resume sees it change. */
function readSource(cell: CellSpec, file: string): { id: string; file: string; sha256: string } {
  if (!existsSync(file)) throw new UserError(`${cell.id} reads ${file}, which does not exist`);
  const text = readFileSync(file);
  let rec: { id?: string; status?: string };
  try {
    rec = JSON.parse(text.toString('utf8')) as { id?: string; status?: string };
  } catch (e) {
    throw new UserError(`${cell.id} reads ${file}, which is not valid JSON (${(e as Error).message})`);
  }
  if (rec.status !== 'completed') throw new UserError(`${cell.id} reads ${rec.id ?? file}, which did not complete (${rec.status ?? 'no status'})`);
  return { id: rec.id ?? file, file, sha256: fileHash(text) };
}

/** The hashes of the roles a cell reads (all when its task does not say). */
function onlyRoles(hashes: Record<string, string>, roles: readonly string[] | undefined): Record<string, string> {
  return roles ? Object.fromEntries(Object.entries(hashes).filter(([r]) => roles.includes(r))) : hashes;
}

export async function runCell(s: Suite, cell: CellSpec, paths: CellPaths, progress?: ProgressFn): Promise<CellResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const engine = await backendFor(s);
  const task = taskOf(s);
  const arm = task.arms.get(cell.arm.arm);
  const reads = paths.reads ? readSource(cell, paths.reads) : undefined;
  const out = await task.runCell(s, cell, paths, progress);
  // A device error Dawn reported after the last read fails the cell here, before anything is written as completed.
  await settleDevice();
  const result: CellResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    harnessVersion: harnessVersion(),
    gitSha: gitSha(),
    codeHash: paths.codeHash ?? codeHash(),
    configHash: suiteHash(s),
    dataHashes: onlyRoles(out.dataHashes, task.dataRoles?.(s, cell)),
    evalVersions: task.evalVersions,
    armVersion: arm.version,
    suite: s.name,
    task: s.task,
    arm: arm.name,
    armId: cell.armId,
    seed: cell.seed,
    id: cell.id,
    status: 'completed',
    metrics: out.metrics,
    higherIsBetter: out.higherIsBetter,
    diagnostics: out.diagnostics,
    engine: out.engine ?? engine,
    steps: out.steps,
    timings: { ...out.timings, totalMs: performance.now() - t0 },
    ...out.extra,
    ...(reads ? { reads } : {}),
    ...(cell.plan ? { budget: cell.plan } : {}),
    config: { suite: s, cell: { arm: cell.arm, seed: cell.seed }, baseHash: out.baseHash },
    curves: out.curves,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(paths.dir, 'cell.json'), result);
  return result;
}

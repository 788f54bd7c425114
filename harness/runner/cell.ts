/**
 * Runs one cell in the current process, whatever its task: select the backend, let the suite's task train and
 * evaluate, and write cell.json (atomically) with the fields every task shares.
 */
import { join } from 'node:path';
import { selectBackend, type BackendName } from '../engine/backend.js';
import { settleDevice } from '../engine/webgpu.js';
import { writeJsonAtomic } from '../results/atomic.js';
import { RESULT_SCHEMA_VERSION, type CellResult } from '../results/schema.js';
import { codeHash, gitSha, harnessVersion } from '../results/version.js';
import type { CellSpec } from '../suite/expand.js';
import { suiteHash } from '../suite/define.js';
import type { Suite } from '../suite/schema.js';
import { taskOf } from '../tasks/index.js';
import type { CellPaths, ProgressFn } from '../tasks/types.js';

export type { CellPaths, ProgressFn } from '../tasks/types.js';

async function backendFor(s: Suite) {
  return selectBackend(s.backend === 'auto' ? undefined : (s.backend as BackendName));
}

export async function prepareBase(s: Suite, cacheDir: string, progress?: ProgressFn): Promise<void> {
  await backendFor(s);
  await taskOf(s).prepareBase(s, cacheDir, progress);
  await settleDevice();
}

export async function runCell(s: Suite, cell: CellSpec, paths: CellPaths, progress?: ProgressFn): Promise<CellResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const engine = await backendFor(s);
  const task = taskOf(s);
  const arm = task.arms.get(cell.arm.arm);
  const out = await task.runCell(s, cell, paths, progress);
  // A device error Dawn reported after the last read fails the cell here, before anything is written as completed.
  await settleDevice();
  const result: CellResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    harnessVersion: harnessVersion(),
    gitSha: gitSha(),
    codeHash: paths.codeHash ?? codeHash(),
    configHash: suiteHash(s),
    dataHashes: out.dataHashes,
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
    engine,
    steps: out.steps,
    timings: { ...out.timings, totalMs: performance.now() - t0 },
    ...out.extra,
    config: { suite: s, cell: { arm: cell.arm, seed: cell.seed }, baseHash: out.baseHash },
    curves: out.curves,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(paths.dir, 'cell.json'), result);
  return result;
}

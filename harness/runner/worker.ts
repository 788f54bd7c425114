/**
 * Worker process entry: runs one job (the base stage or one cell) described by a JSON file, reporting
 * progress as `@@vpt {json}` lines on stdout. A failure is recorded in cell.json with status "errored".
 * Before loading the trainers it checks that harness/ is still the code the run started with, so an edit
 * during a run cannot mix versions in one table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../results/atomic.js';
import { RESULT_SCHEMA_VERSION } from '../results/schema.js';
import { codeHash, gitSha, harnessVersion } from '../results/version.js';
import type { CellSpec } from '../suite/expand.js';
import { EXIT_CODE_CHANGED, EXIT_CODE_USER, PROGRESS_PREFIX, type WorkerJob } from './protocol.js';
import { UserError } from '../errors.js';
import { suiteHash } from '../suite/hash.js';
import type { Suite } from '../tasks/index.js';

function emit(msg: Record<string, unknown>): void {
  process.stdout.write(PROGRESS_PREFIX + JSON.stringify(msg) + '\n');
}

/** wasm reports running past its 4 GB heap as an out-of-bounds access; say what it means. */
export function explainError(e: unknown, s: Suite): string {
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  if (/memory access out of bounds|Out of memory|Cannot enlarge memory/i.test(msg)) {
    return `out of memory on the tfjs heap (wasm caps it at 4 GB) with model ${JSON.stringify(s.model)} and ` +
      `batch ${s.train.batchSize}: lower model size, batchSize or blockSize.\n${msg}`;
  }
  return msg;
}

function recordError(job: WorkerJob, cell: CellSpec, error: string, code: string): void {
  writeJsonAtomic(join(job.dir, 'cell.json'), {
    schemaVersion: RESULT_SCHEMA_VERSION, harnessVersion: harnessVersion(), gitSha: gitSha(), codeHash: code, configHash: suiteHash(job.suite),
    suite: cell.suite, arm: cell.arm.arm, armId: cell.armId, seed: cell.seed, id: cell.id,
    status: 'errored', error, metrics: {}, finishedAt: new Date().toISOString(),
  });
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: worker <job.json>');
  const job = JSON.parse(readFileSync(path, 'utf8')) as WorkerJob;
  const code = codeHash();
  if (code !== job.codeHash) {
    const error = `harness/ changed since the run started (code ${job.codeHash} -> ${code}); the cells of one run must come from one version: restore it, or rerun with --move-aside`;
    if (job.cell) recordError(job, job.cell, error, code);
    process.stderr.write(`${error}\n`);
    process.exit(EXIT_CODE_CHANGED);
  }
  // Loaded only after the version check, so what runs is what was checked.
  const { calibrate, prepareBase, runCell } = await import('./cell.js');
  const progress = (e: { phase: string; done: number; total: number }): void => {
    stopIfOrphaned();
    emit({ type: 'progress', ...e });
  };
  if (job.kind === 'base') {
    await prepareBase(job.suite, job.cacheDir, progress);
    emit({ type: 'done', status: 'completed' });
    return;
  }
  if (job.kind === 'calibrate') {
    await calibrate(job.suite, job.arms ?? [], job.cacheDir, job.out as string, code, progress);
    emit({ type: 'done', status: 'completed' });
    return;
  }
  const cell = job.cell as CellSpec;
  try {
    const r = await runCell(job.suite, cell, { dir: job.dir, cacheDir: job.cacheDir, codeHash: code, ...(job.reads ? { reads: job.reads } : {}) }, progress);
    emit({ type: 'done', status: r.status, metrics: r.metrics });
  } catch (e) {
    const error = explainError(e, job.suite);
    recordError(job, cell, error, code);
    emit({ type: 'done', status: 'errored', error: error.split('\n')[0] });
    process.exitCode = 1;
  }
}

const parent = process.ppid;

/**
 * A runner killed outright (SIGKILL) cannot stop its workers, and a later run takes over its folder's lock: a worker
 * whose runner is gone stops without writing, so the cell is left for that run (checked each second and at each
 * progress report, which training loops make between steps).
 */
function stopIfOrphaned(): void {
  if (process.ppid !== parent) process.exit(1);
}
setInterval(stopIfOrphaned, 1000).unref();

main().catch((e) => {
  // A user error (bad input, a backend that cannot be had) is its one line; the runner shows it as it is.
  if (e instanceof UserError) {
    process.stderr.write(`${e.message.split('\n')[0]}\n`);
    process.exit(EXIT_CODE_USER);
  }
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

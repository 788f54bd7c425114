/**
 * Worker process for the vision stages: runs one job (base stage + base evaluation, random-init evaluation, or
 * one seed's cell) described by a JSON file, writes its result JSON atomically, and reports progress as
 * `@@vpt {json}` lines on stdout (the runner's protocol). One process per job: wasm uses one core.
 */
import { selectBackend } from '../engine/backend.js';
import { loadVisionData } from '../data/vision/load.js';
import { writeJsonAtomic } from '../results/atomic.js';
import { PROGRESS_PREFIX } from '../runner/protocol.js';
import { ensureVisionBase, evaluateRandomInit, evaluateVisionBase } from './base.js';
import { runVisionCell } from './cell.js';
import type { VisionConfig } from './schema.js';

export interface VisionJob {
  kind: 'base' | 'random-init' | 'cell';
  config: VisionConfig;
  /** Training seed (cells only). */
  seed?: number;
  cacheDir: string;
  /** Where the job's result JSON goes. */
  out: string;
}

function emit(msg: Record<string, unknown>): void {
  process.stdout.write(PROGRESS_PREFIX + JSON.stringify(msg) + '\n');
}

export async function runVisionJob(job: VisionJob): Promise<unknown> {
  const engine = await selectBackend('wasm');
  const cfg = job.config;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const data = loadVisionData(cfg.data, cfg.model.imageSize, (line) => process.stderr.write(`skipped ${line}\n`));
  const loadMs = performance.now() - t0;
  const progress = (phase: string) => (done: number, total: number): void => emit({ type: 'progress', phase, done, total });
  let result: unknown;
  if (job.kind === 'base') {
    const base = ensureVisionBase(cfg, data, job.cacheDir, progress('base'));
    emit({ type: 'progress', phase: 'eval', done: 0, total: 1 });
    result = { base, eval: evaluateVisionBase(cfg, data, job.cacheDir) };
  } else if (job.kind === 'random-init') {
    emit({ type: 'progress', phase: 'eval', done: 0, total: 1 });
    result = { eval: evaluateRandomInit(cfg, data, job.cacheDir) };
  } else {
    if (job.seed === undefined) throw new Error('cell job without a seed');
    result = runVisionCell(cfg, job.seed, data, job.cacheDir, { onProgress: (e) => progress(e.phase)(e.done, e.total) });
  }
  const cpu = process.cpuUsage(c0);
  const out = { kind: job.kind, seed: job.seed ?? null, engine, dataHashes: data.hashes, loadMs, totalMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, result };
  writeJsonAtomic(job.out, out);
  emit({ type: 'done', status: 'completed' });
  return out;
}

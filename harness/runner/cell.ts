/**
 * Runs one cell in the current process: load data and the base checkpoint, continue pretraining with the
 * arm's target rule, evaluate the frozen result, and write cell.json (atomically) plus samples.jsonl.
 */
import { join } from 'node:path';
import { selectBackend, type BackendName } from '../engine/backend.js';
import { Rng } from '../engine/rng.js';
import { armRegistry } from '../arms/index.js';
import { decontaminateStream } from '../data/decontam.js';
import { loadData, type LoadedData } from '../data/sources.js';
import { packDocs, selectRows } from '../data/pack.js';
import { evaluateGsm8k, GSM8K_EVAL_VERSION } from '../eval/gsm8k/evaluate.js';
import { LanguageModel } from '../lm/model.js';
import { trainLM } from '../lm/trainer.js';
import { writeFileAtomic, writeJsonAtomic } from '../results/atomic.js';
import { HIGHER_IS_BETTER, RESULT_SCHEMA_VERSION, type CellResult } from '../results/schema.js';
import { codeHash, gitSha, harnessVersion } from '../results/version.js';
import type { CellSpec } from '../suite/expand.js';
import { suiteHash } from '../suite/define.js';
import type { Suite } from '../suite/schema.js';
import { baseDir, ensureBase } from './base.js';

export interface CellPaths {
  /** Folder of this cell's outputs. */
  dir: string;
  cacheDir: string;
  /** Code fingerprint of the run (checked by the worker before this cell started). Default: computed here. */
  codeHash?: string;
}

export type ProgressFn = (e: { phase: string; done: number; total: number }) => void;

/** Metric keys of higher-is-better flags for the given metrics. */
function directions(metrics: Record<string, unknown>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const k of Object.keys(metrics)) {
    const name = k.split(',')[0] as string;
    if (name in HIGHER_IS_BETTER) out[k] = HIGHER_IS_BETTER[name] as boolean;
  }
  return out;
}

export async function prepareBase(s: Suite, cacheDir: string, progress?: ProgressFn): Promise<void> {
  await selectBackend(s.backend === 'auto' ? undefined : (s.backend as BackendName));
  const data = await loadData(s.data, cacheDir);
  ensureBase(s, data, cacheDir, (done, total) => progress?.({ phase: 'base', done, total }));
}

export async function runCell(s: Suite, cell: CellSpec, paths: CellPaths, progress?: ProgressFn): Promise<CellResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const engine = await selectBackend(s.backend === 'auto' ? undefined : (s.backend as BackendName));
  const arm = armRegistry.get(cell.arm.arm);
  const data: LoadedData = await loadData(s.data, paths.cacheDir);
  const base = ensureBase(s, data, paths.cacheDir, (done, total) => progress?.({ phase: 'base', done, total }));
  const model = LanguageModel.load(baseDir(s, data, paths.cacheDir));
  const rng = new Rng(cell.seed);
  let cpt = data.cpt;
  let decontamination: Record<string, unknown> | undefined;
  if (cell.arm.decontaminate) {
    const refs = [...data.train.map((x) => x.question), ...data.test.map((x) => x.question), ...data.mathTest];
    const d = decontaminateStream(data.cptRows.map((r) => r.problem), refs, s.decontamination);
    cpt = cpt.filter((_, i) => !d.removed.has(i));
    decontamination = { ...s.decontamination, removed: d.removed.size, screened: data.cptRows.length, references: refs.length, ms: d.ms };
  }
  const feedbackRng = rng.fork('feedback');
  const feedback = feedbackRng.sample(data.train.length, s.design.feedbackSize).map((i) => data.train[i]!);
  // Probe rows are held out of every arm's training stream, so all arms train on the same rows.
  const packed = packDocs(model.tokenizer, cpt, s.model.blockSize);
  const probeCount = Math.min(s.design.probeBatches * s.train.batchSize, Math.floor(packed.rows / 4));
  const rows = selectRows(packed, range(0, packed.rows - probeCount));
  const probeRows = probeCount > 0 ? selectRows(packed, range(packed.rows - probeCount, packed.rows)) : undefined;
  const rule = arm.create({ model, design: s.design, rng: rng.fork('arm'), feedback, steps: s.train.steps, ...(probeRows ? { probeRows } : {}) });
  try {
    const train = trainLM({
      model,
      rows,
      steps: s.train.steps,
      batchSize: s.train.batchSize,
      optim: { ...s.train, totalSteps: s.train.steps },
      rng: rng.fork('data'),
      rule,
      logEvery: s.train.logEvery,
      onLog: (p) => progress?.({ phase: 'train', done: p.step + 1, total: s.train.steps }),
    });
    progress?.({ phase: 'eval', done: 0, total: 1 });
    const te = performance.now();
    const ev = evaluateGsm8k(model, data.test, data.train, s.eval.gsm8k);
    const evalMs = performance.now() - te;
    writeFileAtomic(join(paths.dir, 'samples.jsonl'), ev.samples.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const diagnostics: Record<string, number> = { ...(rule.summary?.() ?? {}), base_answer_nll: base.metrics['answer_nll,none']?.value ?? NaN };
    const metaMs = diagnostics.meta_ms_mean;
    const metaSteps = diagnostics.meta_steps;
    if (metaMs !== undefined && metaSteps !== undefined && Number.isFinite(metaMs)) {
      // Meta-step cost relative to one learner step (learner steps timed without the meta work).
      const metaTotal = metaMs * metaSteps;
      diagnostics.meta_fraction_of_step = metaMs / ((train.wallMs - metaTotal) / s.train.steps);
      diagnostics.meta_share_of_time = metaTotal / train.wallMs;
    }
    const result: CellResult = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      harnessVersion: harnessVersion(),
      gitSha: gitSha(),
      codeHash: paths.codeHash ?? codeHash(),
      configHash: suiteHash(s),
      dataHashes: data.hashes,
      evalVersions: { gsm8k: GSM8K_EVAL_VERSION },
      armVersion: arm.version,
      suite: s.name,
      arm: arm.name,
      armId: cell.armId,
      seed: cell.seed,
      id: cell.id,
      status: 'completed',
      metrics: ev.metrics,
      higherIsBetter: directions(ev.metrics),
      diagnostics,
      engine,
      steps: { planned: s.train.steps, done: s.train.steps },
      timings: { trainMs: train.wallMs, evalMs, msPerStep: train.msPerStep, tokensPerSecond: train.tokensPerSecond, totalMs: performance.now() - t0 },
      ...(decontamination ? { decontamination } : {}),
      config: { suite: s, cell: { arm: cell.arm, seed: cell.seed }, baseHash: base.hash },
      curves: { train: train.curve },
      startedAt,
      finishedAt: new Date().toISOString(),
    };
    writeJsonAtomic(join(paths.dir, 'cell.json'), result);
    return result;
  } finally {
    rule.dispose?.();
    model.dispose();
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

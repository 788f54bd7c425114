/**
 * `vpt bench --trainer torch`: a bench case on the PyTorch engine (docs/TRAINER-PROTOCOL.md, Benchmarks). The
 * harness writes the case as engine inputs (the same rows and feedback rows as the tfjs case, a random learner of
 * the configuration's shape, the designer's initial parameters) and the engine times its learner steps and meta
 * steps; the result has the shape of a tfjs case's, so both engines' rows sit side by side in one table, and on CUDA
 * an MFU against the card's bf16 peak.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { read } from '../../engine/read.js';
import { Rng } from '../../engine/rng.js';
import { saveSafetensors, type TypedArrayTensor } from '../../engine/safetensors.js';
import type { TrainerEngineInfo } from '../../results/schema.js';
import { runEngine } from '../../trainer/process.js';
import { TRAINER_PROTOCOL } from '../../trainer/python.js';
import { armRegistry } from '../arms/index.js';
import { designerShapeOf, LmDesigner } from '../designer/lm-designer.js';
import { initParams, subsetNames } from '../model/gpt.js';
import type { TokenRows } from '../data/pack.js';
import { benchData, type BenchConfig } from './cases.js';
import type { BenchRun } from './job.js';

/** bf16 dense peak FLOP/s of the cards the paper's runs use, by a name fragment (datasheet figures). */
const BF16_PEAK: [RegExp, number][] = [
  [/H200|H100/, 989e12],
  [/A100/, 312e12],
  [/L40S/, 362e12],
  [/A10G|A10\b/, 125e12],
  [/L4\b/, 121e12],
  [/4090/, 165e12],
];

/** The card's bf16 peak FLOP/s from its name, or undefined for one not listed (no MFU then). */
export function bf16Peak(device: string): number | undefined {
  return BF16_PEAK.find(([re]) => re.test(device))?.[1];
}

export interface EngineBenchOptions {
  python: string;
  device: 'cpu' | 'cuda';
  steps: number;
  warmup: number;
  seed: number;
}

/** What the engine's bench line holds. */
interface EngineBench {
  learnerMs: number[];
  metaMs: number[];
  tokensPerStep: number;
  params: number;
  trainableParams: number;
  flopsPerStep: number;
  peakBytes: number;
  rssPeakBytes: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function rowsTensors(prefix: string, r: TokenRows): Record<string, TypedArrayTensor> {
  const shape = [r.rows, r.seqLen];
  return { [`${prefix}.inputs`]: { shape, data: r.inputs }, [`${prefix}.targets`]: { shape, data: r.targets }, [`${prefix}.mask`]: { shape, data: r.mask }, [`${prefix}.wrong`]: { shape, data: r.wrong } };
}

/** Runs one bench case on the engine; the result as a tfjs case reports it (CPU times are not measured there). */
export async function runEngineBench(c: BenchConfig, armName: string, o: EngineBenchOptions): Promise<BenchRun & { flopsPerStep: number; mfu: number | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'vpt-torch-bench-'));
  try {
    const { vocabSize, rows, feedbackRows } = benchData(c);
    const arm = armRegistry.get(armName);
    const rule = { baseline: 'onehot', 'uniform-topk': 'uniform-topk', 'self-distill': 'self-distill', 'v-pretraining': 'designer', 'random-feedback': 'designer', 'shuffled-feedback': 'designer' }[armName];
    if (!rule) throw new Error(`the torch engine's bench has no rule for arm '${armName}'`);
    const rng = new Rng(o.seed);
    const total = o.warmup + o.steps;
    const batches = Array.from({ length: total * (c.accum ?? 1) }, () => rng.sample(rows.rows, c.batchSize));
    const tensors: Record<string, TypedArrayTensor> = { ...rowsTensors('train', rows), batches: { shape: [batches.length, c.batchSize], data: Int32Array.from(batches.flat()) } };
    const fb = Math.min(c.design.feedbackBatch, feedbackRows.rows);
    if (arm.usesDesigner) {
      const draws = Array.from({ length: total }, () => rng.sample(feedbackRows.rows, fb));
      const { wrong: _w, ...fbRows } = rowsTensors('feedback', feedbackRows);
      Object.assign(tensors, fbRows, { feedback_draws: { shape: [draws.length, fb], data: Int32Array.from(draws.flat()) } });
      const d = c.design;
      const designer = new LmDesigner(designerShapeOf(d, vocabSize, c.model.blockSize), rng.fork('designer-init'));
      try {
        for (const [name, v] of Object.entries(designer.vars)) tensors[`designer.${name}`] = { shape: v.shape, data: (await read(v)) as Float32Array };
      } finally {
        designer.dispose();
      }
    }
    saveSafetensors(join(dir, 'inputs.safetensors'), tensors);
    let model: Record<string, unknown>;
    let subset: Record<string, unknown>;
    if (c.hf) {
      model = { kind: 'hf', init: 'random', config: { ...c.hf.config, vocab_size: Math.max(vocabSize, Number(c.hf.config.vocab_size ?? 0)) }, trainable: c.hf.trainable, weightsDtype: 'auto', implementation: 'built-in', seed: o.seed };
      subset = { blocks: c.design.subsetBlocks };
    } else {
      // The vpt GPT at the configuration's shape, random, written where the engine reads a checkpoint.
      const gpt = { vocabSize, blockSize: c.model.blockSize, nLayer: c.model.nLayer, nHead: c.model.nHead, nEmbd: c.model.nEmbd };
      const ckpt = join(dir, 'model');
      mkdirSync(ckpt);
      saveSafetensors(join(ckpt, 'model.safetensors'), initParams(gpt, rng.fork('init')));
      writeFileSync(join(ckpt, 'config.json'), JSON.stringify({ architecture: 'vpt-gpt', gpt }));
      model = { kind: 'vpt-gpt', dir: ckpt, gpt };
      subset = { from: gpt.nLayer - c.design.subsetBlocks, names: subsetNames(gpt, c.design.subsetBlocks) };
    }
    const inputs = {
      protocol: TRAINER_PROTOCOL, task: 'language', cell: `${c.name}/${armName}/bench`, mode: 'bench', device: o.device, dtype: 'auto', threads: 1,
      model, train: { steps: total, batchSize: c.batchSize, accum: c.accum ?? 1, seqLen: rows.seqLen, logEvery: total, optim: { ...c.optim, totalSteps: total } },
      arm: { name: armName, version: arm.version, rule }, ...(rule === 'designer' ? { feedback: armName === 'random-feedback' ? 'random' : 'true' } : {}),
      design: { ...c.design, burnIn: 0, metaEvery: 1, probeBatches: 0 }, subset, noiseSeed: o.seed, probeSteps: [],
      eval: { maxNewTokens: 1, eosId: 0, stopIds: [], batchSize: 8 }, bench: { steps: o.steps, warmup: o.warmup },
    };
    writeFileSync(join(dir, 'inputs.json'), JSON.stringify(inputs));
    const { hello, final } = await runEngine({ python: o.python, mode: 'bench', inputsDir: dir, env: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } });
    const b = final as unknown as EngineBench;
    const e = (hello.engine ?? {}) as Record<string, unknown>;
    const device = String(e.deviceName ?? e.device ?? o.device);
    const engine: TrainerEngineInfo = {
      trainer: 'torch', backend: 'torch', device, version: String(e.version ?? '?'), torchVersion: String(e.torch ?? '?'), dtype: String(e.dtype ?? '?'),
      threads: Number(e.threads ?? 1), paths: (e.paths ?? {}) as Record<string, string>,
    };
    const learnerMs = median(b.learnerMs);
    const metaMs = b.metaMs.length ? median(b.metaMs) : null;
    const peak = o.device === 'cuda' ? bf16Peak(device) : undefined;
    return {
      config: c.name, arm: armName, engine, vocabSize, params: b.params, tokensPerStep: b.tokensPerStep,
      learnerMs, targetMs: NaN, metaMs, learnerCpuMs: NaN, metaCpuMs: null, steps: o.steps,
      tfPeakBytes: b.peakBytes, rssPeakBytes: b.rssPeakBytes, flopsPerStep: b.flopsPerStep,
      // Learner steps only: the meta step's extra work is the overhead, not useful training FLOPs.
      mfu: peak ? b.flopsPerStep / (learnerMs / 1000) / peak : null,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

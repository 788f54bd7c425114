/**
 * `vpt bench` for vision (presets vit-s, vit-b, vit-l; or vision suites): per configuration and engine, the learner
 * step of the baseline and of V-pretraining, the meta step, its share of V-pretraining's time at the suite's cadence r,
 * images/s of both, and peak memory. The torch engine runs each case in its own process (`vpt_torch bench`: a random
 * learner of the configuration's shape, the harness's crops and feedback draws, a meta step before every timed step);
 * tfjs runs in this process on the selected backend, where its AdamW state fits wasm's 4 GB heap (ViT-L's does not:
 * 304M parameters × 16 bytes), and reports why not otherwise. Steps are timed with a read of the loss after each.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../engine/backend.js';
import { Rng } from '../../engine/rng.js';
import { applyOverrides } from '../../suite/overrides.js';
import type { BenchRequest, TaskBench, TaskServices } from '../../tasks/contract.js';
import { runEngine } from '../../trainer/process.js';
import { probeTorchEngine } from '../../trainer/python.js';
import { splitUnlabeled } from '../cell.js';
import { loadVisionData, type VisionData } from '../data/load.js';
import { MaskDesignerRule } from '../designer/rule.js';
import { DinoModel } from '../model.js';
import { dinoModelConfig, stageAugment, stageDino, stageOptim, type VisionConfig, type VisionSuite } from '../schema.js';
import { writeVisionTorchInputs } from '../torch-cell.js';
import { trainDino } from '../trainer.js';
import { vitParameterShapes } from '../vit.js';

/** DINO's ViT shapes at 224-px crops with 16-px patches, two 96-px local crops, batch 2 (CPU-sized; --set to change). */
const SHAPES: Record<string, { width: number; depth: number; heads: number; what: string }> = {
  'vit-s': { width: 384, depth: 12, heads: 6, what: 'ViT-S/16 (22M) at 224 px, DINO head 65,536' },
  'vit-b': { width: 768, depth: 12, heads: 12, what: 'ViT-B/16 (86M) at 224 px, DINO head 65,536' },
  'vit-l': { width: 1024, depth: 24, heads: 16, what: 'ViT-L/16 (304M) at 224 px, DINO head 65,536' },
};

function presetSuite(name: string, services: TaskServices, sets: readonly string[]): VisionSuite {
  const s = SHAPES[name] as (typeof SHAPES)[string];
  const input = {
    task: 'vision', name: `bench-${name}`, seeds: [1], trainer: 'torch',
    model: { imageSize: 224, patchSize: 16, width: s.width, depth: s.depth, heads: s.heads, mlpRatio: 4, headHidden: 2048, headBottleneck: 256, headOut: 65536 },
    data: { kind: 'embedded', unlabeled: 8, feedback: 8, probeTrain: 4, validation: 4, test: 4 },
    base: { steps: 0, augment: { localSize: 96, nLocal: 2 } },
    train: { steps: 10, batchSize: 2, augment: { localSize: 96, nLocal: 2, blurSigma: [0.1, 2.0] }, dino: { ibotWeight: 1, koleoWeight: 0.1 } },
    design: { subsetBlocks: 4, metaEvery: 4, metaBatch: 2, feedbackBatch: 2, headSteps: 2, designerLevels: 3, designerScale: 2, probeBatches: 0, maskBlurSigma: 7 },
    arms: [{ arm: 'baseline' }, { arm: 'v-pretraining' }],
  };
  return services.parseSuite(applyOverrides(input, sets), `bench preset ${name}`) as VisionSuite;
}

function configOf(s: VisionSuite): VisionConfig {
  return { model: s.model, data: s.data, base: s.base, train: s.train, design: s.design, eval: s.eval };
}

interface ArmTiming {
  learnerMs: number[];
  metaMs: number[];
  peakBytes?: number;
}

export interface VisionBenchRow {
  config: string;
  engine: string;
  params: number;
  batch: number;
  cadence: number;
  baselineMs?: number;
  vpLearnerMs?: number;
  metaMs?: number;
  peakBytes?: number;
  note?: string;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n ? (n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2) : Number.NaN;
};

async function torchArm(s: VisionSuite, data: VisionData, arm: string, req: BenchRequest<VisionSuite>, python: string): Promise<ArmTiming> {
  const dir = mkdtempSync(join(tmpdir(), 'vpt-torch-vision-bench-'));
  try {
    const cfg = configOf(s);
    const steps = req.warmup + req.steps;
    const planned: VisionConfig = { ...cfg, train: { ...cfg.train, steps }, design: { ...cfg.design, burnIn: 0, metaEvery: 1, probeBatches: 0 } };
    const torch = { device: req.torchDevice, dtype: 'auto' as const, threads: s.torch?.threads ?? 1, directional: 'exact' as const, nproc: 1, shardOptimizer: false, ...(req.python ? { python: req.python } : {}) };
    writeVisionTorchInputs({ cfg: planned, cellId: `${s.name}/${arm}/bench`, seed: req.seed, armName: arm, steps, data, cacheDir: dir }, dir, torch, 'bench', 0, Math.max(1, req.warmup));
    const { final } = await runEngine({ python, mode: 'bench', inputsDir: dir, env: { OMP_NUM_THREADS: String(torch.threads), OPENBLAS_NUM_THREADS: String(torch.threads) } });
    return { learnerMs: final.learnerMs as number[], metaMs: final.metaMs as number[], peakBytes: Number(final.peakBytes) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** tfjs in this process: trainDino's steps on a random learner of the shape, each ended by a read of its loss. */
function tfjsArm(s: VisionSuite, data: VisionData, arm: string, req: BenchRequest<VisionSuite>): ArmTiming {
  const cfg = configOf(s);
  const steps = req.warmup + req.steps;
  const model = DinoModel.init(dinoModelConfig(cfg.model), new Rng(req.seed).fork('init'));
  const design = { ...cfg.design, burnIn: 0, metaEvery: 1, probeBatches: 0 };
  const rng = new Rng(req.seed);
  const pool = splitUnlabeled(cfg, data).train;
  const rule = arm === 'baseline' ? undefined : new MaskDesignerRule({ model, design, data, rng: rng.fork('arm'), augment: stageAugment(cfg.train, cfg.model), dino: stageDino(cfg.train) }, 'true');
  const stamps = [performance.now()];
  try {
    trainDino({
      model, pool, steps, batchSize: cfg.train.batchSize, optim: stageOptim({ ...cfg.train, steps }), dino: stageDino(cfg.train),
      augment: stageAugment(cfg.train, cfg.model), rng: rng.fork('train'), logEvery: 1, onLog: () => stamps.push(performance.now()), ...(rule ? { rule } : {}),
    });
    const total = stamps.slice(1).map((t, i) => t - (stamps[i] as number));
    // The heads' first fit falls in the first (untimed) step.
    const meta = rule ? rule.metaMs : [];
    return { learnerMs: total.slice(req.warmup).map((t, i) => t - (meta[req.warmup + i] ?? 0)), metaMs: meta.slice(req.warmup) };
  } finally {
    rule?.dispose();
    model.dispose();
  }
}

function paramCount(s: VisionSuite): number {
  const m = dinoModelConfig(s.model);
  const n = Object.values(vitParameterShapes(m.vit)).reduce((a, sh) => a + sh.reduce((x, y) => x * y, 1), 0);
  const h = m.head;
  return n + m.vit.width * h.hidden + h.hidden * h.hidden + h.hidden * h.bottleneck + h.bottleneck * h.out;
}

/** tfjs's AdamW keeps 4 float32 copies of every parameter (values, gradient, 2 moments) and an EMA teacher. */
const WASM_HEAP = 4 * 1024 ** 3;

export function formatVisionBench(rows: readonly VisionBenchRow[]): string {
  const head = '| configuration | engine | params | baseline ms/step | baseline img/s | V-pre learner ms | meta ms | meta share at r | V-pre img/s at r | V-pre / baseline | peak memory |';
  const sep = '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const f = (x: number | undefined, d = 0): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));
  const lines = rows.map((r) => {
    if (r.note) return `| ${r.config} | ${r.engine} | ${(r.params / 1e6).toFixed(0)}M | ${r.note} |  |  |  |  |  |  |  |`;
    const cycle = r.vpLearnerMs !== undefined && r.metaMs !== undefined ? r.cadence * r.vpLearnerMs + r.metaMs : undefined;
    const vpImgs = cycle ? (r.cadence * r.batch * 1000) / cycle : undefined;
    const baseImgs = r.baselineMs ? (r.batch * 1000) / r.baselineMs : undefined;
    return `| ${r.config} | ${r.engine} | ${(r.params / 1e6).toFixed(0)}M | ${f(r.baselineMs)} | ${f(baseImgs, 2)} | ${f(r.vpLearnerMs)} | ${f(r.metaMs)} | ${cycle ? `${((100 * (r.metaMs as number)) / cycle).toFixed(1)}% (r = ${r.cadence})` : 'n/a'} | ${f(vpImgs, 2)} | ${vpImgs && baseImgs ? `${(vpImgs / baseImgs).toFixed(2)}×` : 'n/a'} | ${r.peakBytes ? `${(r.peakBytes / 1024 ** 3).toFixed(2)} GiB` : 'n/a'} |`;
  });
  return [head, sep, ...lines].join('\n');
}

/** The presets `vpt bench --preset` accepts, with their descriptions. */
export const VISION_BENCH_PRESETS: Record<string, string> = Object.fromEntries(Object.entries(SHAPES).map(([k, v]) => [k, v.what]));

export const visionBench: TaskBench<VisionSuite> = {
  presets: VISION_BENCH_PRESETS,
  async overhead(req, services) {
    const suites = [...req.presets.map((p) => presetSuite(p, services, req.sets)), ...req.suites];
    const python = req.trainers.includes('torch') ? (await probeTorchEngine(req.python, req.torchDevice)).python : undefined;
    // tfjs here, in this process: the requested backend (webgpu excluded: vision reads tensors synchronously).
    if (req.trainers.includes('tfjs')) await selectBackend(req.backends[0] ?? 'auto', { exclude: ['webgpu'] });
    const rows: VisionBenchRow[] = [];
    for (const s of suites) {
      const data = loadVisionData(s.data, s.model.imageSize);
      const params = paramCount(s);
      const base = { config: s.name, params, batch: s.train.batchSize, cadence: s.design.metaEvery };
      for (const engine of req.trainers) {
        req.onProgress(`${s.name}: ${engine}`);
        if (engine === 'tfjs' && params * 4 * 5 > WASM_HEAP && tf.getBackend() === 'wasm') {
          rows.push({ ...base, engine: 'tfjs (wasm)', note: `does not fit: ~${((params * 20) / 1024 ** 3).toFixed(1)} GiB of weights, gradients, AdamW moments and teacher against wasm's 4 GiB` });
          continue;
        }
        const run = async (arm: string): Promise<ArmTiming> => (engine === 'torch' ? torchArm(s, data, arm, req, python as string) : tfjsArm(s, data, arm, req));
        let b: ArmTiming;
        let v: ArmTiming;
        try {
          b = await run('baseline');
          v = await run('v-pretraining');
        } catch (e) {
          // tfjs's wasm heap can fail at these shapes (measured: ViT-S/16 at 224 px, 'memory access out of bounds'); say so in the row.
          if (engine !== 'tfjs') throw e;
          rows.push({ ...base, engine: `tfjs (${tf.getBackend()})`, note: `failed: ${(e as Error).message.split('\n')[0]}` });
          continue;
        }
        rows.push({
          ...base, engine: engine === 'torch' ? `torch (${req.torchDevice})` : `tfjs (${tf.getBackend()})`,
          baselineMs: median(b.learnerMs), vpLearnerMs: median(v.learnerMs), metaMs: median(v.metaMs),
          ...(b.peakBytes !== undefined || v.peakBytes !== undefined ? { peakBytes: Math.max(b.peakBytes ?? 0, v.peakBytes ?? 0) } : {}),
        });
      }
    }
    const text = `Vision overhead: learner and meta steps (median of ${req.steps} timed after ${req.warmup} untimed), V-pretraining at its cadence r\n\n${formatVisionBench(rows)}\n`;
    return { text, report: { rows } };
  },
};

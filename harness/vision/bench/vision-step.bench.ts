/**
 * Vision benchmarks (tinybench): one DINO step (2 global + nLocal local crops) and its parts, measured apart
 * with a device sync after each: host-side crops, teacher targets (forward only), student forward + backward,
 * AdamW update + teacher EMA + centre. Speed targets live here, never in tests.
 *
 *   npx vpt tool vision-step [--suite vision-quick] [--quick] [--batch N]
 */
import * as tf from '@tensorflow/tfjs';
import { Bench } from 'tinybench';
import { parseArgs } from 'node:util';
import { UserError } from '../../errors.js';
import type { TaskServices } from '../../tasks/contract.js';
import { generateScenes } from '../data/scenes.js';
import { selectBackend, type BackendName } from '../../engine/backend.js';
import { Rng } from '../../engine/rng.js';
import { AdamW } from '../../optim/adamw.js';
import { DinoModel } from '../model.js';
import { dinoModelConfig, parseVisionConfig, stageAugment, stageDino, stageOptim, type VisionConfigInput } from '../schema.js';
import { teacherMomentumAt, teacherTargets } from '../dino.js';
import { clsLogits, cropBatch, dinoStep, disposeCrops, studentLoss } from '../trainer.js';
import { makeCrops } from '../augment.js';
import type { Params } from '../vit.js';
import type { VisionSuite } from '../schema.js';

export interface VisionBenchRow {
  name: string;
  meanMs: number;
  p50Ms: number;
  samples: number;
  /** Mean CPU time of this process per call, ms (≈ wall time on an idle core; robust to other load). */
  cpuMs: number;
}

/** A vision suite's model, data and stages (the bench measures vision-quick's by default). */
async function suiteVision(ref: string, services: TaskServices): Promise<VisionConfigInput> {
  const s = await services.loadSuite(ref);
  if (s.task !== 'vision') throw new UserError(`--suite ${ref}: a ${s.task} suite; the DINO step bench needs a vision suite`);
  const suite = s as VisionSuite;
  return { model: suite.model, data: suite.data, base: suite.base, train: suite.train, design: suite.design, eval: suite.eval };
}

export async function runVisionBenchmarks(opts: { backend?: BackendName; quick?: boolean; config: VisionConfigInput }): Promise<{ engine: unknown; rows: VisionBenchRow[] }> {
  const engine = await selectBackend(opts.backend ?? 'wasm');
  const cfg = parseVisionConfig(opts.config);
  const s = cfg.train;
  const aug = stageAugment(s, cfg.model);
  const dino = stageDino(s);
  const scenes = generateScenes(256, cfg.model.imageSize, new Rng(1), 'bench');
  const pool = { n: scenes.n, size: scenes.size, data: scenes.images };
  const model = DinoModel.init(dinoModelConfig(cfg.model), new Rng(2));
  const opt = new AdamW(stageOptim({ ...s, steps: 1000 }), model.student);
  const rng = new Rng(3);
  const idx = Array.from({ length: s.batchSize }, (_, i) => i);
  const crops = cropBatch(pool, idx, aug, rng);
  const names = Object.keys(model.student);
  const shape = `batch ${s.batchSize}, 2×${aug.globalSize}² + ${aug.nLocal}×${aug.localSize}² crops, width ${cfg.model.width}, ${cfg.model.depth} blocks, K ${cfg.model.headOut}`;
  const bench = new Bench({ iterations: opts.quick ? 3 : 8, warmupIterations: 1, time: 0 });
  // CPU time per task alongside tinybench's wall time (a shared machine inflates wall time, not CPU time).
  const cpu = new Map<string, { ms: number; calls: number }>();
  const add = bench.add.bind(bench);
  const timed = (name: string, fn: () => void): void => {
    add(name, () => {
      const c0 = process.cpuUsage();
      fn();
      const c = process.cpuUsage(c0);
      const e = cpu.get(name) ?? { ms: 0, calls: 0 };
      e.ms += (c.user + c.system) / 1000;
      e.calls += 1;
      cpu.set(name, e);
    });
  };
  timed(`DINO step (${shape})`, () => {
    const c = cropBatch(pool, idx, aug, rng);
    const r = dinoStep(model, opt, c, { student: c.global, teacher: c.global }, dino, teacherMomentumAt(dino.teacherMomentum, 10, 100));
    r.loss.dataSync();
    tf.dispose([r.loss, r.gradNorm, r.entropy]);
    disposeCrops(c);
  });
  timed('  host crops and augmentation', () => {
    makeCrops(pool, idx, aug, rng);
  });
  timed('  teacher targets (forward on 2 global views)', () => {
    tf.tidy(() => teacherTargets(clsLogits(model, model.teacher, crops.global), model.center as tf.Tensor as tf.Tensor1D, dino.teacherTemp).dataSync());
  });
  const targets = tf.tidy(() => teacherTargets(clsLogits(model, model.teacher, crops.global), model.center as tf.Tensor as tf.Tensor1D, dino.teacherTemp));
  timed('  student forward + backward (all views)', () => {
    tf.tidy(() => {
      const { grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
        const p: Params = Object.fromEntries(names.map((n, i) => [n, xs[i] as tf.Tensor]));
        return studentLoss(model, p, crops.global, crops.local, targets, crops.B, dino);
      })(names.map((n) => model.student[n] as tf.Tensor));
      grads.forEach((g) => g.dataSync());
    });
  });
  timed('  student forward only (all views)', () => {
    tf.tidy(() => studentLoss(model, model.student, crops.global, crops.local, targets, crops.B, dino).dataSync());
  });
  const zeros = Object.fromEntries(names.map((n) => [n, tf.zerosLike(model.student[n] as tf.Tensor)]));
  timed('  AdamW update + teacher EMA', () => {
    tf.tidy(() => {
      opt.apply(zeros).dispose();
      for (const n of names) {
        const t = model.teacher[n] as tf.Variable;
        t.assign(tf.add(tf.mul(t, 0.996), tf.mul(model.student[n] as tf.Tensor, 0.004)));
      }
    });
    (model.teacher['norm.g'] as tf.Variable).dataSync();
  });
  await bench.run();
  const rows = bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; p50?: number; samplesCount?: number } } | undefined;
    const c = cpu.get(t.name);
    return { name: t.name, meanMs: r?.latency?.mean ?? NaN, p50Ms: r?.latency?.p50 ?? NaN, samples: r?.latency?.samplesCount ?? 0, cpuMs: c ? c.ms / c.calls : NaN };
  });
  tf.dispose([targets, ...Object.values(zeros)]);
  disposeCrops(crops);
  opt.dispose();
  model.dispose();
  return { engine, rows };
}

/** `vpt tool vision-step`: one DINO step and its parts on a vision suite's model. */
export async function runVisionStep(argv: string[], services: TaskServices): Promise<void> {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      suite: { type: 'string', default: 'vision-quick' },
      batch: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) {
    process.stdout.write('usage: vpt tool vision-step [--suite vision-quick] [--quick] [--batch N]\n');
    return;
  }
  const batch = o.batch === undefined ? undefined : Number(o.batch);
  if (batch !== undefined && !(Number.isInteger(batch) && batch > 0)) throw new UserError(`--batch: '${o.batch}' is not a positive integer`);
  const q = await suiteVision(o.suite, services);
  const { engine, rows } = await runVisionBenchmarks({ quick: o.quick, config: batch ? { ...q, train: { ...q.train, batchSize: batch } } : q });
  process.stdout.write(`${JSON.stringify(engine)}\n`);
  for (const r of rows) process.stdout.write(`${r.name.padEnd(100)} wall ${r.meanMs.toFixed(0).padStart(6)} ms (p50 ${r.p50Ms.toFixed(0)}, n ${r.samples})  cpu ${r.cpuMs.toFixed(0).padStart(6)} ms\n`);
}

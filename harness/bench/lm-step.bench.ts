/**
 * Benchmarks (tinybench): learner train step per arm family, the designer meta step, generation, and the
 * decontamination screen of 10,000 stream items. Speed targets live here, never in tests.
 */
import * as tf from '@tensorflow/tfjs';
import { Bench } from 'tinybench';
import { armRegistry } from '../arms/index.js';
import { DesignerRule } from '../arms/designer-arms.js';
import { decontaminateStream } from '../data/decontam.js';
import { packDocs, selectRows } from '../data/pack.js';
import { rowToDoc } from '../data/sources.js';
import { generateEmbedded, DEFAULT_EMBEDDED } from '../data/synth/embedded.js';
import { selectBackend } from '../engine/backend.js';
import { Rng } from '../engine/rng.js';
import { disposeBatch, toTensors } from '../lm/batches.js';
import { LanguageModel } from '../lm/model.js';
import { AdamW } from '../lm/optim.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { learnerStep } from '../lm/trainer.js';
import { parseSuite } from '../suite/define.js';

export interface BenchRow {
  name: string;
  meanMs: number;
  p50Ms: number;
  samples: number;
}

export async function runBenchmarks(opts: { backend?: string; quick?: boolean } = {}): Promise<{ engine: unknown; rows: BenchRow[] }> {
  const engine = await selectBackend(opts.backend as never);
  const suite = parseSuite({ name: 'bench', seeds: [1], arms: [{ arm: 'baseline' }] });
  const d = generateEmbedded({ ...DEFAULT_EMBEDDED, baseSize: 1500, streamSize: 1500, corruptFraction: 0.2 });
  const tok = Tokenizer.build(d.base.map((r) => r.problem + ' ' + r.solution), { maxPieces: suite.model.maxPieces });
  const { maxPieces: _p, maxNumber: _n, ...shape } = suite.model;
  const model = LanguageModel.init({ ...shape, vocabSize: tok.vocabSize }, tok, new Rng(1));
  const rows = packDocs(tok, d.cpt.map(rowToDoc), suite.model.blockSize);
  const batch = toTensors(selectRows(rows, Array.from({ length: suite.train.batchSize }, (_, i) => i)));
  const opt = new AdamW({ ...suite.train, totalSteps: 1000 }, model.vars);
  const feedback = d.train.slice(0, 256);
  const ctx = { model, design: { ...suite.design, burnIn: 0, metaEvery: 1 }, rng: new Rng(2), feedback, steps: 1000 };
  const rules = {
    baseline: armRegistry.get('baseline').create(ctx),
    'self-distill': armRegistry.get('self-distill').create(ctx),
    'v-pretraining': armRegistry.get('v-pretraining').create(ctx) as DesignerRule,
  };
  const iterations = opts.quick ? 3 : 10;
  const bench = new Bench({ iterations, warmupIterations: 2, time: 0 });
  for (const [name, rule] of Object.entries(rules)) {
    bench.add(`learner step (${name} targets), batch ${suite.train.batchSize}×${suite.model.blockSize}`, () => {
      const q = tf.tidy(() => rule.targets(batch, 0));
      const [l, n] = learnerStep(model, opt, batch, q);
      l.dataSync();
      tf.dispose([q, l, n]);
    });
  }
  bench.add('designer meta step (g_down + 2 S-forwards + designer update)', () => {
    rules['v-pretraining'].beforeStep(batch, 0);
  });
  const refs = [...d.train.map((x) => x.question), ...d.test.map((x) => x.question)];
  const stream = Array.from({ length: 10_000 }, (_, i) => (d.cpt[i % d.cpt.length] as { problem: string }).problem + ` item ${i}`);
  bench.add(`decontaminate 10,000 stream items against ${refs.length} references`, () => {
    decontaminateStream(stream, refs, suite.decontamination);
  });
  await bench.run();
  const out: BenchRow[] = bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; p50?: number; samples?: number[] } } | undefined;
    return { name: t.name, meanMs: r?.latency?.mean ?? NaN, p50Ms: r?.latency?.p50 ?? NaN, samples: r?.latency?.samples?.length ?? 0 };
  });
  disposeBatch(batch);
  Object.values(rules).forEach((r) => r.dispose?.());
  opt.dispose();
  model.dispose();
  return { engine, rows: out };
}

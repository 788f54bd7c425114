/**
 * Benchmarks (tinybench): learner train step per arm family, the designer meta step, generation, and the
 * decontamination screen of 10,000 stream items. Speed targets live here, never in tests.
 */
import * as tf from '@tensorflow/tfjs';
import { Bench } from 'tinybench';
import { armRegistry } from '../arms/index.js';
import { DesignerRule } from '../arms/designer-arms.js';
import { decontaminateStream } from '../data/decontam.js';
import { packDocs, padDocs, selectRows } from '../data/pack.js';
import { formatQA } from '../data/numina.js';
import { downstreamGrad } from '../designer/value.js';
import { subsetNames } from '../lm/gpt.js';
import { rowToDoc } from '../data/sources.js';
import { generateEmbedded, DEFAULT_EMBEDDED } from '../data/synth/embedded.js';
import { selectBackend, type BackendName } from '../engine/backend.js';
import { Rng } from '../engine/rng.js';
import { disposeBatch, toTensors } from '../lm/batches.js';
import { LanguageModel } from '../lm/model.js';
import { AdamW } from '../lm/optim.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { learnerStep, viewOf } from '../lm/trainer.js';
import { parseSuite } from '../suite/define.js';
import type { Suite } from '../suite/schema.js';

export interface BenchRow {
  name: string;
  meanMs: number;
  p50Ms: number;
  samples: number;
}

export interface BenchOptions {
  backend?: BackendName;
  /** Fewer iterations. */
  quick?: boolean;
  /** Model, batch and design settings to measure; default the lm-ablation suite's. */
  suite?: Suite;
  /** Decontamination references (question texts); default the embedded train/test problems. */
  references?: string[];
}

export async function runBenchmarks(opts: BenchOptions = {}): Promise<{ engine: unknown; rows: BenchRow[] }> {
  const engine = await selectBackend(opts.backend);
  const suite = opts.suite ?? parseSuite({ name: 'bench', seeds: [1], arms: [{ arm: 'baseline' }] });
  const gen = suite.data.kind === 'embedded' ? (({ kind: _k, ...rest }) => rest)(suite.data) : DEFAULT_EMBEDDED;
  const d = generateEmbedded({ ...gen, baseSize: 1500, streamSize: 1500 });
  // The tokenizer is built as the base stage builds it (from formatted base documents).
  const tok = Tokenizer.build(d.base.map((r) => { const f = rowToDoc(r); return f.prompt + f.answer; }), { maxPieces: suite.model.maxPieces, maxNumber: suite.model.maxNumber });
  const { maxPieces: _p, maxNumber: _n, ...shape } = suite.model;
  const model = LanguageModel.init({ ...shape, vocabSize: tok.vocabSize }, tok, new Rng(1));
  const rows = packDocs(tok, d.cpt.map(rowToDoc), suite.model.blockSize);
  const batch = toTensors(selectRows(rows, Array.from({ length: suite.train.batchSize }, (_, i) => i)));
  const opt = new AdamW({ ...suite.train, totalSteps: 1000 }, model.vars);
  const feedback = d.train.slice(0, 256);
  const ctx = { model, design: { ...suite.design, burnIn: 0, metaEvery: 1 }, rng: new Rng(2), feedback, steps: 1000 };
  const S = `S = last ${suite.design.subsetBlocks} of ${suite.model.nLayer} blocks + head`;
  const rules = {
    baseline: armRegistry.get('baseline').create(ctx),
    'self-distill': armRegistry.get('self-distill').create(ctx),
    'v-pretraining': armRegistry.get('v-pretraining').create(ctx) as DesignerRule,
  };
  const iterations = opts.quick ? 3 : 10;
  const bench = new Bench({ iterations, warmupIterations: 2, time: 0 });
  for (const [name, rule] of Object.entries(rules)) {
    bench.add(`learner step (${name} targets), batch ${suite.train.batchSize}×${suite.model.blockSize}`, () => {
      const q = tf.tidy(() => rule.targets(batch, 0, viewOf(model, batch.ids)));
      const { loss: l, gradNorm: n } = learnerStep(model, opt, batch, { targets: () => q }, 0);
      l.dataSync();
      tf.dispose([q, l, n]);
    });
  }
  bench.add(`designer meta step (g_down on ${suite.design.feedbackBatch} problems, 2 S-forwards, designer update; ${S})`, () => {
    tf.tidy(() => { rules["v-pretraining"].metaStep(batch, 0, viewOf(model, batch.ids, rules["v-pretraining"].hiddenAt)); });
  });
  // The largest part of a meta step: the downstream gradient over S on one feedback batch.
  const fbRows = padDocs(tok, feedback.slice(0, suite.design.feedbackBatch).map((f) => formatQA(f.question, f.answer)));
  const subset = { from: suite.model.nLayer - suite.design.subsetBlocks, names: subsetNames(model.cfg, suite.design.subsetBlocks) };
  bench.add(`  of which g_down (${suite.design.feedbackBatch} feedback problems, ${fbRows.seqLen} tokens each)`, () => {
    const fb = toTensors(fbRows);
    const { loss, grads } = downstreamGrad(model, subset, fb);
    loss.dataSync();
    tf.dispose([loss, ...Object.values(grads)]);
    disposeBatch(fb);
  });
  const refs = opts.references ?? [...d.train.map((x) => x.question), ...d.test.map((x) => x.question)];
  const stream = Array.from({ length: 10_000 }, (_, i) => (d.cpt[i % d.cpt.length] as { problem: string }).problem + ` item ${i}`);
  bench.add(`decontaminate 10,000 stream items against ${refs.length} references`, () => {
    decontaminateStream(stream, refs, suite.decontamination);
  });
  await bench.run();
  const out: BenchRow[] = bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; p50?: number; samplesCount?: number } } | undefined;
    return { name: t.name, meanMs: r?.latency?.mean ?? NaN, p50Ms: r?.latency?.p50 ?? NaN, samples: r?.latency?.samplesCount ?? 0 };
  });
  disposeBatch(batch);
  Object.values(rules).forEach((r) => r.dispose?.());
  opt.dispose();
  model.dispose();
  return { engine, rows: out };
}

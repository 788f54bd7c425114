/**
 * How good the language value estimator's two inputs are on a suite's learner (issue 7's meta-step choices):
 *
 * - D, the directional term of the candidates' logits along ĝ_down, by forward and by central differences at
 *   several ε, as relative L2 error against a Richardson extrapolation of central differences (error O(ε⁴)).
 *   Truncation error grows with ε and float32 rounding as 1/ε, so the best ε is the model's, not a constant.
 * - g_down on a feedback batch of B problems against g_down on the whole feedback pool (the gradient of its mean
 *   answer NLL): cos over random batches for several B, what a smaller feedback batch costs in signal.
 *
 * At the suite's base checkpoint (built into the cache if missing), optionally after `--train N` baseline steps.
 *
 *   npx vpt tool estimator [--suite lm-ablation] [--cache .cache] [--train 0] [--trials 3]
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trimPadding } from '../arms/feedback.js';
import { armRegistry } from '../arms/index.js';
import { topKCandidates } from '../arms/topk.js';
import { splitValidation } from '../data/gsm8k.js';
import { formatQA } from '../data/numina.js';
import { packDocs, padDocs, selectRows, type TokenRows } from '../data/pack.js';
import { loadData } from '../data/sources.js';
import { dot, type Grads } from '../../engine/grads.js';
import { directionalLogits, downstreamGrad, type Subset } from '../designer/value.js';
import { selectBackend } from '../../engine/backend.js';
import { globalNorm } from '../../engine/ops.js';
import { Rng } from '../../engine/rng.js';
import { baseDir, ensureBase } from '../train/base.js';
import { BatchSampler, disposeBatch, toTensors, type BatchTensors } from '../train/batches.js';
import { forwardFrom, hiddenBelow, subsetNames } from '../model/gpt.js';
import { LanguageModel } from '../model/model.js';
import { trainLM } from '../train/trainer.js';
import { describe } from '../../stats.js';
import { REPO_ROOT } from '../../results/version.js';
import type { TaskServices } from '../../tasks/contract.js';
import { UserError } from '../../errors.js';
import type { LanguageSuite } from '../schema.js';

/** Relative L2 error of D at one ε, by each scheme. */
export interface DifferenceError {
  eps: number;
  central: number;
  forward: number;
}

/**
 * D's error by central and forward differences at each ε in `epsList`, against the Richardson reference
 * (4·D_c(h) − D_c(2h))/3 at h = `refEps`, on the answer rows of learner batch `b` with the step's own candidates.
 */
export function differenceErrors(model: LanguageModel, s: Subset, b: BatchTensors, gDown: Grads, topK: number, epsList: readonly number[], refEps = 5e-3): DifferenceError[] {
  const [B, T] = b.ids.shape;
  const hidden = tf.tidy(() => hiddenBelow(model.cfg, model.params, b.ids, s.from));
  const [ids, logits] = tf.tidy(() => {
    const c = topKCandidates(forwardFrom(model.cfg, model.params, hidden, B, T, s.from), b.targets, topK);
    return [c.ids, c.logits];
  });
  const D = (eps: number, forward: boolean): tf.Tensor2D =>
    directionalLogits(model, s, hidden, b.ids, ids, gDown, eps, b.mask, forward ? logits : undefined);
  try {
    return tf.tidy(() => {
      const ref = tf.div(tf.sub(tf.mul(D(refEps, false), 4), D(2 * refEps, false)), 3);
      const refNorm = tf.norm(ref);
      const rel = (x: tf.Tensor): number => tf.div(tf.norm(tf.sub(x, ref)), refNorm).dataSync()[0] as number;
      return epsList.map((eps) => ({ eps, central: rel(D(eps, false)), forward: rel(D(eps, true)) }));
    });
  } finally {
    tf.dispose([hidden, ids, logits]);
  }
}

/** cos(g_down of B problems, g_down of the pool) over random batches. */
export interface Alignment {
  batch: number;
  mean: number;
  sd: number;
  draws: number;
}

function cosine(a: Grads, b: Grads): number {
  return tf.tidy(() => tf.div(dot(a, b), tf.mul(globalNorm(Object.values(a)), globalNorm(Object.values(b)))).dataSync()[0] as number);
}

function gDownOf(model: LanguageModel, s: Subset, rows: TokenRows, idx: number[]): Grads {
  const b = toTensors(trimPadding(selectRows(rows, idx)));
  try {
    const { loss, grads } = downstreamGrad(model, s, b);
    loss.dispose();
    return grads;
  } finally {
    disposeBatch(b);
  }
}

/** The gradient over S of the pool's mean answer NLL: per-chunk gradients weighted by their answer tokens. */
export function poolGradient(model: LanguageModel, s: Subset, rows: TokenRows, chunk = 32): Grads {
  let acc: Grads | undefined;
  let tokens = 0;
  for (let i = 0; i < rows.rows; i += chunk) {
    const idx = Array.from({ length: Math.min(chunk, rows.rows - i) }, (_, k) => i + k);
    const w = selectRows(rows, idx).mask.reduce((a, m) => a + (m !== 0 ? 1 : 0), 0);
    const g = gDownOf(model, s, rows, idx);
    const prev = acc;
    acc = tf.tidy(() => Object.fromEntries(Object.entries(g).map(([k, t]) => [k, prev ? tf.add(prev[k] as tf.Tensor, tf.mul(t, w)) : tf.mul(t, w)])));
    tf.dispose([...Object.values(g), ...(prev ? Object.values(prev) : [])]);
    tokens += w;
  }
  const sum = acc as Grads;
  const out = tf.tidy(() => Object.fromEntries(Object.entries(sum).map(([k, t]) => [k, tf.div(t, tokens)])));
  tf.dispose(Object.values(sum));
  return out;
}

/** cos(g_down(B), g_pool) for each B in `sizes`, over `draws` batches drawn from `rng`. */
export function gDownAlignment(model: LanguageModel, s: Subset, rows: TokenRows, pool: Grads, sizes: readonly number[], draws: number, rng: Rng): Alignment[] {
  return sizes.map((batch) => {
    const cs: number[] = [];
    for (let d = 0; d < draws; d++) {
      const g = gDownOf(model, s, rows, rng.sample(rows.rows, batch));
      cs.push(cosine(g, pool));
      tf.dispose(Object.values(g));
    }
    const { mean, sd } = describe(cs);
    return { batch, mean, sd, draws };
  });
}

const USAGE = `usage: vpt tool estimator [--suite lm-ablation] [--cache <dir>] [--train N] [--trials 3] [--draws 24]
  --suite   language suite (name in suites/ or a path) whose model, design, data and base checkpoint to use
  --cache   cache holding the base checkpoint (built there if missing; default .cache)
  --train   baseline learner steps from the base checkpoint before measuring (default 0)
  --trials  learner batches (each with its own feedback batch) for D's error (default 3)
  --draws   random feedback batches per size B for g_down's alignment (default 24)`;

/** `vpt tool estimator`: D's error by forward and central differences, and g_down's alignment with the pool's. */
export async function runEstimator(argv: string[], services: TaskServices): Promise<void> {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      suite: { type: 'string', default: 'lm-ablation' },
      cache: { type: 'string', default: join(REPO_ROOT, '.cache') },
      train: { type: 'string', default: '0' },
      trials: { type: 'string', default: '3' },
      draws: { type: 'string', default: '24' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const count = (key: 'train' | 'trials' | 'draws'): number => {
    const n = Number(o[key]);
    if (!Number.isInteger(n) || n < 0) throw new UserError(`--${key}: '${o[key]}' is not a whole number`);
    return n;
  };
  const [steps, trials, draws] = [count('train'), count('trials'), count('draws')];
  await selectBackend('wasm');
  const suite = await services.loadSuite(o.suite);
  if (suite.task !== 'language') throw new UserError(`--suite ${o.suite}: a ${suite.task} suite; the estimator check is for language suites`);
  const s = suite as LanguageSuite;
  const data = await loadData(s.data, o.cache);
  await ensureBase(s, data, o.cache, (done, total) => {
    if (done % 50 === 0 || done === total) process.stderr.write(`base stage ${done}/${total}\n`);
  });
  const model = LanguageModel.load(baseDir(s, data, o.cache));
  const subset: Subset = { from: model.cfg.nLayer - s.design.subsetBlocks, names: subsetNames(model.cfg, s.design.subsetBlocks) };
  const rng = new Rng(1);
  const packed = packDocs(model.tokenizer, data.cpt, s.model.blockSize);
  if (steps > 0) {
    const rule = armRegistry.get('baseline').create({ model, design: s.design, rng: rng.fork('arm'), feedback: [], steps });
    await trainLM({ model, rows: packed, steps, batchSize: s.train.batchSize, optim: { ...s.train, totalSteps: steps }, rng: rng.fork('data'), rule, logEvery: steps });
    rule.dispose?.();
  }
  const { pool } = splitValidation(data.train, s.eval.downstream.size);
  const fb = rng.fork('feedback').sample(pool.length, Math.min(s.design.feedbackSize, pool.length)).map((i) => pool[i] as (typeof pool)[number]);
  const rows = padDocs(model.tokenizer, fb.map((f) => formatQA(f.question, f.answer)));
  const out = (line: string): boolean => process.stdout.write(`${line}\n`);
  out(`# value estimator inputs: ${s.name}, base checkpoint${steps ? ` + ${steps} baseline steps` : ''}; S = last ${s.design.subsetBlocks} block(s) + head`);
  out('');
  out(`D (candidate logits along ĝ_down, answer rows, top-${s.design.topK}): relative L2 error against Richardson(central 5e-3, 1e-2); feedback batch ${s.design.feedbackBatch}`);
  out('');
  out('| trial | ε | central | forward |');
  out('| --- | --- | --- | --- |');
  const sampler = new BatchSampler(packed, s.train.batchSize, rng.fork('batches'));
  for (let t = 0; t < trials; t++) {
    const g = gDownOf(model, subset, rows, rng.sample(rows.rows, Math.min(s.design.feedbackBatch, rows.rows)));
    const b = toTensors(sampler.next());
    for (const e of differenceErrors(model, subset, b, g, s.design.topK, [3e-2, 1e-2, 3e-3, 1e-3, 3e-4])) {
      out(`| ${t + 1} | ${e.eps} | ${e.central.toExponential(2)} | ${e.forward.toExponential(2)} |`);
    }
    disposeBatch(b);
    tf.dispose(Object.values(g));
  }
  const g = poolGradient(model, subset, rows);
  out('');
  out(`g_down of B feedback problems against g_down of the whole pool (${rows.rows} problems): cos over ${draws} random batches`);
  out('');
  out('| B | cos mean | sd |');
  out('| --- | --- | --- |');
  for (const a of gDownAlignment(model, subset, rows, g, [4, 8, 16, 32], draws, rng.fork('draws'))) out(`| ${a.batch} | ${a.mean.toFixed(3)} | ${a.sd.toFixed(3)} |`);
  tf.dispose(Object.values(g));
  model.dispose();
}

/**
 * One side of the cross-backend agreement test (../webgpu.test.ts), run in its own process per backend (a
 * process holds one tfjs backend; WebGPU's Dawn device lives and dies with it). Computes, from the same seeds:
 * - on a tiny model: the next-token loss and every parameter's gradient; the value estimator (g_down, the
 *   directional term D, V and ∇_φ V of the designer); one v-pretraining learner step with its meta step (loss,
 *   reported V, parameters after); a few training steps, then greedy decoding and the answer NLL;
 * - the designer and gate arms (v-pretraining, random-feedback, shuffled-feedback, oracle-gate, schedule-matched)
 *   for a few steps of a tiny model through `trainLM`, with meta steps between log points, several designer
 *   steps per meta step and two probe points: losses, diagnostics and the designer, gate and probe curves;
 * - at the quick suite's model size (same parameter count; batch and sequence kept small): loss trajectories
 *   of the baseline and v-pretraining arms over tens of steps through `trainLM`;
 * - tensor counts before and after, to catch leaks.
 * Usage: tsx test/agreement/run.ts <backend> [trajectorySteps]. Prints one line `@@agreement {json}`, or
 * `@@unavailable <reason>` and exits 3 when the backend cannot be had.
 */
import * as tf from '@tensorflow/tfjs';
import { armRegistry } from '../../harness/language/arms/index.js';
import type { ArmContext } from '../../harness/language/arms/types.js';
import { DESIGNER_ARMS, type ArmRun } from './arms.js';
import type { DesignerRule } from '../../harness/language/arms/designer-arms.js';
import { topKCandidates } from '../../harness/language/arms/topk.js';
import { formatQA } from '../../harness/language/data/numina.js';
import { packDocs, padDocs, selectRows } from '../../harness/language/data/pack.js';
import { loadData, rowToDoc } from '../../harness/language/data/sources.js';
import { generateEmbedded } from '../../harness/language/data/synth/embedded.js';
import { LmDesigner } from '../../harness/language/designer/lm-designer.js';
import { directionalLogp, downstreamGrad, valueOfWeights, type Subset } from '../../harness/language/designer/value.js';
import { BackendUnavailableError, selectBackend, type BackendName, type EngineInfo } from '../../harness/engine/backend.js';
import { read, readScalar } from '../../harness/engine/read.js';
import { Rng } from '../../harness/engine/rng.js';
import { settleDevice } from '../../harness/engine/webgpu.js';
import { answerNll } from '../../harness/language/eval/evaluate.js';
import { baseTokenizer } from '../../harness/language/train/base.js';
import { disposeBatch, toTensors } from '../../harness/language/train/batches.js';
import { generateGreedy } from '../../harness/language/model/generate.js';
import { forward, hiddenBelow, initParams, subsetNames, type Params } from '../../harness/language/model/gpt.js';
import { oneHotTargets, softCrossEntropy } from '../../harness/language/model/loss.js';
import { LanguageModel } from '../../harness/language/model/model.js';
import { AdamW } from '../../harness/optim/adamw.js';
import { learnerStep, trainLM } from '../../harness/language/train/trainer.js';
import { loadSuite } from '../../harness/suite/load.js';
import { gptModelOf, type LanguageSuite } from '../../harness/language/schema.js';
import { microSuite, tinyModel } from '../helpers.js';

export const AGREEMENT_PREFIX = '@@agreement ';
/** Printed (exit status 3) when the backend cannot be had: the one-line reason follows. */
export const UNAVAILABLE_PREFIX = '@@unavailable ';

type Named = Record<string, number[]>;

async function values(ts: Record<string, tf.Tensor>): Promise<Named> {
  const out: Named = {};
  for (const [k, t] of Object.entries(ts)) out[k] = Array.from(await read(t));
  return out;
}

const data = generateEmbedded({ seed: 9, trainSize: 8, testSize: 3, baseSize: 1, streamSize: 60, relevantFraction: 0.7, corruptFraction: 0.3, leakFraction: 0 });

/** Loss and gradients of the next-token loss, and the value estimator, on a tiny model (no training). */
async function tinyChecks(): Promise<Record<string, unknown>> {
  const model = tinyModel(4, 3);
  const rows = packDocs(model.tokenizer, data.cpt.map(rowToDoc), 24);
  const b = toTensors(selectRows(rows, [0, 1, 2]));
  const fb = toTensors(padDocs(model.tokenizer, data.train.slice(0, 4).map((x) => formatQA(x.question, x.answer))));
  const designer = new LmDesigner({ vocabSize: model.cfg.vocabSize, blockSize: model.cfg.blockSize, width: 16, layers: 1, heads: 2, alphaMax: 0.5 }, new Rng(8));
  designer.vars['gate.b']!.assign(tf.tensor1d([1]));
  const S: Subset = { from: 1, names: subsetNames(model.cfg, 2) };
  try {
    const names = Object.keys(model.vars);
    const { value, grads } = tf.tidy(() => {
      const f = (...xs: tf.Tensor[]): tf.Scalar => {
        const p: Params = Object.fromEntries(names.map((n, i) => [n, xs[i]!]));
        return softCrossEntropy(forward(model.cfg, p, b.ids), oneHotTargets(b.targets, model.cfg.vocabSize), b.mask);
      };
      const r = tf.valueAndGrads(f)(names.map((n) => model.vars[n]!));
      return { value: r.value, grads: Object.fromEntries(names.map((n, i) => [n, r.grads[i]!])) };
    });
    const loss = await readScalar(value);
    const gradients = await values(grads);
    tf.dispose([value, ...Object.values(grads)]);

    const down = downstreamGrad(model, S, fb);
    const est = tf.tidy(() => {
      const hidden = hiddenBelow(model.cfg, model.params, b.ids, S.from);
      const logits = forward(model.cfg, model.params, b.ids);
      const c = topKCandidates(logits, b.targets, 6);
      const logp = tf.sub(c.logits, tf.logSumExp(logits, -1, true)) as tf.Tensor2D;
      const D = directionalLogp(model, S, hidden, b.ids, c.ids, down.grads, 1e-3, b.mask);
      const dv = Object.keys(designer.vars);
      const r = tf.valueAndGrads((...xs: tf.Tensor[]) => valueOfWeights(designer.apply(Object.fromEntries(dv.map((n, i) => [n, xs[i]!])), b.ids, b.targets, c, logp).weights, D, b.mask))(
        dv.map((n) => designer.vars[n]!),
      );
      return { D, V: r.value, dV: Object.fromEntries(dv.map((n, i) => [n, r.grads[i]!])) };
    });
    const out = {
      loss,
      gradients,
      downLoss: await readScalar(down.loss),
      gDown: await values(down.grads),
      D: Array.from(await read(est.D)),
      value: await readScalar(est.V),
      valueGrad: await values(est.dV),
    };
    tf.dispose([down.loss, ...Object.values(down.grads), est.D, est.V, ...Object.values(est.dV)]);
    return out;
  } finally {
    disposeBatch(b);
    disposeBatch(fb);
    designer.dispose();
    model.dispose();
  }
}

/** One v-pretraining learner step with its meta step, then training, greedy decoding and the answer NLL. */
async function trainerChecks(): Promise<Record<string, unknown>> {
  const model = tinyModel(12);
  const s = microSuite();
  const rows = packDocs(model.tokenizer, data.cpt.map(rowToDoc), 32);
  const rule = armRegistry.get('v-pretraining').create({ model, design: { ...s.design, burnIn: 0, metaEvery: 1, alphaMax: 0.5 }, rng: new Rng(3), feedback: data.train, steps: 1 }) as DesignerRule;
  const opt = new AdamW({ ...s.train, totalSteps: 1 }, model.vars);
  const b = toTensors(selectRows(rows, [0, 1]));
  try {
    const r = learnerStep(model, opt, b, rule, 0);
    const metaLoss = await readScalar(r.loss);
    const metaGradNorm = await readScalar(r.gradNorm);
    tf.dispose([r.loss, r.gradNorm]);
    await rule.sync();
    const metaValue = rule.values[0];
    const afterMeta = await values(model.vars);
    const res = await trainLM({
      model, rows: packDocs(model.tokenizer, data.cpt.map(rowToDoc), 64), steps: 20, batchSize: 8, rng: new Rng(1),
      rule: { targets: (x) => oneHotTargets(x.targets, model.cfg.vocabSize) }, optim: { ...s.train, lr: 5e-3, totalSteps: 20 }, logEvery: 5,
    });
    const nll = await answerNll(model, data.test);
    return { metaLoss, metaGradNorm, metaValue, afterMeta, trainCurve: res.curve.map((p) => p.loss), answerNll: nll.value, generations: await decode() };
  } finally {
    disposeBatch(b);
    opt.dispose();
    rule.dispose?.();
    model.dispose();
  }
}

/**
 * Each designer and gate arm for 7 steps of a tiny model on the labelled stream: a meta step every 2 steps
 * (read only at the log points, every 3 steps), 2 designer steps per meta step, probe points after steps 3 and 6.
 */
async function designerArms(): Promise<Record<string, ArmRun>> {
  const s = microSuite();
  const steps = 7;
  const design = { ...s.design, burnIn: 1, metaEvery: 2, designerSteps: 2, designerLr: 0.05, alphaMax: 0.5, probeBatches: 5, probePoints: 2 };
  const out: Record<string, ArmRun> = {};
  for (const arm of DESIGNER_ARMS) {
    const before = tf.memory().numTensors;
    const model = tinyModel(6);
    const rows = packDocs(model.tokenizer, data.cpt.map(rowToDoc), 32);
    const probeRows = selectRows(rows, Array.from({ length: 10 }, (_, i) => rows.rows - 1 - i));
    const vp = out['v-pretraining'];
    const reads: Partial<ArmContext> = arm === 'schedule-matched' && vp ? { reads: { file: '(v-pretraining on this backend)', record: { curves: { alpha: vp.curves.alpha } } } } : {};
    const rule = armRegistry.get(arm).create({ model, design, rng: new Rng(3), feedback: data.train, steps, probeRows, ...reads });
    try {
      const res = await trainLM({ model, rows, steps, batchSize: 4, rng: new Rng(4), rule, logEvery: 3, optim: { ...s.train, totalSteps: steps } });
      const diagnostics = { ...((await rule.summary?.()) ?? {}) };
      for (const k of ['meta_ms_mean', 'measure_ms']) delete diagnostics[k];
      out[arm] = { losses: res.curve.map((p) => p.loss), diagnostics, curves: (await rule.curves?.()) ?? {}, leaked: 0 };
    } finally {
      rule.dispose?.();
      model.dispose();
    }
    (out[arm] as ArmRun).leaked = tf.memory().numTensors - before;
  }
  return out;
}

/**
 * Greedy decoding (prefill, key/value cache, padding masks, batches of 2 prompts of different lengths) on a
 * random model whose weight matrices are scaled ×30: its logits are far apart, so the argmax is decided by
 * the computation, not by float rounding, and the texts are varied (a briefly trained tiny model repeats one token).
 */
async function decode(): Promise<string[]> {
  const model = tinyModel(13);
  try {
    for (const [k, v] of Object.entries(model.vars)) if (k !== 'wpe' && !k.endsWith('.g') && !/\.b\w*$/.test(k)) v.assign(tf.tidy(() => tf.mul(v, 30)));
    const prompts = [...data.test.map((t) => `Question: ${t.question}\nAnswer:`), 'Question: Hi?\nAnswer:'];
    return await generateGreedy(model, prompts, { maxNewTokens: 24, stop: ['Question:'], batchSize: 2 });
  } finally {
    model.dispose();
  }
}

/** Loss trajectories at the quick suite's model size (its vocabulary, width, depth, heads; short rows, small batch). */
async function trajectories(steps: number): Promise<Record<string, unknown>> {
  const { suite } = await loadSuite('quick');
  const s = suite as LanguageSuite;
  const loaded = await loadData(s.data, '.cache');
  const tok = baseTokenizer(s, loaded, '.cache');
  const m = gptModelOf(s, 'the agreement trajectories');
  const cfg = { vocabSize: tok.vocabSize, blockSize: m.blockSize, nLayer: m.nLayer, nHead: m.nHead, nEmbd: m.nEmbd };
  const rows = packDocs(tok, loaded.cpt, 32);
  const out: Record<string, unknown> = { config: cfg };
  for (const arm of ['baseline', 'v-pretraining']) {
    const model = LanguageModel.fromArrays(cfg, initParams(cfg, new Rng(5)), tok);
    out.params = Object.values(model.vars).reduce((a, v) => a + v.size, 0);
    const rule = armRegistry.get(arm).create({
      model, design: { ...s.design, burnIn: 2, metaEvery: 4, feedbackBatch: 4, probeBatches: 0 }, rng: new Rng(6), feedback: loaded.train.slice(0, 16), steps,
    });
    try {
      const t0 = performance.now();
      const stepMs: number[] = [];
      const tensors: number[] = [];
      let last = performance.now();
      const res = await trainLM({
        model, rows, steps, batchSize: 4, rng: new Rng(7), rule, logEvery: 1, optim: { ...s.train, totalSteps: steps },
        onLog: () => {
          const now = performance.now();
          stepMs.push(now - last);
          tensors.push(tf.memory().numTensors);
          last = now;
        },
      });
      out[arm] = {
        losses: res.curve.map((p) => p.loss),
        gradNorms: res.curve.map((p) => p.gradNorm),
        msPerStep: (performance.now() - t0) / steps,
        stepMs,
        tensors,
        tokensPerSecond: res.tokensPerSecond,
        ...(arm === 'v-pretraining' ? { values: (rule as DesignerRule).values } : {}),
      };
    } finally {
      rule.dispose?.();
      model.dispose();
    }
  }
  return out;
}

async function main(): Promise<void> {
  const backend = process.argv[2] as BackendName;
  const steps = Number(process.argv[3] ?? 20);
  let engine: EngineInfo;
  try {
    engine = await selectBackend(backend);
  } catch (e) {
    if (!(e instanceof BackendUnavailableError)) throw e;
    process.stdout.write(`${UNAVAILABLE_PREFIX}${e.message}\n`);
    process.exit(3);
  }
  const t0 = performance.now();
  const before = tf.memory().numTensors;
  const tiny = await tinyChecks();
  const t1 = performance.now();
  const trainer = await trainerChecks();
  const t2 = performance.now();
  const after = tf.memory().numTensors;
  const arms = await designerArms();
  const t3 = performance.now();
  const traj = steps > 0 ? await trajectories(steps) : undefined;
  await settleDevice();
  const ms = { tiny: t1 - t0, trainer: t2 - t1, designerArms: t3 - t2, trajectories: performance.now() - t3 };
  const out = { engine, tiny, trainer, designerArms: arms, trajectories: traj, tensors: { before, after, end: tf.memory().numTensors }, ms };
  process.stdout.write(`${AGREEMENT_PREFIX}${JSON.stringify(out)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

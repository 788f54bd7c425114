/**
 * The language task designer φ (METHOD.md §3): a small causal transformer of its own reads the context; with
 * the embedding of the true next token it forms a query u_t; candidate scores are u_t·E[c] plus a learned
 * weight on the learner's detached candidate log-probability and a bonus for the true token; the gate is
 * α_t = α_max·sigmoid(g·u_t + b). It outputs, per position, the candidate weights of
 * q_t = (1 − α_t)·onehot(w_t) + α_t·softmax(scores). Float32 throughout.
 * Options for a fair test of the designer (issue 24), each off by default: r over C_t without w_t
 * (`rSupport: 'others'`), an initial true-token bonus (`trueScoreInit`), gate features read from the learner (its
 * detached log-probability of w_t and entropy: a departure from the paper) and, as a diagnostic only, the
 * generator's wrong-token label as a gate input whose weight V trains.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../engine/rng.js';
import { candidateScores, embed, layerNorm, linear, matMul2d } from '../../engine/ops.js';
import { embedTokens, initParams, runBlocks, type GptConfig, type Params } from '../model/gpt.js';
import { mixWeights, type Candidates } from '../arms/topk.js';
import type { DesignConfig } from '../schema.js';

export interface DesignerShape {
  vocabSize: number;
  blockSize: number;
  width: number;
  layers: number;
  heads: number;
  alphaMax: number;
  /** r over C_t ('candidates', the paper's) or over C_t without w_t ('others'). Default 'candidates'. */
  rSupport?: 'candidates' | 'others';
  /** Initial `score.true`. Default 0. */
  trueScoreInit?: number;
  /** The gate reads log p_θ(w_t) and the learner's entropy (weights `gate.feat`). */
  gateFeatures?: boolean;
  /** The gate reads the generator's wrong-token label (weight `gate.label`, starting at 0). */
  labelFeature?: boolean;
}

/** What the gate reads besides the context, per position [N]: the learner's entropy and the wrong-token labels. */
export interface GateInputs {
  entropy?: tf.Tensor1D;
  wrong?: tf.Tensor1D;
}

/** Added to w_t's score when r spans the other candidates only: its softmax weight is exactly 0 in float32. */
const EXCLUDED = -1e9;

export interface DesignerOutput {
  /** [N, K] candidate weights of q (rows sum to 1; column 0 is the true token). */
  weights: tf.Tensor2D;
  /** [N] gate α_t. */
  alpha: tf.Tensor1D;
  /** [N, K] the designer's distribution r over the candidates. */
  r: tf.Tensor2D;
}

/** The designer's shape from a cell's design keys, for a learner of `vocabSize` tokens and rows of `blockSize`. */
export function designerShapeOf(d: DesignConfig, vocabSize: number, blockSize: number): DesignerShape {
  return {
    vocabSize, blockSize, width: d.designerWidth, layers: d.designerLayers, heads: d.designerHeads, alphaMax: d.alphaMax,
    ...(d.rSupport ? { rSupport: d.rSupport } : {}), ...(d.trueScoreInit !== undefined ? { trueScoreInit: d.trueScoreInit } : {}),
    ...(d.gateFeatures ? { gateFeatures: true } : {}), ...(d.labelFeature ? { labelFeature: true } : {}),
  };
}

export class LmDesigner {
  readonly vars: Record<string, tf.Variable> = {};
  private readonly trunk: GptConfig;

  constructor(readonly shape: DesignerShape, rng: Rng) {
    this.trunk = { vocabSize: shape.vocabSize, blockSize: shape.blockSize, nLayer: shape.layers, nHead: shape.heads, nEmbd: shape.width };
    const d = shape.width;
    const init = initParams(this.trunk, rng.fork('trunk'));
    delete init['head.w'];
    // Built inside tidy: tf.variable(t) does not release t, so each initial tensor would outlive the designer.
    tf.tidy(() => {
      for (const [k, v] of Object.entries(init)) this.vars[k] = tf.variable(tf.tensor(v.data, v.shape));
      const normal = (shape: number[], std: number): tf.Variable =>
        tf.variable(tf.tensor(rng.normals(shape.reduce((a, b) => a * b, 1), std), shape));
      this.vars['query.ctx'] = normal([d, d], 1 / Math.sqrt(d));
      this.vars['query.next'] = normal([d, d], 1 / Math.sqrt(d));
      this.vars['query.b'] = tf.variable(tf.zeros([d]));
      this.vars['score.logp'] = tf.variable(tf.scalar(1));
      this.vars['score.true'] = tf.variable(tf.scalar(shape.trueScoreInit ?? 0));
      this.vars['gate.w'] = normal([d, 1], 0.01);
      // Drawn after every paper parameter, so the options leave the paper designer's initial draws as they were.
      if (shape.gateFeatures) this.vars['gate.feat'] = normal([2, 1], 0.01);
      if (shape.labelFeature) this.vars['gate.label'] = tf.variable(tf.scalar(0));
      // Start with a small gate (α ≈ 0.12·α_max): the designer must earn any departure from one-hot.
      this.vars['gate.b'] = tf.variable(tf.tensor1d([-2]));
    });
  }

  /**
   * Candidate weights and gate. `logp` [N, K] are the learner's detached candidate log-probabilities; `gate` what the
   * gate's optional inputs read (required when the shape asks for them).
   */
  apply(params: Params, ids: tf.Tensor2D, targets: tf.Tensor1D, c: Candidates, logp: tf.Tensor2D, gate: GateInputs = {}): DesignerOutput {
    const [B, T] = ids.shape;
    const p = (n: string): tf.Tensor => params[n] as tf.Tensor;
    const h = runBlocks(this.trunk, params, embedTokens(this.trunk, params, ids), B, T, 0, this.trunk.nLayer);
    const ctx = layerNorm(h, p('ln_f.g') as tf.Tensor1D, p('ln_f.b') as tf.Tensor1D);
    const next = embed(targets, p('wte') as tf.Tensor2D);
    const u = tf.tanh(tf.add(tf.add(matMul2d(ctx, p('query.ctx') as tf.Tensor2D), matMul2d(next, p('query.next') as tf.Tensor2D)), p('query.b'))) as tf.Tensor2D;
    const K = c.ids.shape[1];
    const picked = candidateScores(u, p('wte') as tf.Tensor2D, c.ids);
    const isTrue = tf.concat([tf.ones([1, 1]), tf.zeros([1, K - 1])], 1);
    let scores = tf.add(tf.add(picked, tf.mul(logp, p('score.logp'))), tf.mul(isTrue, p('score.true')));
    if (this.shape.rSupport === 'others') scores = tf.add(scores, tf.mul(isTrue, EXCLUDED));
    let z = linear(u, p('gate.w') as tf.Tensor2D, p('gate.b') as tf.Tensor1D);
    if (this.shape.gateFeatures) {
      if (!gate.entropy) throw new Error('the designer\'s gate features need the learner\'s entropy');
      const feats = tf.stack([tf.squeeze(tf.slice(logp, [0, 0], [-1, 1]), [1]), gate.entropy], 1) as tf.Tensor2D;
      z = tf.add(z, matMul2d(feats, p('gate.feat') as tf.Tensor2D));
    }
    if (this.shape.labelFeature) {
      if (!gate.wrong) throw new Error('the labels-as-feature designer needs the wrong-token labels');
      z = tf.add(z, tf.mul(gate.wrong.expandDims(1), p('gate.label')));
    }
    const alpha = tf.mul(tf.sigmoid(z), this.shape.alphaMax).reshape([-1]) as tf.Tensor1D;
    const r = tf.softmax(scores) as tf.Tensor2D;
    return { weights: mixWeights(alpha, r), alpha, r };
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
  }
}

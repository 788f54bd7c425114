/**
 * The paper's language setting, LoRA branch (v2: wall-clock matched): Qwen2.5-0.5B continued on NuminaMath-CoT with
 * 1,024 GSM8K train problems as feedback, GSM8K test Pass@1, on the torch engine on a GPU runner. The full-parameter
 * branch is suites/paper-lm-full.suite.ts. Files come from the user: give their folder as VPT_PAPER_DATA (default
 * data/paper under the checkout) or each path with --set (e.g. --set model.path=/models/Qwen2.5-0.5B); `vpt validate
 * paper-lm` lists what is missing and where to get it.
 *
 * The paper's LoRA settings: r 8, α 16, dropout 0.05 on q, k, v, o, gate, up and down; student lr 2e-4, designer lr
 * 1e-4; batch 4 × accum 8; at most 2,000 steps; sequence 1024 (pretraining); K = 64, α_max = 0.5; a meta step every
 * 8 steps; alignment on the last 2 LoRA layers; the designer a 6-layer, width-256, 4-head decoder in float32.
 * Where vpt departs: the paper's downstream and meta sequences (512 / 256) are not cut here (feedback problems are
 * whole, up to ~540 Qwen tokens; the meta step reads the learner's own batch at 1024), and the learning-rate warmup
 * and schedule (unstated for LoRA) are the full-parameter branch's (3% warmup, cosine to 10%).
 *
 * Other models (Qwen1.5-0.5B/4B/7B): --set model.path=<folder>, as in the commented variants at the end.
 */
import { join } from 'node:path';
import { defineSuite } from '../harness/suite/define.js';

const ROOT = process.env.VPT_PAPER_DATA ?? 'data/paper';
const STEPS = 2000;

export const PAPER_DATA = {
  kind: 'files',
  gsm8kTrain: join(ROOT, 'gsm8k', 'train.jsonl'),
  gsm8kTest: join(ROOT, 'gsm8k', 'test.jsonl'),
  cptStream: join(ROOT, 'numina-cot', 'train.parquet'),
  mathTest: join(ROOT, 'math', 'test.jsonl'),
} as const;

/** What to get for each input (shown for a missing one). */
export const PAPER_REQUIRES = {
  'data.gsm8kTrain': 'GSM8K train (huggingface.co/datasets/openai/gsm8k, config "main", split train, as JSONL with question and answer)',
  'data.gsm8kTest': 'GSM8K test (huggingface.co/datasets/openai/gsm8k, config "main", split test, as JSONL)',
  'data.cptStream': 'NuminaMath-CoT (huggingface.co/datasets/AI-MO/NuminaMath-CoT, split train, parquet or JSONL with problem and solution)',
  'data.mathTest': 'the MATH test set (huggingface.co/datasets/hendrycks/competition_math, split test, JSONL with problem), for decontamination',
  'model.path': 'Qwen2.5-0.5B (huggingface.co/Qwen/Qwen2.5-0.5B: config.json, model.safetensors, tokenizer.json, tokenizer_config.json)',
};

export default defineSuite({
  name: 'paper-lm',
  description: "the paper's LoRA branch: Qwen2.5-0.5B on NuminaMath-CoT, 1,024 GSM8K feedback problems, GSM8K Pass@1 (torch engine, GPU)",
  seeds: [1],
  trainer: 'torch',
  torch: { device: 'cuda', dtype: 'bfloat16' },
  requires: PAPER_REQUIRES,
  data: PAPER_DATA,
  model: {
    kind: 'hf',
    path: join(ROOT, 'models', 'Qwen2.5-0.5B'),
    blockSize: 1024,
    trainable: { lora: { r: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] } },
  },
  train: { steps: STEPS, batchSize: 4, accum: 8, lr: 2e-4, warmupSteps: Math.round(0.03 * STEPS), minLrRatio: 0.1, weightDecay: 0, gradClip: 1, logEvery: 50 },
  design: {
    topK: 64, alphaMax: 0.5, metaEvery: 8, burnIn: 8, subsetBlocks: 2, feedbackSize: 1024, feedbackBatch: 8,
    designerWidth: 256, designerLayers: 6, designerHeads: 4, designerLr: 1e-4, designerSteps: 1, probeBatches: 8, probePoints: 4,
  },
  // lm-evaluation-harness's gsm8k: 5-shot from train (seeded), "Question: …\nAnswer:", strict and flexible extraction.
  eval: { gsm8k: { numFewshot: 5, fewshotSeed: 1234, maxNewTokens: 256 }, downstream: { size: 64 } },
  // v2: every arm gets the time V-pretraining needs for its 2,000 updates (the baseline takes more steps).
  budget: { kind: 'matched', arm: 'v-pretraining' },
  arms: [
    { arm: 'baseline' },
    { arm: 'v-pretraining' },
    { arm: 'random-feedback' },
    { arm: 'uniform-topk' },
    { arm: 'self-distill' },
    { arm: 'baseline', id: 'baseline@updates', budget: { kind: 'updates' } },
  ],
});

// Other models of the paper (each: --set model.path=<folder>, and the row's name with --set name=...):
//   Qwen1.5-0.5B: huggingface.co/Qwen/Qwen1.5-0.5B   (--set name=paper-lm-qwen15-05b)
//   Qwen1.5-4B:   huggingface.co/Qwen/Qwen1.5-4B     (--set name=paper-lm-qwen15-4b)
//   Qwen1.5-7B:   huggingface.co/Qwen/Qwen1.5-7B     (--set name=paper-lm-qwen15-7b; on 2 GPUs: --set torch.nproc=2)

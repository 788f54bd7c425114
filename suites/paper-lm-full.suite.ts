/**
 * The paper's language setting, full-parameter branch: Qwen2.5-0.5B, lr 1.5e-5, microbatch 4 × grad-accum 32,
 * sequence 512, 2 epochs, warmup ratio 0.03, weight decay 0, max grad norm 1.0, bf16 (suites/paper-lm.suite.ts has
 * the data, the LoRA branch and what departs from the paper). `train.steps` is two epochs of the packed
 * NuminaMath-CoT stream at 4 × 32 rows of 512 tokens: set it from your copy's size (vpt validate prints the row
 * count), e.g. --set train.steps=<2 × rows ÷ 128>.
 */
import { join } from 'node:path';
import { defineSuite } from '../harness/suite/define.js';
import lora, { PAPER_DATA, PAPER_REQUIRES } from './paper-lm.suite.js';

const STEPS = 6000;

export default defineSuite({
  ...lora,
  name: 'paper-lm-full',
  description: "the paper's full-parameter branch: Qwen2.5-0.5B on NuminaMath-CoT, 2 epochs, GSM8K Pass@1 (torch engine, GPU)",
  requires: PAPER_REQUIRES,
  data: PAPER_DATA,
  model: { kind: 'hf', path: join(process.env.VPT_PAPER_DATA ?? 'data/paper', 'models', 'Qwen2.5-0.5B'), blockSize: 512, trainable: 'full' },
  train: { steps: STEPS, batchSize: 4, accum: 32, lr: 1.5e-5, warmupSteps: Math.round(0.03 * STEPS), minLrRatio: 0.1, weightDecay: 0, gradClip: 1, logEvery: 50 },
});

/**
 * GSM8K Pass@1 with lm-evaluation-harness gsm8k semantics on a frozen model: "Question: …\nAnswer:" prompts,
 * k-shot examples from the train split chosen with a recorded seed (joined by blank lines), greedy decoding
 * with lm-eval's stop strings, strict-match and flexible-extract filters, exact_match scoring; plus the
 * teacher-forced answer NLL of the gold solutions.
 */
import type { MetricValue } from '../../results/schema.js';
import * as tf from '@tensorflow/tfjs';
import { read } from '../../engine/read.js';
import { Rng } from '../../engine/rng.js';
import type { Gsm8kItem } from '../data/gsm8k.js';
import { formatQA } from '../data/numina.js';
import { padDocs, selectRows } from '../data/pack.js';
import { disposeBatch, toTensors } from '../train/batches.js';
import { forward } from '../model/gpt.js';
import { generateGreedy, GSM8K_STOP } from '../model/generate.js';
import type { LanguageModel } from '../model/model.js';
import { exactMatch, extract, FILTERS, type FilterName } from './extract.js';

/** Bumped whenever prompt, extraction or scoring changes: results of different versions are incomparable. */
export const GSM8K_EVAL_VERSION = 1;

/** GSM8K evaluation settings. */
export interface Gsm8kEvalConfig {
  /** Few-shot examples per prompt (lm-eval uses 5; tiny contexts need fewer). Default 0. */
  numFewshot: number;
  /** Seed for few-shot choice. Default 1234 (lm-eval's). */
  fewshotSeed: number;
  /** Generated tokens per problem. Default 96. */
  maxNewTokens: number;
  /** Evaluate only the first N test problems (0 = all). Default 0. */
  limit: number;
}

export interface Gsm8kSample {
  index: number;
  question: string;
  gold: string;
  generation: string;
  extracted: Record<FilterName, string>;
  correct: Record<FilterName, boolean>;
}

export interface Gsm8kResult {
  metrics: Record<string, MetricValue>;
  samples: Gsm8kSample[];
}

export function buildPrompt(item: Gsm8kItem, shots: readonly Gsm8kItem[]): string {
  const parts = shots.map((s) => {
    const f = formatQA(s.question, s.answer);
    return f.prompt + f.answer;
  });
  parts.push(formatQA(item.question, item.answer).prompt);
  return parts.join('\n\n');
}

/** Few-shot examples per test item: a fresh sample of k train items, seeded by (fewshotSeed, item index). */
export function chooseShots(train: readonly Gsm8kItem[], k: number, seed: number, index: number): Gsm8kItem[] {
  if (k === 0) return [];
  return new Rng(seed).fork(`shot-${index}`).sample(train.length, k).map((i) => train[i] as Gsm8kItem);
}

function meanMetric(xs: readonly number[]): MetricValue {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const variance = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { value: mean, stderr: Math.sqrt(variance / Math.max(1, n)), n };
}

/** Teacher-forced NLL per answer token of the gold solutions, and its standard error over problems. */
export async function answerNll(model: LanguageModel, items: readonly Gsm8kItem[], batchSize = 32): Promise<MetricValue> {
  const docs = items.map((it) => formatQA(it.question, it.answer));
  const rows = padDocs(model.tokenizer, docs);
  if (rows.seqLen > model.cfg.blockSize) throw new Error(`a test problem has ${rows.seqLen} tokens, more than blockSize ${model.cfg.blockSize}`);
  const perItem: number[] = [];
  let sum = 0;
  let count = 0;
  for (let s = 0; s < rows.rows; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, rows.rows - s) }, (_, i) => s + i);
    const b = toTensors(selectRows(rows, idx));
    const sums = tf.tidy(() => {
      const logp = tf.logSoftmax(forward(model.cfg, model.params, b.ids));
      const picked = tf.sum(tf.mul(logp, tf.oneHot(b.targets, logp.shape[1]).toFloat()), -1);
      const nll = tf.mul(tf.neg(picked), b.mask).reshape([idx.length, rows.seqLen]);
      return tf.stack([tf.sum(nll, -1), tf.sum(b.mask.reshape([idx.length, rows.seqLen]), -1)]);
    });
    disposeBatch(b);
    const both = await read(sums).finally(() => sums.dispose());
    const nllSum = both.subarray(0, idx.length);
    const cnt = both.subarray(idx.length);
    idx.forEach((_, i) => {
      perItem.push((nllSum[i] as number) / Math.max(1, cnt[i] as number));
      sum += nllSum[i] as number;
      count += cnt[i] as number;
    });
  }
  return nllMetric(perItem, sum, count);
}

/** Answer NLL over a set: per answer token over the whole set; the stderr from the per-problem spread. */
export function nllMetric(perItem: readonly number[], sum: number, count: number): MetricValue {
  return { ...meanMetric(perItem), value: sum / Math.max(1, count) };
}

/** The evaluated test items (the first `limit`) and their prompts, few-shot examples chosen per item by seed. */
export function gsm8kPrompts(test: readonly Gsm8kItem[], train: readonly Gsm8kItem[], cfg: Gsm8kEvalConfig): { items: Gsm8kItem[]; prompts: string[] } {
  const items = cfg.limit > 0 ? test.slice(0, cfg.limit) : [...test];
  return { items, prompts: items.map((it, i) => buildPrompt(it, chooseShots(train, cfg.numFewshot, cfg.fewshotSeed, i))) };
}

/** Each generation scored by every filter (lm-eval gsm8k semantics), and Pass@1 per filter. */
export function scoreGenerations(items: readonly Gsm8kItem[], gens: readonly string[]): { samples: Gsm8kSample[]; metrics: Record<string, MetricValue> } {
  const samples: Gsm8kSample[] = items.map((it, i) => {
    const generation = gens[i] as string;
    const extracted = {} as Record<FilterName, string>;
    const correct = {} as Record<FilterName, boolean>;
    for (const f of FILTERS) {
      extracted[f] = extract(f, generation);
      correct[f] = exactMatch(extracted[f], it.answer);
    }
    return { index: i, question: it.question, gold: it.answer, generation, extracted, correct };
  });
  const metrics: Record<string, MetricValue> = {};
  for (const f of FILTERS) metrics[`pass@1,${f}`] = meanMetric(samples.map((s) => (s.correct[f] ? 1 : 0)));
  return { samples, metrics };
}

export async function evaluateGsm8k(
  model: LanguageModel,
  test: readonly Gsm8kItem[],
  train: readonly Gsm8kItem[],
  cfg: Gsm8kEvalConfig,
): Promise<Gsm8kResult> {
  const { items, prompts } = gsm8kPrompts(test, train, cfg);
  const gens = await generateGreedy(model, prompts, { maxNewTokens: cfg.maxNewTokens, stop: GSM8K_STOP });
  const { samples, metrics } = scoreGenerations(items, gens);
  metrics['answer_nll,none'] = await answerNll(model, items);
  return { metrics, samples };
}

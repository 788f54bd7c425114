/**
 * The base-pretraining stage: tokenizer + GPT trained on the base stream, cached by config hash under
 * `<cache>/base/<hash>/` so every arm and seed continues from the same checkpoint. The base model is also
 * evaluated once, giving the reference row the arms are compared with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../engine/rng.js';
import type { LoadedData } from '../data/sources.js';
import { packDocs } from '../data/pack.js';
import { evaluateGsm8k, GSM8K_EVAL_VERSION } from '../eval/evaluate.js';
import type { MetricValue } from '../../results/schema.js';
import { LanguageModel } from '../model/model.js';
import { Tokenizer } from '../model/tokenizer.js';
import { trainShardedLM } from './sharded.js';
import type { CurvePoint } from './trainer.js';
import { writeJsonAtomic } from '../../results/atomic.js';
import { configHash } from '../../suite/hash.js';
import { gptModelOf, isHfModel, type LanguageSuite } from '../schema.js';
import { checkpointFingerprint } from '../model/hf-checkpoint.js';
import { HfTokenizer } from '../model/hf-tokenizer.js';
import type { TextTokenizer } from '../model/text-tokenizer.js';

export interface BaseInfo {
  hash: string;
  metrics: Record<string, MetricValue>;
  curve: CurvePoint[];
  msPerStep: number;
}

export function baseHash(s: LanguageSuite, data: LoadedData): string {
  // A pretrained decoder is its own base checkpoint.
  if (isHfModel(s.model)) return checkpointFingerprint(s.model.path);
  // Only what the base stage reads: its stream, and the GSM8K files its reference evaluation uses. Suites
  // that differ only in the continued-pretraining stream (clean vs noisy) share one base checkpoint.
  const { baseStream, gsm8kTrain, gsm8kTest } = data.hashes;
  // v2: batches trained as two summed shards (./sharded.ts), a different summation order from v1. Of the eval
  // settings only GSM8K's matter: the base stage evaluates nothing else.
  return configHash({ v: 2, model: s.model, base: s.base, data: { baseStream, gsm8kTrain, gsm8kTest }, eval: s.eval.gsm8k, evalVersion: GSM8K_EVAL_VERSION });
}

export function baseDir(s: LanguageSuite, data: LoadedData, cacheDir: string): string {
  if (isHfModel(s.model)) return s.model.path;
  return join(cacheDir, 'base', baseHash(s, data));
}

export function readBase(s: LanguageSuite, data: LoadedData, cacheDir: string): BaseInfo | undefined {
  // A pretrained decoder has no base stage (and no base-checkpoint row of its own yet).
  if (isHfModel(s.model)) return { hash: baseHash(s, data), metrics: {}, curve: [], msPerStep: 0 };
  const dir = baseDir(s, data, cacheDir);
  const f = join(dir, 'base.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as BaseInfo) : undefined;
}

/**
 * The tokenizer of the base checkpoint: a pretrained decoder's tokenizer.json; for the vpt GPT the cached
 * checkpoint's, or built from the base stream as the stage would.
 */
export function baseTokenizer(s: LanguageSuite, data: LoadedData, cacheDir: string): TextTokenizer {
  if (isHfModel(s.model)) return HfTokenizer.load(s.model.tokenizer ?? s.model.path);
  const cached = join(baseDir(s, data, cacheDir), 'tokenizer.json');
  if (existsSync(cached)) return Tokenizer.load(cached);
  const m = gptModelOf(s, 'the base stage');
  return Tokenizer.build(
    data.base.map((d) => d.prompt + d.answer),
    { maxPieces: m.maxPieces, maxNumber: m.maxNumber },
  );
}

export async function ensureBase(
  s: LanguageSuite,
  data: LoadedData,
  cacheDir: string,
  onStep?: (done: number, total: number) => void,
): Promise<BaseInfo> {
  const have = readBase(s, data, cacheDir);
  if (have) return have;
  const dir = baseDir(s, data, cacheDir);
  const tok = baseTokenizer(s, data, cacheDir);
  const { maxPieces: _p, maxNumber: _n, ...shape } = gptModelOf(s, 'the base stage');
  const rng = new Rng(s.base.seed);
  const model = LanguageModel.init({ ...shape, vocabSize: tok.vocabSize }, tok, rng.fork('init'));
  try {
    const rows = packDocs(tok, data.base, s.model.blockSize);
    // Both cores: each batch's second half runs on a worker thread (same numbers with or without it).
    const res = await trainShardedLM({
      model,
      rows,
      steps: s.base.steps,
      batchSize: s.base.batchSize,
      optim: { ...s.base, totalSteps: s.base.steps },
      rng: rng.fork('data'),
      logEvery: s.base.logEvery,
      onLog: (p) => onStep?.(p.step + 1, s.base.steps),
    });
    const ev = await evaluateGsm8k(model, data.test, data.train, s.eval.gsm8k);
    await model.save(dir, { stage: 'base', hash: baseHash(s, data) });
    const info: BaseInfo = { hash: baseHash(s, data), metrics: ev.metrics, curve: res.curve, msPerStep: res.msPerStep };
    writeJsonAtomic(join(dir, 'base.json'), info);
    return info;
  } finally {
    model.dispose();
  }
}

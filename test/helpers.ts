/** Shared test fixtures: a micro suite, a tiny model, the real data in ../shared/data (when present). */
import * as tf from '@tensorflow/tfjs';
import { execa } from 'execa';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { selectBackend } from '../harness/engine/backend.js';
import { Rng } from '../harness/engine/rng.js';
import { LanguageModel } from '../harness/language/model/model.js';
import { Tokenizer } from '../harness/language/model/tokenizer.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { formatQA } from '../harness/language/data/numina.js';
import { languageSuite, parseSuite } from '../harness/suite/define.js';
import type { LanguageSuite, LanguageSuiteInput } from '../harness/language/schema.js';
import { REPO_ROOT } from '../harness/results/version.js';
import { probeTorchEngine } from '../harness/trainer/python.js';

/**
 * Real data nobody here wrote (GSM8K, MATH, samples of ADE20K, NYUv2, ImageNet): `../shared/data` beside the
 * checkout, or the folder `VPT_SHARED_DATA` names. A fresh clone has none, so tests reach it only through
 * `sharedData`, which skips a test whose files are absent instead of failing it.
 */
const SHARED_ROOT = resolve(process.env.VPT_SHARED_DATA ?? join(REPO_ROOT, '..', 'shared', 'data'));

/** What a skipped real-data test's title ends with (the fresh-clone check in .ci/run looks for it). */
export const SKIP_MARK = '[skipped: no real data:';

/**
 * The real-data root, when every path a test needs (relative to it) exists; otherwise the test is skipped and its
 * title says which files are missing. Call it inside the test body (a `function () {}`, for `this`), never at
 * describe time: a file that reads data while it loads stops mocha from loading any test.
 */
export function sharedData(ctx: Mocha.Context, ...paths: string[]): string {
  const missing = paths.filter((p) => !existsSync(join(SHARED_ROOT, p)));
  if (missing.length === 0) return SHARED_ROOT;
  const test = ctx.test;
  if (test) test.title += ` ${SKIP_MARK} ${missing.map((p) => join(SHARED_ROOT, p)).join(', ')} missing]`;
  ctx.skip();
}

export async function useWasm(): Promise<void> {
  await selectBackend('wasm');
}

export function tmp(prefix = 'vpt-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const MICRO_DATA = { kind: 'embedded' as const, trainSize: 64, testSize: 8, baseSize: 200, streamSize: 240, corruptFraction: 0.3 };

/** A suite small enough for tests: seconds per cell. */
export function microSuite(over: Partial<LanguageSuiteInput> = {}): LanguageSuite {
  return languageSuite(parseSuite({
    name: 'micro',
    seeds: [1],
    data: MICRO_DATA,
    model: { nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 128, maxPieces: 256 },
    base: { steps: 4, batchSize: 4, logEvery: 2 },
    train: { steps: 4, batchSize: 4, warmupSteps: 1, logEvery: 2 },
    design: { topK: 4, metaEvery: 2, burnIn: 1, feedbackSize: 16, feedbackBatch: 4, designerWidth: 16, probeBatches: 2 },
    eval: { gsm8k: { limit: 4, maxNewTokens: 8 } },
    arms: [{ arm: 'baseline' }],
    ...over,
  }), 'microSuite');
}

/** A tiny randomly initialised LM and a tokenizer built from generated text. */
export function tinyModel(seed = 1, nLayer = 2): LanguageModel {
  const d = generateEmbedded({ seed: 7, trainSize: 8, testSize: 4, baseSize: 60, streamSize: 10, relevantFraction: 0.7, corruptFraction: 0, leakFraction: 0 });
  const tok = Tokenizer.build(d.base.map((r) => { const f = formatQA(r.problem, r.solution); return f.prompt + f.answer; }), { maxPieces: 256, maxNumber: 200, minCount: 1 });
  return LanguageModel.init({ vocabSize: tok.vocabSize, blockSize: 128, nLayer, nHead: 2, nEmbd: 16 }, tok, new Rng(seed));
}

export function arraysEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function snapshot(vars: Record<string, tf.Tensor>): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(vars)) out[k] = v.dataSync() as Float32Array;
  return out;
}

/** Runs the `vpt` CLI from the repository, as a user would (CI mode: plain progress lines). */
export const vpt = (args: string[]) =>
  execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), ...args], { reject: false, cwd: REPO_ROOT, env: { CI: '1' } });

/**
 * Writes a small data set in the published formats (GSM8K JSONL, NuminaMath JSONL) into `dir` and a suite file
 * of kind 'files' pointing at it (a plain object export, so it loads from any folder). Returns the paths.
 */
export function writeFilesSuite(dir: string, over: Record<string, unknown> = {}): { suite: string; train: string; test: string; stream: string } {
  const d = generateEmbedded({ ...MICRO_DATA, seed: 5, relevantFraction: 0.7, leakFraction: 0 });
  const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const paths = { train: join(dir, 'train.jsonl'), test: join(dir, 'test.jsonl'), stream: join(dir, 'stream.jsonl') };
  writeFileSync(paths.train, jsonl(d.train));
  writeFileSync(paths.test, jsonl(d.test.slice(0, 4)));
  writeFileSync(paths.stream, jsonl([...d.base, ...d.cpt]));
  const suite = {
    name: 'files-micro',
    seeds: [1],
    data: { kind: 'files', gsm8kTrain: paths.train, gsm8kTest: paths.test, cptStream: paths.stream },
    model: { nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 128, maxPieces: 256 },
    base: { steps: 2, batchSize: 4, logEvery: 1 },
    train: { steps: 2, batchSize: 4, warmupSteps: 1, logEvery: 1 },
    design: { topK: 4, subsetBlocks: 1, feedbackSize: 8, feedbackBatch: 4, designerWidth: 8, probeBatches: 0 },
    eval: { gsm8k: { maxNewTokens: 4 } },
    arms: [{ arm: 'baseline' }],
    ...over,
  };
  const file = join(dir, 'files-micro.suite.ts');
  writeFileSync(file, `export default ${JSON.stringify(suite, null, 2)};\n`);
  return { suite: file, ...paths };
}

/**
 * For a `before` hook of tests that need the torch engine: skips the suite, saying why, where no python3 can run it
 * (unless VPT_REQUIRE_TORCH=1, as in .ci/run, where that is a failure).
 */
export async function requireTorchOrSkip(ctx: Mocha.Context): Promise<void> {
  try {
    await probeTorchEngine(undefined, 'cpu');
  } catch (e) {
    if (process.env.VPT_REQUIRE_TORCH === '1') throw new Error(`VPT_REQUIRE_TORCH=1 but ${(e as Error).message}`);
    console.log(`      TORCH TESTS SKIPPED: ${(e as Error).message}`);
    ctx.skip();
  }
}

/**
 * The embedded default data, written by the project in the real formats: a GSM8K-style train/test split
 * (JSONL with `question`/`answer`) and NuminaMath-CoT-style streams (JSONL with `source`, `problem`,
 * `solution`, `messages`) for base pretraining and for continued pretraining. The continued-pretraining
 * stream mixes relevant and irrelevant families, holds a declared fraction of fluent but wrong solutions
 * (labelled: `vpt_corrupt_spans`) and a declared fraction of edited copies of test problems (labelled:
 * `vpt_leak_kind`, `vpt_leak_test`). Test, train (feedback) and base problems are always correct.
 *
 * Streams that differ only in `corruptFraction` hold the same problems in the same order (the same leaks too):
 * only the worked solutions of the corrupted documents differ, so clean and noisy runs are paired.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../../engine/rng.js';
import { writeFileAtomic, writeJsonAtomic } from '../../../results/atomic.js';
import type { Gsm8kItem } from '../gsm8k.js';
import type { NuminaRow } from '../numina.js';
import { FAMILIES, familyByName, okValues, recordingDraws, render, type Corruption, type Family, type Problem, type Rendered } from './families.js';
import { LEAK_KINDS, makeLeak, type LeakKind } from './leaks.js';

/** How wrong documents are wrong. */
export type NoiseKind = 'rule' | 'slip';

/** Sizes and mixing of the embedded data. */
export interface EmbeddedDataConfig {
  /** Seed of the generator (independent of the training seed, so all seeds see the same data). Default 1234. */
  seed: number;
  /** GSM8K-style train problems (feedback pool and few-shot pool). Default 2048. */
  trainSize: number;
  /** GSM8K-style test problems. Default 200. */
  testSize: number;
  /** Base-pretraining documents (all families, correct). Default 6000. */
  baseSize: number;
  /** Continued-pretraining documents. Default 4000. */
  streamSize: number;
  /** Fraction of stream documents from downstream-relevant families. Default 0.7. */
  relevantFraction: number;
  /**
   * Fraction of stream documents whose worked solution is wrong. Default 0. With `noise: 'rule'` all of them come
   * from `noisyFamilies`, so within those families the rate is corruptFraction / (relevantFraction ×
   * |noisyFamilies| / 6), which must not exceed 1.
   */
  corruptFraction: number;
  /** Fraction of stream documents that are edited copies of test problems (contamination). Default 0.02. */
  leakFraction: number;
  /**
   * 'rule' (default): a wrong document applies its family's systematic wrong rule (one step's operation replaced,
   * e.g. "3 times as many" computed as 3 more), a misconception the learner can adopt. 'slip': one intermediate
   * result off by a small amount in a document of any family, carried through (isolated errors; measured not to
   * hurt the baseline).
   */
  noise?: NoiseKind;
  /** Families whose stream solutions carry rule noise. Default ['shopping', 'boxes', 'reading']. */
  noisyFamilies?: string[];
}

export const DEFAULT_NOISY_FAMILIES = ['shopping', 'boxes', 'reading'];

export const DEFAULT_EMBEDDED: EmbeddedDataConfig = {
  seed: 1234,
  trainSize: 2048,
  testSize: 200,
  baseSize: 6000,
  streamSize: 4000,
  relevantFraction: 0.7,
  corruptFraction: 0,
  leakFraction: 0.02,
  noise: 'rule',
  noisyFamilies: DEFAULT_NOISY_FAMILIES,
};

export interface EmbeddedPaths {
  dir: string;
  gsm8kTrain: string;
  gsm8kTest: string;
  baseStream: string;
  cptStream: string;
}

// 4: GSM8K train rows name their family (vpt_family), for the shuffled-feedback control; the same draws.
const GENERATOR_VERSION = 4;
const DELTAS = [1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6];

/** The config with the optional fields filled in (what is hashed and recorded). */
export function resolveEmbedded(cfg: EmbeddedDataConfig): Required<EmbeddedDataConfig> {
  return { ...cfg, noise: cfg.noise ?? 'rule', noisyFamilies: cfg.noisyFamilies ?? DEFAULT_NOISY_FAMILIES };
}

/** A GSM8K train row as written: with its family, which loadGsm8k reads as `family`. */
export type EmbeddedTrainRow = Gsm8kItem & { vpt_family: string };

function toGsm8k(r: Rendered): Gsm8kItem {
  return { question: r.question, answer: r.answer };
}

function toNumina(r: Rendered, source: string): NuminaRow {
  const row: NuminaRow = {
    source,
    problem: r.question,
    solution: r.answer,
    messages: [
      { role: 'user', content: r.question },
      { role: 'assistant', content: r.answer },
    ],
  };
  if (r.wrongSpans.length) row.vpt_corrupt_spans = r.wrongSpans;
  return row;
}

/**
 * A problem of `fam` whose correct solution stays within the number range, with the draws it made; a question in
 * `exclude` (the test set, for every other split) is drawn again, so the only copies of test problems outside the
 * test split are the labelled leaks.
 */
export function drawProblem(
  fam: Family,
  rng: Rng,
  exclude?: ReadonlySet<string>,
): { problem: Problem; clean: Rendered; draws: ReturnType<typeof recordingDraws>['record'] } {
  for (;;) {
    const d = recordingDraws(rng);
    const problem = fam.make(d);
    const clean = render(problem);
    if (okValues(clean) && !exclude?.has(clean.question)) return { problem, clean, draws: d.record };
  }
}

/** A slip: one intermediate result (not the last step's) off by a small delta, the final answer changed. */
function slip(p: Problem, clean: Rendered, rng: Rng): Rendered {
  const step = rng.int(0, p.steps.length - 2);
  for (const delta of rng.shuffle([...DELTAS])) {
    const bad = render(p, { step, delta });
    if (okValues(bad) && bad.final !== clean.final) return bad;
  }
  throw new Error(`embedded data: no valid slip for ${p.question}`);
}

function ruleError(fam: Family, p: Problem): Rendered {
  const rule = fam.wrongRule;
  if (!rule) throw new Error(`embedded data: family '${fam.name}' has no wrong rule`);
  const c: Corruption = { step: rule.step, op: rule.op };
  const bad = render(p, c);
  // The rules are chosen so this cannot happen; a change to a family that breaks it must fail loudly.
  if (!okValues(bad)) throw new Error(`embedded data: the wrong rule of '${fam.name}' leaves the number range on ${p.question}`);
  return bad;
}

/** Checks the noise settings and returns the within-family rate of rule noise (or the per-document slip rate). */
export function noiseRate(cfg: Required<EmbeddedDataConfig>): number {
  if (cfg.noise === 'slip') return cfg.corruptFraction;
  const relevant = FAMILIES.filter((f) => f.relevant).length;
  for (const name of cfg.noisyFamilies) {
    const f = familyByName(name);
    if (!f.relevant || !f.wrongRule) throw new Error(`data.noisyFamilies: '${name}' is not a downstream-relevant family with a wrong rule`);
  }
  if (cfg.corruptFraction === 0) return 0;
  const share = (cfg.relevantFraction * new Set(cfg.noisyFamilies).size) / relevant;
  const rate = share > 0 ? cfg.corruptFraction / share : Infinity;
  if (rate > 1) {
    throw new Error(
      `data.corruptFraction ${cfg.corruptFraction} is more than the noisy families' share of the stream (${share.toFixed(3)} = ` +
        `relevantFraction × ${cfg.noisyFamilies.length}/${relevant}): raise noisyFamilies or relevantFraction, or lower corruptFraction`,
    );
  }
  return rate;
}

export function generateEmbedded(config: EmbeddedDataConfig): {
  train: EmbeddedTrainRow[];
  test: Gsm8kItem[];
  base: NuminaRow[];
  cpt: NuminaRow[];
} {
  const cfg = resolveEmbedded(config);
  const rate = noiseRate(cfg);
  const noisy = new Set(cfg.noisyFamilies);
  const rng = new Rng(cfg.seed);
  const relevant = FAMILIES.filter((f) => f.relevant);
  const irrelevant = FAMILIES.filter((f) => !f.relevant);
  const testRng = rng.fork('test');
  const seen = new Set<string>();
  const testP: ReturnType<typeof drawProblem>[] = [];
  const testFam: Family[] = [];
  while (testP.length < cfg.testSize) {
    const fam = testRng.pick(relevant);
    const p = drawProblem(fam, testRng);
    if (seen.has(p.clean.question)) continue;
    seen.add(p.clean.question);
    testP.push(p);
    testFam.push(fam);
  }
  const testQuestions: ReadonlySet<string> = new Set(seen);
  const trainRng = rng.fork('train');
  const train: EmbeddedTrainRow[] = [];
  while (train.length < cfg.trainSize) {
    const fam = trainRng.pick(relevant);
    const p = drawProblem(fam, trainRng);
    if (seen.has(p.clean.question)) continue;
    seen.add(p.clean.question);
    train.push({ ...toGsm8k(p.clean), vpt_family: fam.name });
  }
  const baseRng = rng.fork('base');
  const base = Array.from({ length: cfg.baseSize }, () => {
    const fam = baseRng.pick(FAMILIES);
    return toNumina(drawProblem(fam, baseRng, testQuestions).clean, `synthetic/${fam.name}`);
  });
  const cptRng = rng.fork('cpt');
  const noiseRng = rng.fork('noise');
  const cpt = Array.from({ length: cfg.streamSize }, (_, i): NuminaRow => {
    // Every document makes the same draws whatever the noise settings, so clean and noisy streams pair up.
    const isLeak = cptRng.next() < cfg.leakFraction;
    if (isLeak) {
      const t = cptRng.int(0, testP.length - 1);
      const kind: LeakKind = cptRng.pick(LEAK_KINDS);
      const src = testP[t] as ReturnType<typeof drawProblem>;
      const leak = makeLeak(testFam[t] as Family, src.draws, src.clean, kind, cptRng.fork(`leak-${i}`));
      return { ...toNumina(leak, 'synthetic/leaked-test'), vpt_leak_kind: kind, vpt_leak_test: t };
    }
    const fam = cptRng.next() < cfg.relevantFraction ? cptRng.pick(relevant) : cptRng.pick(irrelevant);
    const { problem, clean } = drawProblem(fam, cptRng, testQuestions);
    const u = cptRng.next();
    let out = clean;
    if (cfg.noise === 'rule' && noisy.has(fam.name) && u < rate) out = ruleError(fam, problem);
    if (cfg.noise === 'slip' && u < rate) out = slip(problem, clean, noiseRng.fork(`slip-${i}`));
    return toNumina(out, `synthetic/${fam.name}${out === clean ? '' : '/wrong'}`);
  });
  return { train, test: testP.map((p) => toGsm8k(p.clean)), base, cpt };
}

export function embeddedHash(cfg: EmbeddedDataConfig): string {
  return createHash('sha256').update(JSON.stringify({ v: GENERATOR_VERSION, ...resolveEmbedded(cfg) })).digest('hex').slice(0, 16);
}

const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Writes (once per config) the embedded data under `cacheDir/data/<hash>/` and returns the file paths. */
export function ensureEmbedded(cfg: EmbeddedDataConfig, cacheDir: string): EmbeddedPaths {
  const dir = join(cacheDir, 'data', embeddedHash(cfg));
  const paths: EmbeddedPaths = {
    dir,
    gsm8kTrain: join(dir, 'gsm8k', 'train.jsonl'),
    gsm8kTest: join(dir, 'gsm8k', 'test.jsonl'),
    baseStream: join(dir, 'numina', 'base.jsonl'),
    cptStream: join(dir, 'numina', 'cpt.jsonl'),
  };
  const stamp = join(dir, 'config.json');
  // The folder is named by the hash and config.json is written last, so its presence means complete.
  if (existsSync(stamp)) return paths;
  mkdirSync(dir, { recursive: true });
  const d = generateEmbedded(cfg);
  writeFileAtomic(paths.gsm8kTrain, jsonl(d.train));
  writeFileAtomic(paths.gsm8kTest, jsonl(d.test));
  writeFileAtomic(paths.baseStream, jsonl(d.base));
  writeFileAtomic(paths.cptStream, jsonl(d.cpt));
  writeJsonAtomic(stamp, { hash: embeddedHash(cfg), generatorVersion: GENERATOR_VERSION, config: resolveEmbedded(cfg) });
  return paths;
}

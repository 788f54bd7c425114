/**
 * The embedded default data, written by the project in the real formats: a GSM8K-style train/test split
 * (JSONL with `question`/`answer`) and NuminaMath-CoT-style streams (JSONL with `source`, `problem`,
 * `solution`, `messages`) for base pretraining and for continued pretraining. The continued-pretraining
 * stream mixes relevant and irrelevant families, holds a declared fraction of fluent but wrong solutions,
 * and a declared fraction of lightly edited copies of test problems (contamination, for decontamination).
 * Test and feedback problems are always correct.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../engine/rng.js';
import { writeFileAtomic, writeJsonAtomic } from '../../results/atomic.js';
import type { Gsm8kItem } from '../gsm8k.js';
import type { NuminaRow } from '../numina.js';
import { FAMILIES, render, type Family, type Rendered } from './families.js';

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
  /** Fraction of stream documents whose worked solution carries a wrong intermediate result. Default 0. */
  corruptFraction: number;
  /** Fraction of stream documents that are lightly edited copies of test problems. Default 0.02. */
  leakFraction: number;
}

export const DEFAULT_EMBEDDED: EmbeddedDataConfig = {
  seed: 1234,
  trainSize: 2048,
  testSize: 200,
  baseSize: 6000,
  streamSize: 4000,
  relevantFraction: 0.7,
  corruptFraction: 0,
  leakFraction: 0.02,
};

export interface EmbeddedPaths {
  dir: string;
  gsm8kTrain: string;
  gsm8kTest: string;
  baseStream: string;
  cptStream: string;
}

const GENERATOR_VERSION = 2;
const MAX_NUMBER = 200;
const DELTAS = [1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6];

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

function okValues(r: Rendered): boolean {
  // Results are written after "=" and ">>": none may be negative, fractional or beyond single-token numbers.
  if (/[=>]-/.test(r.answer) || /\d\.\d/.test(r.answer)) return false;
  return [...r.answer.matchAll(/\d+/g)].every((m) => Number(m[0]) <= MAX_NUMBER);
}

/** A correct or corrupted rendering of a fresh problem from `fam`. */
function drawRendered(fam: Family, rng: Rng, corrupt: boolean): Rendered {
  for (;;) {
    const p = fam.make(rng);
    const clean = render(p);
    if (!okValues(clean)) continue;
    if (!corrupt) return clean;
    const step = rng.int(0, p.steps.length - 2);
    for (const delta of rng.shuffle([...DELTAS])) {
      const bad = render(p, { step, delta });
      if (okValues(bad) && bad.final !== clean.final) return bad;
    }
  }
}

/** A copy of a test problem with one word changed (the first name swapped): contamination. */
function leakCopy(item: Rendered, rng: Rng): Rendered {
  const m = /^[A-Z][a-z]+/.exec(item.question);
  const others = ['Zoe', 'Yuri', 'Xena', 'Walt'];
  const question = m ? rng.pick(others) + item.question.slice(m[0].length) : `Now, ${item.question}`;
  return { ...item, question };
}

export function generateEmbedded(cfg: EmbeddedDataConfig): {
  train: Gsm8kItem[];
  test: Gsm8kItem[];
  base: NuminaRow[];
  cpt: NuminaRow[];
} {
  const rng = new Rng(cfg.seed);
  const relevant = FAMILIES.filter((f) => f.relevant);
  const irrelevant = FAMILIES.filter((f) => !f.relevant);
  const testRng = rng.fork('test');
  const seen = new Set<string>();
  const testR: Rendered[] = [];
  while (testR.length < cfg.testSize) {
    const r = drawRendered(testRng.pick(relevant), testRng, false);
    if (seen.has(r.question)) continue;
    seen.add(r.question);
    testR.push(r);
  }
  const trainRng = rng.fork('train');
  const train: Gsm8kItem[] = [];
  while (train.length < cfg.trainSize) {
    const r = drawRendered(trainRng.pick(relevant), trainRng, false);
    if (seen.has(r.question)) continue;
    seen.add(r.question);
    train.push(toGsm8k(r));
  }
  const baseRng = rng.fork('base');
  const base = Array.from({ length: cfg.baseSize }, () => {
    const fam = baseRng.pick(FAMILIES);
    return toNumina(drawRendered(fam, baseRng, false), `synthetic/${fam.name}`);
  });
  const cptRng = rng.fork('cpt');
  const cpt = Array.from({ length: cfg.streamSize }, () => {
    if (cptRng.next() < cfg.leakFraction) return toNumina(leakCopy(cptRng.pick(testR), cptRng), 'synthetic/leaked-test');
    const fam = cptRng.next() < cfg.relevantFraction ? cptRng.pick(relevant) : cptRng.pick(irrelevant);
    const corrupt = cptRng.next() < cfg.corruptFraction;
    return toNumina(drawRendered(fam, cptRng, corrupt), `synthetic/${fam.name}${corrupt ? '/wrong' : ''}`);
  });
  return { train, test: testR.map(toGsm8k), base, cpt };
}

export function embeddedHash(cfg: EmbeddedDataConfig): string {
  return createHash('sha256').update(JSON.stringify({ v: GENERATOR_VERSION, ...cfg })).digest('hex').slice(0, 16);
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
  writeJsonAtomic(stamp, { hash: embeddedHash(cfg), generatorVersion: GENERATOR_VERSION, config: cfg });
  return paths;
}

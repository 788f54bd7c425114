/**
 * The language task: a GPT learner continued-pretrained on a GSM8K-style stream, arms that differ only in how
 * they build next-token targets, and GSM8K Pass@1 + answer NLL on the frozen result.
 */
import { languageBench, languageTools } from './bench/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { armRegistry } from './arms/index.js';
import { decontaminateStream, decontamReferences, decontamReport } from './data/decontam.js';
import { DataError } from '../errors.js';
import { splitValidation, type Gsm8kItem } from './data/gsm8k.js';
import { formatQA } from './data/numina.js';
import { encodeDoc, packDocs, selectRows, type QADoc } from './data/pack.js';
import { loadData, type LoadedData } from './data/sources.js';
import { Rng } from '../engine/rng.js';
import { answerNll, buildPrompt, chooseShots, evaluateGsm8k, GSM8K_EVAL_VERSION } from './eval/evaluate.js';
import { baseDir, baseTokenizer, ensureBase, type BaseInfo } from './train/base.js';
import { LanguageModel } from './model/model.js';
import type { Tokenizer } from './model/tokenizer.js';
import { trainLM, type TrainResult } from './train/trainer.js';
import { writeFileAtomic } from '../results/atomic.js';
import { HIGHER_IS_BETTER, type CellResult, type ReferenceRow } from '../results/schema.js';
import type { ArmEntry, DesignConfig, LanguageSuite } from './schema.js';
import type { ReadRecord } from './arms/types.js';
import { measureLanguageStepCost } from './calibrate.js';
import type { CellOutcome, TaskDefinition } from '../tasks/contract.js';

/** Where a split's file lives, for messages (the generated file for embedded data). */
function fileOf(s: LanguageSuite, key: 'gsm8kTrain' | 'gsm8kTest'): string {
  return s.data.kind === 'files' ? s.data[key] : `the embedded ${key === 'gsm8kTest' ? 'test' : 'train'} split`;
}

/** Tokens a teacher-forced row of `doc` needs (inputs are one shorter than the encoded document). */
function rowLength(tok: Tokenizer, doc: QADoc): number {
  return encodeDoc(tok, doc).ids.length - 1;
}

function tooLong(what: string, key: 'gsm8kTrain' | 'gsm8kTest', s: LanguageSuite, lengths: readonly number[], limit: number, need: string): void {
  const bad = lengths.map((n, i) => [i, n] as const).filter(([, n]) => n > limit);
  if (!bad.length) return;
  const [i, n] = bad[0] as readonly [number, number];
  throw new DataError(
    `data.${key}: ${fileOf(s, key)}: ${what} in row ${i + 1} needs ${n} tokens (${need}), more than model.blockSize ${s.model.blockSize}; ` +
      `${bad.length} of ${lengths.length} do not fit: raise model.blockSize or drop long problems`,
  );
}

function countRows(tok: Tokenizer, docs: readonly QADoc[], T: number): number {
  let tokens = 0;
  for (const d of docs) tokens += encodeDoc(tok, d).ids.length;
  return Math.max(0, Math.floor((tokens - 1) / T));
}

/**
 * Checks the data before any training, so a bad input costs seconds, not a base stage: every file exists and
 * parses (the loaders name the file and line or row), no split is empty, every GSM8K answer has a final "#### N",
 * every evaluated test problem and every feedback problem fits the context, and the streams fill a batch.
 */
export async function languagePreflight(s: LanguageSuite, cacheDir: string): Promise<{ data: LoadedData; tokenizer: Tokenizer }> {
  const data = await loadData(s.data, cacheDir);
  const tok = baseTokenizer(s, data, cacheDir);
  const T = s.model.blockSize;
  const cfg = s.eval.gsm8k;
  const evaluated = cfg.limit > 0 ? data.test.slice(0, cfg.limit) : data.test;
  tooLong('a test problem', 'gsm8kTest', s, evaluated.map((it) => rowLength(tok, formatQA(it.question, it.answer))), T, 'question and worked answer, for the answer NLL');
  // Greedy decoding needs the prompt (with its few-shot examples) plus room for at least one new token.
  const prompts = evaluated.map((it, i) => tok.encode(buildPrompt(it, chooseShots(data.train, cfg.numFewshot, cfg.fewshotSeed, i))).length + 1);
  tooLong(`a test prompt with ${cfg.numFewshot} few-shot examples`, 'gsm8kTest', s, prompts, T, 'prompt plus one generated token');
  // Feedback problems come from the whole train split (designer arms); the validation slice from its end.
  const trainLengths = data.train.map((it) => rowLength(tok, formatQA(it.question, it.answer)));
  if (s.arms.some((a) => armRegistry.get(a.arm).usesDesigner)) {
    tooLong('a feedback problem', 'gsm8kTrain', s, trainLengths, T, 'question and worked answer, for g_down');
  }
  const { pool } = splitValidation(data.train, s.eval.downstream.size);
  tooLong('a validation problem', 'gsm8kTrain', s, trainLengths.map((n, i) => (i >= pool.length ? n : 0)), T, 'question and worked answer, for the tracked downstream loss');
  const streams: [string, QADoc[], number][] = [['cptStream', data.cpt, s.train.batchSize], ['baseStream', data.base, s.base.batchSize]];
  for (const [key, docs, batch] of streams) {
    const rows = countRows(tok, docs, T);
    if (rows < batch) {
      throw new DataError(`data.${key}: the stream packs into ${rows} rows of ${T} tokens, fewer than one batch of ${batch}: give more documents or lower the batch size`);
    }
  }
  return { data, tokenizer: tok };
}

/** Training timings with the validation tracking's time taken out (it is measurement, not training). */
function withoutTracking(t: TrainResult, trackMs: number, tokens: number): TrainResult {
  const wallMs = t.wallMs - trackMs;
  return { ...t, wallMs, msPerStep: t.msPerStep * (wallMs / t.wallMs), tokensPerSecond: (tokens / wallMs) * 1000 };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** Metric keys → higher-is-better flags. */
function directions(metrics: Record<string, unknown>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const k of Object.keys(metrics)) {
    const name = k.split(',')[0] as string;
    if (name in HIGHER_IS_BETTER) out[k] = HIGHER_IS_BETTER[name] as boolean;
  }
  return out;
}

/** The design settings of an arm row: the suite's, with the row's `design` overrides. */
export function designOf(s: LanguageSuite, row: ArmEntry): DesignConfig {
  const own = 'design' in row ? row.design : undefined;
  return { ...s.design, ...(own ?? {}) };
}

/**
 * Arms whose per-step cost a wall-clock budget needs (as runner/budget.ts `armsToCalibrate`, which this module
 * cannot import: the runner's budget module reaches the task registry that imports this task).
 */
function calibratedArms(s: LanguageSuite): string[] {
  const out = new Set<string>();
  for (const row of s.arms) {
    const b = row.budget ?? s.budget;
    if (b.kind === 'updates') continue;
    out.add(row.arm);
    if (b.kind === 'matched') out.add(b.arm);
  }
  return [...out];
}

/** Why an arm that reads the generator's wrong-token labels cannot run on this suite's data (undefined: it can). */
function labelProblem(s: LanguageSuite): string | undefined {
  if (s.data.kind !== 'embedded') return `data.kind is '${s.data.kind}': only the embedded generator labels wrong tokens`;
  if (s.data.corruptFraction === 0) return 'data.corruptFraction is 0: the stream has no wrong tokens to label';
  return undefined;
}

/** The cell record an arm reads, parsed (its status was checked by the runner). */
function readRecord(file: string): ReadRecord {
  try {
    return { file, record: JSON.parse(readFileSync(file, 'utf8')) as unknown };
  } catch (e) {
    throw new DataError(`${file}: cannot read the cell record this arm reads (${(e as Error).message})`);
  }
}

/** Load data and the base checkpoint, continue pretraining with the arm's target rule, evaluate the frozen result. */
async function runLanguageCell(...[s, cell, paths, progress]: Parameters<TaskDefinition<LanguageSuite>['runCell']>): Promise<CellOutcome> {
  const arm = armRegistry.get(cell.arm.arm);
  const design = designOf(s, cell.arm);
  // The runner's plan from the row's budget; each arm's learning-rate schedule spans its own steps.
  const steps = cell.plan?.steps ?? s.train.steps;
  const data: LoadedData = await loadData(s.data, paths.cacheDir);
  const base = await ensureBase(s, data, paths.cacheDir, (done, total) => progress?.({ phase: 'base', done, total }));
  const model = LanguageModel.load(baseDir(s, data, paths.cacheDir));
  const rng = new Rng(cell.seed);
  let cpt = data.cpt;
  let decontamination: Record<string, unknown> | undefined;
  if ('decontaminate' in cell.arm && cell.arm.decontaminate) {
    // Screened against the evaluation sets (GSM8K test + MATH test; train too with screenTrain), and scored
    // against the generator's leak labels where the stream has them.
    const refs = decontamReferences(data, s.decontamination);
    const d = decontaminateStream(data.cptRows.map((r) => r.problem), refs, s.decontamination);
    cpt = cpt.filter((_, i) => !d.removed.has(i));
    decontamination = { ...s.decontamination, ...decontamReport(d.removed, data.cptRows), references: refs.length, ms: d.ms };
  }
  // The validation slice (last problems of train) is fixed across seeds and arms and never used as feedback.
  const { pool, validation } = splitValidation(data.train, s.eval.downstream.size);
  const feedbackRng = rng.fork('feedback');
  const feedback = feedbackRng.sample(pool.length, Math.min(design.feedbackSize, pool.length)).map((i) => pool[i] as Gsm8kItem);
  // Probe rows are held out of every arm's training stream (the suite's probeBatches, whatever a row
  // overrides), so all arms train on the same rows.
  const packed = packDocs(model.tokenizer, cpt, s.model.blockSize);
  const probeCount = Math.min(s.design.probeBatches * s.train.batchSize, Math.floor(packed.rows / 4));
  const rows = selectRows(packed, range(0, packed.rows - probeCount));
  const probeRows = probeCount > 0 ? selectRows(packed, range(packed.rows - probeCount, packed.rows)) : undefined;
  if (arm.needsWrongLabels && !rows.wrong.some((w) => w !== 0)) {
    throw new DataError(`arm '${cell.arm.arm}' needs the generator's wrong-token labels and the training stream has none (data.cptStream: no vpt_corrupt_spans)`);
  }
  const reads = paths.reads ? readRecord(paths.reads) : undefined;
  const rule = arm.create({
    model, design, rng: rng.fork('arm'), feedback, steps, ...(probeRows ? { probeRows } : {}), ...(reads ? { reads } : {}),
  });
  const downstream: { step: number; nll: number }[] = [];
  let trackMs = 0;
  const track = async (updates: number): Promise<void> => {
    if (!validation.length) return;
    const t = performance.now();
    downstream.push({ step: updates, nll: (await answerNll(model, validation)).value });
    trackMs += performance.now() - t;
  };
  try {
    await track(0);
    trackMs = 0; // only tracking inside the training loop is subtracted from its wall time
    const trained = await trainLM({
      model,
      rows,
      steps,
      batchSize: s.train.batchSize,
      optim: { ...s.train, totalSteps: steps },
      rng: rng.fork('data'),
      rule,
      logEvery: s.train.logEvery,
      onLog: async (p) => {
        await track(p.step + 1);
        progress?.({ phase: 'train', done: p.step + 1, total: steps });
      },
    });
    const diagnostics: Record<string, number> = { ...((await rule.summary?.()) ?? {}), base_answer_nll: base.metrics['answer_nll,none']?.value ?? Number.NaN };
    // The probe's time (measure_ms) is measurement, like the validation tracking: not training time.
    const train = withoutTracking(trained, trackMs + (diagnostics.measure_ms ?? 0), steps * s.train.batchSize * s.model.blockSize);
    progress?.({ phase: 'eval', done: 0, total: 1 });
    const te = performance.now();
    const ev = await evaluateGsm8k(model, data.test, data.train, s.eval.gsm8k);
    const evalMs = performance.now() - te;
    writeFileAtomic(join(paths.dir, 'samples.jsonl'), ev.samples.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const metaMs = diagnostics.meta_ms_mean;
    const metaSteps = diagnostics.meta_steps;
    if (metaMs !== undefined && metaSteps !== undefined && Number.isFinite(metaMs)) {
      // Meta-step cost relative to one learner step (learner steps timed without the meta work).
      const metaTotal = metaMs * metaSteps;
      diagnostics.meta_fraction_of_step = metaMs / ((train.wallMs - metaTotal) / steps);
      diagnostics.meta_share_of_time = metaTotal / train.wallMs;
    }
    return {
      metrics: ev.metrics,
      higherIsBetter: directions(ev.metrics),
      diagnostics,
      dataHashes: data.hashes,
      baseHash: base.hash,
      steps: { planned: steps, done: steps },
      timings: { trainMs: train.wallMs, evalMs, msPerStep: train.msPerStep, tokensPerSecond: train.tokensPerSecond, totalMs: 0 },
      curves: { train: train.curve, ...(downstream.length ? { downstream } : {}), ...((await rule.curves?.()) ?? {}) },
      extra: { memory: train.memory, ...(decontamination ? { decontamination } : {}) },
    };
  } finally {
    rule.dispose?.();
    model.dispose();
  }
}

/** The base checkpoint's own evaluation, as the first row of the table. */
function baseRow(results: readonly CellResult[], cacheDir: string): ReferenceRow[] {
  const hash = results.find((x) => x.status === 'completed')?.config?.baseHash;
  if (!hash) return [];
  const f = join(cacheDir, 'base', hash, 'base.json');
  if (!existsSync(f)) return [];
  const info = JSON.parse(readFileSync(f, 'utf8')) as BaseInfo;
  return [{ id: 'base', label: 'base checkpoint', note: 'before continued pretraining', metrics: info.metrics }];
}

export const languageTask: TaskDefinition<LanguageSuite> = {
  name: 'language',
  description: 'GPT continued pretraining on a GSM8K-style stream; GSM8K Pass@1 and answer NLL',
  arms: armRegistry,
  evalVersions: { gsm8k: GSM8K_EVAL_VERSION },
  checkSuite(s) {
    const out: string[] = [];
    if (s.model.nEmbd % s.model.nHead !== 0) out.push(`model.nHead: ${s.model.nHead} does not divide model.nEmbd ${s.model.nEmbd}`);
    if (s.design.subsetBlocks > s.model.nLayer) out.push(`design.subsetBlocks: ${s.design.subsetBlocks} exceeds model.nLayer ${s.model.nLayer}`);
    const calibrated = calibratedArms(s);
    s.arms.forEach((a, i) => {
      const d = designOf(s, a);
      if (a.design?.subsetBlocks !== undefined && d.subsetBlocks > s.model.nLayer) out.push(`arms.${i}.design.subsetBlocks: ${d.subsetBlocks} exceeds model.nLayer ${s.model.nLayer}`);
      // A calibration times each arm at the suite's design, so its per-step cost would not be this row's.
      if (a.design !== undefined && calibrated.includes(a.arm)) {
        out.push(`arms.${i}.design: '${a.arm}' has a wall-clock budget here (its per-step cost is calibrated at the suite's design), so its rows cannot override design; move the override into the suite's design or give these rows an updates budget`);
      }
      const why = armRegistry.has(a.arm) && armRegistry.get(a.arm).needsWrongLabels ? labelProblem(s) : undefined;
      if (why) out.push(`arms.${i}: '${a.arm}' reads the generator's labels of wrong tokens (embedded data with corruptFraction > 0), but ${why}; drop this row`);
    });
    return out;
  },
  async preflight(s, cacheDir) {
    const { data } = await languagePreflight(s, cacheDir);
    return { hashes: data.hashes, summary: `train ${data.train.length}, test ${data.test.length}, stream ${data.cpt.length}, base stream ${data.base.length}` };
  },
  async prepareBase(s, cacheDir, progress) {
    const data = await loadData(s.data, cacheDir);
    await ensureBase(s, data, cacheDir, (done, total) => progress?.({ phase: 'base', done, total }));
  },
  runCell: runLanguageCell,
  measureStepCost: (s, arm, cacheDir) => measureLanguageStepCost(s, arm, cacheDir),
  referenceRows: (_s, results, cacheDir) => baseRow(results, cacheDir),
  headline(r) {
    const m = r.metrics?.['pass@1,strict-match'];
    return m ? `pass@1 ${(100 * m.value).toFixed(1)}%` : '';
  },
  bench: languageBench,
  tools: languageTools,
};

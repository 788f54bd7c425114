/**
 * The language task: a GPT learner continued-pretrained on a GSM8K-style stream, arms that differ only in how
 * they build next-token targets, and GSM8K Pass@1 + answer NLL on the frozen result.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import type { CellResult, ReferenceRow } from '../results/schema.js';
import type { TaskDefinition } from '../tasks/contract.js';
import { armRegistry } from './arms/index.js';
import { languageBench, languageTools } from './bench/index.js';
import { measureLanguageStepCost } from './calibrate.js';
import { designOf, prepareLanguageCell, runOnTfjs } from './cell.js';
import { splitValidation } from './data/gsm8k.js';
import { formatQA } from './data/numina.js';
import { encodeDoc, type QADoc } from './data/pack.js';
import { loadData, type LoadedData } from './data/sources.js';
import { buildPrompt, chooseShots, GSM8K_EVAL_VERSION } from './eval/evaluate.js';
import type { TextTokenizer as Tokenizer } from './model/text-tokenizer.js';
import { isHfModel, type LanguageSuite } from './schema.js';
import { checkPretrained, decoderConfigOf } from './pretrained.js';
import { baseTokenizer, ensureBase, type BaseInfo } from './train/base.js';

/**
 * The torch engine's side of a cell, imported when a suite asks for it: it starts processes with execa, which a
 * suite file compiled as CommonJS (one outside the repository, loading defineSuite) could not require.
 */
const torchCell = () => import('./torch-cell.js');

/** Where a split's file lives, for messages (the generated file for embedded data). */
function fileOf(s: LanguageSuite, key: 'gsm8kTrain' | 'gsm8kTest'): string {
  return s.data.kind === 'files' ? s.data[key] : `the embedded ${key === 'gsm8kTest' ? 'test' : 'train'} split`;
}

/** Tokens a teacher-forced row of `doc` needs (inputs are one shorter than the encoded document). */
function rowLength(tok: Tokenizer, doc: QADoc): number {
  return encodeDoc(tok, doc).ids.length - 1;
}

/** The longest sequence the learner reads: the vpt GPT's blockSize, a pretrained decoder's max_position_embeddings. */
function contextOf(s: LanguageSuite): { limit: number; name: string } {
  if (!isHfModel(s.model)) return { limit: s.model.blockSize, name: 'model.blockSize' };
  return { limit: decoderConfigOf(s).maxPositions, name: `the model's max_position_embeddings (${s.model.path}/config.json)` };
}

function tooLong(what: string, key: 'gsm8kTrain' | 'gsm8kTest', s: LanguageSuite, lengths: readonly number[], limit: number, need: string): void {
  const bad = lengths.map((n, i) => [i, n] as const).filter(([, n]) => n > limit);
  if (!bad.length) return;
  const [i, n] = bad[0] as readonly [number, number];
  const ctx = contextOf(s);
  throw new DataError(
    `data.${key}: ${fileOf(s, key)}: ${what} in row ${i + 1} needs ${n} tokens (${need}), more than ${ctx.name} ${ctx.limit}; ` +
      `${bad.length} of ${lengths.length} do not fit: ${isHfModel(s.model) ? 'drop long problems' : 'raise model.blockSize or drop long problems'}`,
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
/** The files and folders a suite names, by key (data files, a pretrained model and its tokenizer). */
function namedPaths(s: LanguageSuite): [string, string][] {
  const out: [string, string][] = [];
  if (s.data.kind === 'files') {
    const d = s.data;
    out.push(['data.gsm8kTrain', d.gsm8kTrain], ['data.gsm8kTest', d.gsm8kTest], ['data.cptStream', d.cptStream]);
    if (d.baseStream !== undefined && !isHfModel(s.model)) out.push(['data.baseStream', d.baseStream]);
    if (d.mathTest !== undefined) out.push(['data.mathTest', d.mathTest]);
  }
  if (isHfModel(s.model)) {
    out.push(['model.path', s.model.path]);
    if (s.model.tokenizer !== undefined) out.push(['model.tokenizer', s.model.tokenizer]);
  }
  return out;
}

/** Every missing input at once, one line each, with what to get where the suite says (`requires`). */
function checkNamedPaths(s: LanguageSuite): void {
  const missing = namedPaths(s).filter(([, path]) => !existsSync(path));
  if (!missing.length) return;
  const lines = missing.map(([key, path]) => `${key}: ${path}: no such ${key === 'model.path' ? 'folder' : 'file'}${s.requires?.[key] ? `: get ${s.requires[key]}` : ''}`);
  throw new DataError(missing.length === 1 ? (lines[0] as string) : `${missing.length} inputs are missing (give their paths with --set <key>=<path>):\n${lines.map((l) => `  ${l}`).join('\n')}`);
}

export async function languagePreflight(s: LanguageSuite, cacheDir: string): Promise<{ data: LoadedData; tokenizer: Tokenizer; model: string }> {
  checkNamedPaths(s);
  const data = await loadData(s.data, cacheDir);
  const tok = baseTokenizer(s, data, cacheDir);
  const model = checkPretrained(s, tok);
  const T = contextOf(s).limit;
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
  // A pretrained decoder has no base stage, so no base stream to fill.
  const streams: [string, QADoc[], number][] = [['cptStream', data.cpt, s.train.batchSize], ...(isHfModel(s.model) ? [] : [['baseStream', data.base, s.base.batchSize] as [string, QADoc[], number]])];
  for (const [key, docs, batch] of streams) {
    const rows = countRows(tok, docs, s.model.blockSize);
    if (rows < batch) {
      throw new DataError(`data.${key}: the stream packs into ${rows} rows of ${s.model.blockSize} tokens, fewer than one batch of ${batch}: give more documents or lower the batch size`);
    }
  }
  return { data, tokenizer: tok, model };
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
    // A pretrained decoder's shape is in its config.json, checked when the data is (preflight).
    const gpt = isHfModel(s.model) ? undefined : s.model;
    if (gpt && gpt.nEmbd % gpt.nHead !== 0) out.push(`model.nHead: ${gpt.nHead} does not divide model.nEmbd ${gpt.nEmbd}`);
    if (gpt && s.design.subsetBlocks > gpt.nLayer) out.push(`design.subsetBlocks: ${s.design.subsetBlocks} exceeds model.nLayer ${gpt.nLayer}`);
    if ((s.train.accum ?? 1) > 1 && s.trainer !== 'torch') out.push(`train.accum: accumulating ${s.train.accum} microbatches per update runs on the torch engine (trainer: 'torch'); on tfjs raise train.batchSize instead`);
    const calibrated = calibratedArms(s);
    s.arms.forEach((a, i) => {
      const d = designOf(s, a);
      if (gpt && a.design?.subsetBlocks !== undefined && d.subsetBlocks > gpt.nLayer) out.push(`arms.${i}.design.subsetBlocks: ${d.subsetBlocks} exceeds model.nLayer ${gpt.nLayer}`);
      // A calibration times each arm at the suite's design, so its per-step cost would not be this row's.
      if (a.design !== undefined && calibrated.includes(a.arm)) {
        out.push(`arms.${i}.design: '${a.arm}' has a wall-clock budget here (its per-step cost is calibrated at the suite's design), so its rows cannot override design; move the override into the suite's design or give these rows an updates budget`);
      }
      const why = armRegistry.has(a.arm) && armRegistry.get(a.arm).needsWrongLabels ? labelProblem(s) : undefined;
      if (why) out.push(`arms.${i}: '${a.arm}' reads the generator's labels of wrong tokens (embedded data with corruptFraction > 0), but ${why}; drop this row`);
      const designer = armRegistry.has(a.arm) && armRegistry.get(a.arm).usesDesigner;
      const where = a.design?.labelFeature !== undefined ? `arms.${i}.design.labelFeature` : 'design.labelFeature';
      const noLabels = designer && d.labelFeature ? labelProblem(s) : undefined;
      if (noLabels) out.push(`${where}: the labels-as-feature designer reads the generator's labels of wrong tokens (embedded data with corruptFraction > 0), but ${noLabels}`);
      if (designer && d.designerWidth % d.designerHeads !== 0) out.push(`${a.design?.designerHeads !== undefined || a.design?.designerWidth !== undefined ? `arms.${i}.design` : 'design'}.designerHeads: ${d.designerHeads} does not divide designerWidth ${d.designerWidth}`);
    });
    return out;
  },
  async preflight(s, cacheDir) {
    // Missing inputs first (all of them), then the engine: a missing torch costs a second, not a data check.
    checkNamedPaths(s);
    const engine = s.trainer === 'torch' ? await (await torchCell()).torchEngineInfo(s) : undefined;
    const { data, model } = await languagePreflight(s, cacheDir);
    const sizes = `train ${data.train.length}, test ${data.test.length}, stream ${data.cpt.length}${isHfModel(s.model) ? '' : `, base stream ${data.base.length}`}${model ? `; ${model}` : ''}`;
    return { hashes: data.hashes, summary: engine ? `${sizes}; torch ${engine.torchVersion} on ${engine.device}` : sizes };
  },
  async prepareBase(s, cacheDir, progress) {
    const data = await loadData(s.data, cacheDir);
    await ensureBase(s, data, cacheDir, (done, total) => progress?.({ phase: 'base', done, total }));
  },
  // Every cell reads GSM8K train (feedback, validation, few-shot) and test, and the stream; the base stage reads the
  // base stream (a pretrained decoder has none); only decontaminated cells read MATH test.
  dataRoles: (s, cell) => [
    'gsm8kTrain', 'gsm8kTest', 'cptStream', ...(isHfModel(s.model) ? [] : ['baseStream']), ...(cell.arm.decontaminate ? ['mathTest'] : []),
  ],
  // The harness prepares the cell; the suite's trainer trains it.
  async runCell(s, cell, paths, progress) {
    const p = await prepareLanguageCell(s, cell, paths, progress);
    return s.trainer === 'torch' ? (await torchCell()).runOnTorch(p, paths, progress) : runOnTfjs(p, paths, progress);
  },
  measureStepCost: async (s, arm, cacheDir) => (s.trainer === 'torch' ? (await torchCell()).measureTorchStepCost(s, arm, cacheDir) : measureLanguageStepCost(s, arm, cacheDir)),
  trainerEngine: async (s) => (s.trainer === 'torch' ? (await torchCell()).torchEngineInfo(s) : undefined),
  referenceRows: (_s, results, cacheDir) => baseRow(results, cacheDir),
  headline(r) {
    const m = r.metrics?.['pass@1,strict-match'];
    return m ? `pass@1 ${(100 * m.value).toFixed(1)}%` : '';
  },
  bench: languageBench,
  tools: languageTools,
};

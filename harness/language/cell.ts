/**
 * One language cell: the harness prepares everything around training (data, the decontaminated stream, packed
 * rows, held-out probe rows, the feedback problems, the validation slice, every data draw), then an engine trains
 * (tfjs here in the worker: `runOnTfjs`; the PyTorch engine through the trainer protocol: ./torch-cell.ts), and
 * the harness scores what it measured.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { Rng } from '../engine/rng.js';
import { HIGHER_IS_BETTER } from '../results/schema.js';
import { writeFileAtomic } from '../results/atomic.js';
import type { CellOutcome, CellPaths, ProgressFn } from '../tasks/contract.js';
import type { CellSpec } from '../suite/cell.js';
import { armRegistry } from './arms/index.js';
import { MIN_PROBE_BATCHES } from './arms/designer-arms.js';
import type { ArmDefinition, ReadRecord } from './arms/types.js';
import { familiesOf } from './arms/feedback.js';
import { decontaminateStream, decontamReferences, decontamReport } from './data/decontam.js';
import { splitValidation, type Gsm8kItem } from './data/gsm8k.js';
import { formatQA } from './data/numina.js';
import { packDocs, padDocs, selectRows, type TokenRows } from './data/pack.js';
import { loadData, type LoadedData } from './data/sources.js';
import { drawCell, type CellDraws } from './draws.js';
import { answerNll, evaluateGsm8k } from './eval/evaluate.js';
import { LanguageModel } from './model/model.js';
import type { TextTokenizer } from './model/text-tokenizer.js';
import type { GptConfig, ModelConfig } from './model/gpt.js';
import { decoderConfigOf } from './pretrained.js';
import { loraInit, readDecoderWeights } from './model/hf-checkpoint.js';
import type { DecoderConfig } from './model/decoder.js';
import { isHfModel, type ArmEntry, type DesignConfig, type LanguageSuite } from './schema.js';
import { baseDir, baseTokenizer, ensureBase, type BaseInfo } from './train/base.js';
import { trainLM, type TrainResult } from './train/trainer.js';

/** What the harness prepares for a cell, whichever engine trains it. */
export interface PreparedCell {
  s: LanguageSuite;
  cell: CellSpec<ArmEntry>;
  arm: ArmDefinition;
  design: DesignConfig;
  /** Learner updates planned (the row's budget). */
  steps: number;
  data: LoadedData;
  base: BaseInfo;
  /** The base checkpoint's folder: the vpt GPT's (model.safetensors, config.json, tokenizer.json) or the pretrained decoder's. */
  baseDir: string;
  /** The learner's shape: the vpt GPT's, or the decoder's (with the suite's sequence length and adapters). */
  config: ModelConfig;
  tokenizer: TextTokenizer;
  /** Training rows (probe rows held out). */
  rows: TokenRows;
  probeRows?: TokenRows;
  feedback: Gsm8kItem[];
  /** The feedback problems as padded teacher-forced rows (designer arms). */
  feedbackRows?: TokenRows;
  /** The tracked downstream loss's problems (never feedback). */
  validation: Gsm8kItem[];
  decontamination?: Record<string, unknown>;
  reads?: ReadRecord;
  draws: CellDraws;
  /** Whether the designer's one-step probe runs. */
  probing: boolean;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** The design settings of an arm row: the suite's, with the row's `design` overrides. */
export function designOf(s: LanguageSuite, row: ArmEntry): DesignConfig {
  const own = 'design' in row ? row.design : undefined;
  return { ...s.design, ...(own ?? {}) };
}

/** The cell record an arm reads, parsed (its status was checked by the runner). */
function readRecord(file: string): ReadRecord {
  try {
    return { file, record: JSON.parse(readFileSync(file, 'utf8')) as unknown };
  } catch (e) {
    throw new DataError(`${file}: cannot read the cell record this arm reads (${(e as Error).message})`);
  }
}

/** The designer arms' kind of feedback (their registry names). */
function feedbackKind(arm: string): 'true' | 'random' | 'shuffled' {
  return arm === 'random-feedback' ? 'random' : arm === 'shuffled-feedback' ? 'shuffled' : 'true';
}

export async function prepareLanguageCell(s: LanguageSuite, cell: CellSpec<ArmEntry>, paths: CellPaths, progress?: ProgressFn): Promise<PreparedCell> {
  const arm = armRegistry.get(cell.arm.arm);
  const design = designOf(s, cell.arm);
  // The runner's plan from the row's budget; each arm's learning-rate schedule spans its own steps.
  const steps = cell.plan?.steps ?? s.train.steps;
  const data = await loadData(s.data, paths.cacheDir);
  const base = await ensureBase(s, data, paths.cacheDir, (done, total) => progress?.({ phase: 'base', done, total }));
  const dir = baseDir(s, data, paths.cacheDir);
  const config: ModelConfig = isHfModel(s.model) ? decoderConfigOf(s) : (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { gpt: GptConfig }).gpt;
  const tokenizer = baseTokenizer(s, data, paths.cacheDir);
  const rng = new Rng(cell.seed);
  let cpt = data.cpt;
  let decontamination: Record<string, unknown> | undefined;
  if (cell.arm.decontaminate) {
    // Screened against the evaluation sets (GSM8K test + MATH test; train too with screenTrain), and scored
    // against the generator's leak labels where the stream has them.
    const refs = decontamReferences(data, s.decontamination);
    const d = decontaminateStream(data.cptRows.map((r) => r.problem), refs, s.decontamination);
    cpt = cpt.filter((_, i) => !d.removed.has(i));
    decontamination = { ...s.decontamination, ...decontamReport(d.removed, data.cptRows), references: refs.length, ms: d.ms };
  }
  // The validation slice (last problems of train) is fixed across seeds and arms and never used as feedback.
  const { pool, validation } = splitValidation(data.train, s.eval.downstream.size);
  const feedback = rng.fork('feedback').sample(pool.length, Math.min(design.feedbackSize, pool.length)).map((i) => pool[i] as Gsm8kItem);
  // Probe rows are held out of every arm's training stream (the suite's probeBatches, whatever a row
  // overrides), so all arms train on the same rows.
  const packed = packDocs(tokenizer, cpt, s.model.blockSize);
  const probeCount = Math.min(s.design.probeBatches * s.train.batchSize, Math.floor(packed.rows / 4));
  const rows = selectRows(packed, range(0, packed.rows - probeCount));
  const probeRows = probeCount > 0 ? selectRows(packed, range(packed.rows - probeCount, packed.rows)) : undefined;
  if (arm.needsWrongLabels && !rows.wrong.some((w) => w !== 0)) {
    throw new DataError(`arm '${cell.arm.arm}' needs the generator's wrong-token labels and the training stream has none (data.cptStream: no vpt_corrupt_spans)`);
  }
  const feedbackRows = arm.usesDesigner ? padDocs(tokenizer, feedback.map((f) => formatQA(f.question, f.answer))) : undefined;
  if (feedbackRows && feedbackRows.seqLen > config.blockSize) throw new Error(`a feedback problem has ${feedbackRows.seqLen} tokens, more than blockSize ${config.blockSize}`);
  const probing = probeRows !== undefined && design.probeBatches >= MIN_PROBE_BATCHES;
  // With accumulation every update reads `accum` microbatches: the draws list them in order.
  const draws = drawCell({
    rng, trainRows: rows.rows, batchSize: s.train.batchSize, steps: steps * (s.train.accum ?? 1), metaSteps: steps, design,
    ...(feedbackRows ? { designer: { feedbackRows, feedback: feedbackKind(arm.name), probing, eosId: tokenizer.eosId, blockSize: config.blockSize, ...familiesOf(feedback) } } : {}),
  });
  const reads = paths.reads ? readRecord(paths.reads) : undefined;
  return {
    s, cell, arm, design, steps, data, base, baseDir: dir, config, tokenizer, rows, feedback, validation, draws, probing,
    ...(probeRows ? { probeRows } : {}), ...(feedbackRows ? { feedbackRows } : {}), ...(decontamination ? { decontamination } : {}), ...(reads ? { reads } : {}),
  };
}

/** Training timings with measurement (validation tracking, the probe) taken out: it is not training. */
export function withoutMeasurement(t: Pick<TrainResult, 'wallMs' | 'msPerStep'>, measureMs: number, tokens: number): { wallMs: number; msPerStep: number; tokensPerSecond: number } {
  const wallMs = t.wallMs - measureMs;
  return { wallMs, msPerStep: t.msPerStep * (wallMs / t.wallMs), tokensPerSecond: (tokens / wallMs) * 1000 };
}

/** Metric keys → higher-is-better flags. */
export function directions(metrics: Record<string, unknown>): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const k of Object.keys(metrics)) {
    const name = k.split(',')[0] as string;
    if (name in HIGHER_IS_BETTER) out[k] = HIGHER_IS_BETTER[name] as boolean;
  }
  return out;
}

/** The meta step's cost against a learner step's, from the training time and the meta steps' own. */
export function metaShares(diagnostics: Record<string, number>, wallMs: number, steps: number): void {
  const metaMs = diagnostics.meta_ms_mean;
  const metaSteps = diagnostics.meta_steps;
  if (metaMs !== undefined && metaSteps !== undefined && Number.isFinite(metaMs)) {
    // Meta-step cost relative to one learner step (learner steps timed without the meta work).
    const metaTotal = metaMs * metaSteps;
    diagnostics.meta_fraction_of_step = metaMs / ((wallMs - metaTotal) / steps);
    diagnostics.meta_share_of_time = metaTotal / wallMs;
  }
}

/** Writes the per-sample outputs beside cell.json. */
export function writeSamples(dir: string, samples: readonly unknown[]): void {
  writeFileAtomic(join(dir, 'samples.jsonl'), samples.map((x) => JSON.stringify(x)).join('\n') + '\n');
}

/**
 * A pretrained decoder on tfjs: its weights in float32, with adapters initialised as the harness draws them for
 * both engines (loraInit); with LoRA only the adapters train.
 */
function loadDecoder(cfg: DecoderConfig, p: PreparedCell): LanguageModel {
  const arrays = { ...readDecoderWeights(p.baseDir, cfg), ...(cfg.lora ? loraInit(cfg, new Rng(p.cell.seed).fork('lora-init')) : {}) };
  return LanguageModel.fromArrays(cfg, arrays, p.tokenizer, cfg.lora ? (n) => /\.lora_[AB]$/.test(n) : () => true);
}

/** The tfjs engine: trains in this worker process, on the selected backend. */
export async function runOnTfjs(p: PreparedCell, paths: CellPaths, progress?: ProgressFn): Promise<CellOutcome> {
  const { s, steps } = p;
  const model = 'arch' in p.config ? loadDecoder(p.config, p) : LanguageModel.load(p.baseDir);
  const rng = new Rng(p.cell.seed);
  const rule = p.arm.create({
    model, design: p.design, rng: rng.fork('arm'), feedback: p.feedback, steps, rowLength: p.rows.seqLen,
    ...(p.feedbackRows ? { feedbackRows: p.feedbackRows } : {}), ...(p.probeRows ? { probeRows: p.probeRows } : {}),
    ...(p.reads ? { reads: p.reads } : {}), ...(p.draws.arm ? { draws: p.draws.arm } : {}),
  });
  const downstream: { step: number; nll: number }[] = [];
  let trackMs = 0;
  const track = async (updates: number): Promise<void> => {
    if (!p.validation.length) return;
    const t = performance.now();
    downstream.push({ step: updates, nll: (await answerNll(model, p.validation)).value });
    trackMs += performance.now() - t;
  };
  try {
    await track(0);
    trackMs = 0; // only tracking inside the training loop is subtracted from its wall time
    const trained = await trainLM({
      model, rows: p.rows, steps, batchSize: s.train.batchSize, optim: { ...s.train, totalSteps: steps }, rng: rng.fork('data'),
      batches: p.draws.batches, rule, logEvery: s.train.logEvery,
      onLog: async (pt) => {
        await track(pt.step + 1);
        progress?.({ phase: 'train', done: pt.step + 1, total: steps });
      },
    });
    const diagnostics: Record<string, number> = { ...((await rule.summary?.()) ?? {}), base_answer_nll: p.base.metrics['answer_nll,none']?.value ?? Number.NaN };
    // The probe's time (measure_ms) is measurement, like the validation tracking: not training time.
    const train = withoutMeasurement(trained, trackMs + (diagnostics.measure_ms ?? 0), steps * s.train.batchSize * s.model.blockSize);
    progress?.({ phase: 'eval', done: 0, total: 1 });
    const te = performance.now();
    const ev = await evaluateGsm8k(model, p.data.test, p.data.train, s.eval.gsm8k);
    const evalMs = performance.now() - te;
    writeSamples(paths.dir, ev.samples);
    metaShares(diagnostics, train.wallMs, steps);
    return {
      metrics: ev.metrics,
      higherIsBetter: directions(ev.metrics),
      diagnostics,
      dataHashes: p.data.hashes,
      baseHash: p.base.hash,
      steps: { planned: steps, done: steps },
      timings: { trainMs: train.wallMs, evalMs, msPerStep: train.msPerStep, tokensPerSecond: train.tokensPerSecond, totalMs: 0 },
      curves: { train: trained.curve, ...(downstream.length ? { downstream } : {}), ...((await rule.curves?.()) ?? {}) },
      extra: { memory: trained.memory, ...(p.decontamination ? { decontamination: p.decontamination } : {}) },
    };
  } finally {
    rule.dispose?.();
    model.dispose();
  }
}

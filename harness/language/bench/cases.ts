/**
 * What `vpt bench` measures: a configuration (model shape, batch, design settings, arms) taken from a suite
 * or from a named preset, and the data each case trains on. Presets with a vocabulary smaller than the
 * tokenizer's train on real embedded-data rows whose token ids are folded into the vocabulary (id mod V):
 * the content is meaningless but every shape, mask pattern and code path is the real one.
 */
import { armRegistry } from '../arms/index.js';
import type { BackendName } from '../../engine/backend.js';
import { formatQA } from '../data/numina.js';
import { packDocs, padDocs, type TokenRows } from '../data/pack.js';
import { rowToDoc } from '../data/sources.js';
import { DEFAULT_EMBEDDED, generateEmbedded, type EmbeddedDataConfig } from '../data/synth/embedded.js';
import { Tokenizer } from '../model/tokenizer.js';
import { SuiteError } from '../../errors.js';
import { applyOverrides } from '../../suite/overrides.js';
import type { TaskServices } from '../../tasks/contract.js';
import { gptModelOf, type DesignConfig, type LanguageSuite, type LanguageSuiteInput } from '../schema.js';

/** One benchmark configuration. */
export interface BenchConfig {
  /** Preset or suite name (table label). */
  name: string;
  source: 'preset' | 'suite';
  /** Model shape; `vocabSize` fixed for presets, else the tokenizer's. */
  model: { nLayer: number; nHead: number; nEmbd: number; blockSize: number; vocabSize?: number; maxPieces: number; maxNumber: number };
  batchSize: number;
  /** The suite's optimiser settings (the learning rate does not change the cost). */
  optim: LanguageSuite['train'];
  design: DesignConfig;
  /** Embedded-data generator settings the rows come from. */
  data: EmbeddedDataConfig;
  /** Distinct arm names to measure. */
  arms: string[];
  /** Backend its cases run on (a multi-backend bench measures one copy of the configuration per backend). Default: the bench's. */
  backend?: BackendName;
  /** Name of the configuration this copy was made from (its PyTorch reference runs once, under that name). Default `name`. */
  baseName?: string;
  /** The engine its cases run on: tfjs (default) or the PyTorch engine (`vpt bench --trainer torch`). */
  trainer?: 'tfjs' | 'torch';
  /** Engines the configuration can run on (default both): a 0.5B-parameter learner does not fit wasm's heap. */
  trainers?: ('tfjs' | 'torch')[];
  /** Microbatches per update (torch engine). Default 1. */
  accum?: number;
  /** A Hugging Face decoder's config.json (random weights) and what trains, in place of the vpt GPT. */
  hf?: { config: Record<string, unknown>; trainable: 'full' | { lora: { r: number; alpha: number; dropout: number; targets: string[] } } };
}

/** Copies of the configurations for the torch engine ("<config> on torch"), and the tfjs ones where they run. */
export function perTrainer(configs: readonly BenchConfig[], trainers: readonly ('tfjs' | 'torch')[]): BenchConfig[] {
  return configs.flatMap((c) => {
    const can = (t: 'tfjs' | 'torch'): boolean => trainers.includes(t) && (c.trainers ?? ['tfjs', 'torch']).includes(t);
    return [
      ...(can('tfjs') ? [c] : []),
      ...(can('torch') ? [{ ...c, name: `${c.name} on torch`, trainer: 'torch' as const, baseName: baseNameOf(c) }] : []),
    ];
  });
}

/** The configuration a per-backend copy was made from (its own name when it is not a copy). */
export function baseNameOf(c: BenchConfig): string {
  return c.baseName ?? c.name;
}

/** One copy of each configuration per backend, named "<config> on <backend>", so they are measured side by side. */
export function perBackend(configs: readonly BenchConfig[], backends: readonly BackendName[]): BenchConfig[] {
  if (backends.length < 2) return [...configs];
  return configs.flatMap((c) => backends.map((b) => ({ ...c, name: `${c.name} on ${b}`, backend: b, baseName: baseNameOf(c) })));
}

/**
 * Arms a bench case can run on its own: not those that read another cell's record (schedule-matched needs a
 * recorded trajectory; its steps cost what self-distill's do).
 */
function standalone(n: string): boolean {
  return armRegistry.get(n).reads === undefined;
}

/** Every registered arm that runs on its own, baseline first. */
function allArms(): string[] {
  return ['baseline', ...armRegistry.names().filter((n) => n !== 'baseline' && standalone(n))];
}

function fromParsed(s: LanguageSuite, source: BenchConfig['source'], vocabSize?: number, arms?: string[]): BenchConfig {
  const data = s.data.kind === 'embedded' ? (({ kind: _k, ...rest }) => rest)(s.data) : DEFAULT_EMBEDDED;
  return {
    name: s.name,
    source,
    model: { ...gptModelOf(s, 'vpt bench'), ...(vocabSize ? { vocabSize } : {}) },
    batchSize: s.train.batchSize,
    optim: s.train,
    design: s.design,
    data,
    arms: arms ?? [...new Set(['baseline', ...s.arms.map((a) => a.arm).filter(standalone)])],
  };
}

/** A suite's model, batch, design and arms (decontaminated variants cost the same and are measured once). */
export function configFromSuite(s: LanguageSuite): BenchConfig {
  return fromParsed(s, 'suite');
}

interface PresetDef {
  description: string;
  vocabSize: number;
  suite: LanguageSuiteInput;
  /** A Hugging Face decoder in place of the vpt GPT (the torch engine only), with microbatches per update. */
  hf?: BenchConfig['hf'];
  accum?: number;
  trainers?: BenchConfig['trainers'];
}

/** Qwen2.5-0.5B's config.json (huggingface.co/Qwen/Qwen2.5-0.5B): the shape, with random weights. */
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 896, intermediate_size: 4864, num_attention_heads: 14,
  num_hidden_layers: 24, num_key_value_heads: 2, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1e6, tie_word_embeddings: true,
  vocab_size: 151936, hidden_act: 'silu', torch_dtype: 'bfloat16',
};

/** The paper's language design at Qwen2.5-0.5B: K 64, a meta step every 8 updates, S the last 2 layers, its 6 × 256 designer. */
const PAPER_DESIGN = { topK: 64, alphaMax: 0.5, metaEvery: 8, burnIn: 8, subsetBlocks: 2, feedbackBatch: 8, designerWidth: 256, designerLayers: 6, designerHeads: 4 };

/** A Qwen2.5-0.5B-shaped preset; `name` heads its table (a suite name: no dots). The GPT keys only name the shape there; the engine builds the Qwen2 decoder. */
function qwenPreset(name: string, description: string, blockSize: number, trainable: NonNullable<BenchConfig['hf']>['trainable']): PresetDef {
  return {
    description, vocabSize: QWEN25_05B.vocab_size, accum: 8, trainers: ['torch'], hf: { config: QWEN25_05B, trainable },
    suite: {
      name, seeds: [1], model: { nLayer: 24, nHead: 14, nEmbd: 896, blockSize }, train: { batchSize: 4 }, design: PAPER_DESIGN, arms: [{ arm: 'baseline' }],
    },
  };
}


/**
 * The design settings of lm-ablation when issue 7 set the performance goals (S = the last block + head, K = 16,
 * r = 8, 32 feedback problems; lm-ablation itself now uses 16), shared by the GPT presets.
 */
const PRESET_DESIGN = { topK: 16, alphaMax: 0.5, metaEvery: 8, burnIn: 4, subsetBlocks: 1, feedbackBatch: 32 };

const PRESETS: Record<string, PresetDef> = {
  reference: {
    description: 'the performance goals\' reference GPT: vocab 96, width 128, 4 heads, 2 blocks, sequence 64, batch 16',
    vocabSize: 96,
    suite: {
      name: 'reference',
      seeds: [1],
      model: { nLayer: 2, nHead: 4, nEmbd: 128, blockSize: 64 },
      train: { batchSize: 16 },
      design: PRESET_DESIGN,
      arms: [{ arm: 'baseline' }],
    },
  },
  gpu: {
    description: 'a GPU-sized GPT for GPU runners (scripts/gpu-check.sh): vocab 96, width 512, 8 heads, 8 blocks, sequence 256, batch 32 (25M parameters)',
    vocabSize: 96,
    suite: {
      name: 'gpu',
      seeds: [1],
      model: { nLayer: 8, nHead: 8, nEmbd: 512, blockSize: 256 },
      train: { batchSize: 32 },
      // S = the last 2 of 8 blocks + head.
      design: { ...PRESET_DESIGN, subsetBlocks: 2 },
      arms: [{ arm: 'baseline' }],
    },
  },
  'qwen2.5-0.5b-lora': qwenPreset(
    'qwen25-05b-lora',
    "Qwen2.5-0.5B's shape (random weights), the paper's LoRA branch: r 8 on all seven projections, sequence 1024, microbatch 4 × 8, K 64, r = 8 (torch engine; a GPU)",
    1024, { lora: { r: 8, alpha: 16, dropout: 0.05, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] } },
  ),
  'qwen2.5-0.5b-full': qwenPreset(
    'qwen25-05b-full',
    "Qwen2.5-0.5B's shape (random weights), the paper's full-parameter branch: sequence 512, microbatch 4 × 8 (the paper accumulates 32), K 64, r = 8 (torch engine; a GPU)",
    512, 'full',
  ),
  tiny: {
    description: 'a few-second configuration for tests: vocab 64, width 16, 2 heads, 2 blocks, sequence 16, batch 2',
    vocabSize: 64,
    suite: {
      name: 'tiny',
      seeds: [1],
      data: { kind: 'embedded', trainSize: 32, testSize: 4, baseSize: 60, streamSize: 80 },
      model: { nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 16 },
      train: { batchSize: 2 },
      design: { topK: 4, metaEvery: 2, subsetBlocks: 1, feedbackSize: 8, feedbackBatch: 2, designerWidth: 8, designerHeads: 1 },
      arms: [{ arm: 'baseline' }],
    },
  },
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** Each preset's one-line description, by name. */
export function presetDescriptions(): Record<string, string> {
  return Object.fromEntries(Object.entries(PRESETS).map(([k, p]) => [k, p.description]));
}

/**
 * A named preset with every registered arm; `sets` are `--set key=value` overrides as for suites, and `parse` is
 * the core's suite validation (TaskServices.parseSuite).
 */
export function configFromPreset(name: string, sets: readonly string[], parse: TaskServices['parseSuite']): BenchConfig {
  const p = PRESETS[name];
  if (!p) throw new SuiteError(`unknown bench preset '${name}' (known: ${presetNames().join(', ')})`);
  const input = applyOverrides({ task: 'language', ...p.suite }, sets);
  const s = parse(input, `preset ${name}`);
  if (s.task !== 'language') throw new SuiteError(`preset ${name}: a ${s.task} suite; the GPT bench measures language suites`);
  const c = fromParsed(s as LanguageSuite, 'preset', p.vocabSize, allArms());
  return { ...c, ...(p.hf ? { hf: p.hf } : {}), ...(p.accum ? { accum: p.accum } : {}), ...(p.trainers ? { trainers: p.trainers } : {}) };
}

/**
 * Cuts each row to `len` positions, keeping the window that ends at its last answer token (its first `len`
 * positions when it has none): a feedback problem longer than a preset's short sequence keeps its answer, so it
 * still has a downstream loss (and shuffled-feedback can permute it).
 */
function truncateRows(r: TokenRows, len: number): TokenRows {
  if (r.seqLen <= len) return r;
  const L = r.seqLen;
  const out: TokenRows = { rows: r.rows, seqLen: len, inputs: new Int32Array(r.rows * len), targets: new Int32Array(r.rows * len), mask: new Float32Array(r.rows * len), wrong: new Uint8Array(r.rows * len) };
  for (let i = 0; i < r.rows; i++) {
    const m = r.mask.subarray(i * L, (i + 1) * L);
    const last = m.findLastIndex((x) => x !== 0);
    const from = i * L + Math.max(0, last + 1 - len);
    out.inputs.set(r.inputs.subarray(from, from + len), i * len);
    out.targets.set(r.targets.subarray(from, from + len), i * len);
    out.mask.set(r.mask.subarray(from, from + len), i * len);
    out.wrong.set(r.wrong.subarray(from, from + len), i * len);
  }
  return out;
}

function fold(r: TokenRows, vocabSize: number): TokenRows {
  return { ...r, inputs: r.inputs.map((x) => x % vocabSize), targets: r.targets.map((x) => x % vocabSize) };
}

/** The rows a case trains on and the feedback rows its designer reads, built as the base stage builds them. */
export function benchData(c: BenchConfig): { tokenizer: Tokenizer; vocabSize: number; rows: TokenRows; feedbackRows: TokenRows } {
  const d = generateEmbedded({ ...c.data, baseSize: Math.min(c.data.baseSize, 1500), streamSize: Math.min(c.data.streamSize, 1500) });
  const tokenizer = Tokenizer.build(d.base.map((r) => { const f = rowToDoc(r); return f.prompt + f.answer; }), { maxPieces: c.model.maxPieces, maxNumber: c.model.maxNumber });
  const vocabSize = c.model.vocabSize ?? tokenizer.vocabSize;
  const T = c.model.blockSize;
  let rows = packDocs(tokenizer, d.cpt.map(rowToDoc), T);
  if (rows.rows < c.batchSize) throw new Error(`bench config '${c.name}': ${rows.rows} packed rows, fewer than a batch of ${c.batchSize}`);
  const fbDocs = d.train.slice(0, Math.max(c.design.feedbackBatch, Math.min(c.design.feedbackSize, 256))).map((f) => formatQA(f.question, f.answer));
  let feedbackRows = truncateRows(padDocs(tokenizer, fbDocs), T);
  if (vocabSize < tokenizer.vocabSize) {
    rows = fold(rows, vocabSize);
    feedbackRows = fold(feedbackRows, vocabSize);
  }
  return { tokenizer, vocabSize, rows, feedbackRows };
}

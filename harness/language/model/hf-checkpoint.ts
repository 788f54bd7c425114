/**
 * A pretrained decoder in the Hugging Face layout, read and checked before anything trains: config.json (the
 * architecture and its shape), and model.safetensors or the shards model.safetensors.index.json lists, in bfloat16,
 * float16 or float32 (widened to float32 for tfjs). Every problem is one line naming the file or key.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataError } from '../../errors.js';
import { decodeSafetensorsTyped, type NamedArray } from '../../engine/safetensors.js';
import { Rng } from '../../engine/rng.js';
import { decoderShapes, loraShapes, PROJECTIONS, type DecoderArch, type DecoderConfig, type LoraConfig, type RopeScaling } from './decoder.js';

/** The architectures vpt runs, by config.json `architectures[0]` (or `model_type`). */
const ARCHITECTURES: Record<string, DecoderArch> = {
  Qwen2ForCausalLM: 'qwen2', qwen2: 'qwen2',
  Qwen3ForCausalLM: 'qwen3', qwen3: 'qwen3',
  LlamaForCausalLM: 'llama', llama: 'llama',
};

/** Dtypes the checkpoint's weights may be stored in. */
const WEIGHT_DTYPES = new Set(['F32', 'BF16', 'F16']);

function readJson(file: string, what: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new DataError(`${file}: cannot read ${what} (${(e as Error).message.split('\n')[0]})`);
  }
}

function num(cfg: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DataError(`${file}: key '${key}' is missing or not a number`);
  return v;
}

/** The model's shape from its config.json; `blockSize` is the suite's sequence length. */
export function readDecoderConfig(dir: string, blockSize: number, lora?: LoraConfig): DecoderConfig {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DataError(`model.path: ${dir} is not a folder (a model in the Hugging Face layout: config.json and model.safetensors)`);
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new DataError(`model.path: ${dir} has no config.json (a model in the Hugging Face layout: config.json and model.safetensors)`);
  const c = readJson(file, 'the model config');
  const named = (Array.isArray(c.architectures) ? (c.architectures[0] as string) : undefined) ?? (c.model_type as string | undefined);
  const arch = named === undefined ? undefined : ARCHITECTURES[named];
  if (!arch) throw new DataError(`${file}: architecture '${named ?? '(none)'}' is not one vpt runs (${Object.keys(ARCHITECTURES).filter((k) => k.endsWith('LM')).join(', ')})`);
  const D = num(c, 'hidden_size', file);
  const H = num(c, 'num_attention_heads', file);
  const maxPositions = num(c, 'max_position_embeddings', file, 32768);
  if (blockSize > maxPositions) throw new DataError(`model.blockSize: ${blockSize} is longer than the model's max_position_embeddings ${maxPositions} (${file})`);
  const rs = c.rope_scaling as Record<string, unknown> | null | undefined;
  let ropeScaling: RopeScaling | undefined;
  if (rs) {
    const type = (rs.rope_type ?? rs.type) as string;
    if (type !== 'llama3' && type !== 'linear' && type !== 'dynamic' && type !== 'default') throw new DataError(`${file}: rope_scaling type '${type}' is not one vpt runs (llama3, linear, dynamic)`);
    if (type !== 'default') {
      ropeScaling = {
        type, factor: num(rs, 'factor', file),
        ...(typeof rs.low_freq_factor === 'number' ? { lowFreqFactor: rs.low_freq_factor } : {}),
        ...(typeof rs.high_freq_factor === 'number' ? { highFreqFactor: rs.high_freq_factor } : {}),
        ...(typeof rs.original_max_position_embeddings === 'number' ? { originalMaxPositions: rs.original_max_position_embeddings } : {}),
      };
    }
  }
  const cfg: DecoderConfig = {
    arch, vocabSize: num(c, 'vocab_size', file), blockSize, nLayer: num(c, 'num_hidden_layers', file), nHead: H, nEmbd: D,
    kvHeads: num(c, 'num_key_value_heads', file, H), headDim: num(c, 'head_dim', file, D / H), intermediate: num(c, 'intermediate_size', file),
    ropeTheta: num(c, 'rope_theta', file, 10000), rmsEps: num(c, 'rms_norm_eps', file, 1e-6), tied: c.tie_word_embeddings === true, maxPositions,
    ...(ropeScaling ? { ropeScaling } : {}), ...(lora ? { lora } : {}),
  };
  if (cfg.nHead % cfg.kvHeads !== 0) throw new DataError(`${file}: num_attention_heads ${cfg.nHead} is not a multiple of num_key_value_heads ${cfg.kvHeads}`);
  const unknown = lora?.targets.filter((t) => !(PROJECTIONS as string[]).includes(t)) ?? [];
  if (unknown.length) throw new DataError(`model.trainable.lora.targets: ${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not a module of ${named} (its projections: ${PROJECTIONS.join(', ')})`);
  return cfg;
}

/** The weight files: model.safetensors, or the shards model.safetensors.index.json lists (each must exist). */
export function weightFiles(dir: string): string[] {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = readJson(index, 'the shard index').weight_map as Record<string, string> | undefined;
    if (!map || typeof map !== 'object') throw new DataError(`${index}: no 'weight_map'`);
    const shards = [...new Set(Object.values(map))].sort();
    const missing = shards.filter((f) => !existsSync(join(dir, f)));
    if (missing.length) throw new DataError(`${index}: shard ${missing[0]} is missing from ${dir}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`);
    return shards.map((f) => join(dir, f));
  }
  const single = join(dir, 'model.safetensors');
  if (!existsSync(single)) throw new DataError(`model.path: ${dir} has neither model.safetensors nor model.safetensors.index.json`);
  return [single];
}

/**
 * A fingerprint of the checkpoint, what its cells record as their base hash: config.json, and each weight file's
 * name, size and first and last MiB (hashing every byte of a 7B model would take minutes at every cell).
 */
export function checkpointFingerprint(dir: string): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(dir, 'config.json')));
  for (const file of weightFiles(dir)) {
    const size = statSync(file).size;
    h.update(`${basename(file)}\0${size}\0`);
    const fd = openSync(file, 'r');
    try {
      const chunk = Buffer.alloc(Math.min(size, 1 << 20));
      readSync(fd, chunk, 0, chunk.length, 0);
      h.update(chunk);
      readSync(fd, chunk, 0, chunk.length, Math.max(0, size - chunk.length));
      h.update(chunk);
    } finally {
      closeSync(fd);
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** Parameter count of a config (adapters excluded). */
export function decoderParameterCount(cfg: DecoderConfig): number {
  return Object.values(decoderShapes(cfg)).reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
}

/** The weights as float32 arrays under their checkpoint names, checked against the config's shapes. */
export function readDecoderWeights(dir: string, cfg: DecoderConfig): Record<string, NamedArray> {
  const want = decoderShapes(cfg);
  const out: Record<string, NamedArray> = {};
  for (const file of weightFiles(dir)) {
    const { tensors } = decodeSafetensorsTyped(readFileSync(file), file);
    for (const [name, t] of Object.entries(tensors)) {
      if (!(name in want)) {
        if (cfg.tied && name === 'lm_head.weight') continue; // tied: the head is the embedding table
        continue; // buffers and extras (e.g. rotary inv_freq) are not parameters
      }
      if (!(t.data instanceof Float32Array)) throw new DataError(`${file}: tensor '${name}' is not a float tensor`);
      if (JSON.stringify(t.shape) !== JSON.stringify(want[name])) throw new DataError(`${file}: tensor '${name}' has shape ${JSON.stringify(t.shape)}, config.json implies ${JSON.stringify(want[name])}`);
      out[name] = { shape: t.shape, data: t.data };
    }
  }
  const missing = Object.keys(want).filter((n) => !(n in out));
  if (missing.length) throw new DataError(`${dir}: the checkpoint lacks ${missing[0]}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''}`);
  return out;
}

/** The dtypes the weight files store, for the one-line refusal of one vpt cannot run. */
export function checkWeightDtypes(dir: string): void {
  for (const file of weightFiles(dir)) {
    const buf = readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype?: string }>;
    for (const [name, e] of Object.entries(header)) {
      if (name !== '__metadata__' && e.dtype && !WEIGHT_DTYPES.has(e.dtype)) throw new DataError(`${file}: tensor '${name}' is stored as ${e.dtype}; vpt runs float32, bfloat16 and float16 weights`);
    }
  }
}

/**
 * The adapters' initial values, drawn by the harness so both engines start from the same ones: A uniform in
 * ±1/√(in) (peft's kaiming-uniform with a = √5), B zero, so a LoRA learner starts as its base model.
 */
export function loraInit(cfg: DecoderConfig, rng: Rng): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  for (const [name, shape] of Object.entries(loraShapes(cfg))) {
    const n = shape[0]! * shape[1]!;
    const data = new Float32Array(n);
    if (name.endsWith('.lora_A')) {
      const bound = 1 / Math.sqrt(shape[1]!);
      for (let i = 0; i < n; i++) data[i] = (2 * rng.next() - 1) * bound;
    }
    out[name] = { shape, data };
  }
  return out;
}

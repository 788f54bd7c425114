/**
 * Tiny random decoders written in the Hugging Face layout (config.json + bfloat16 safetensors, optionally sharded
 * with model.safetensors.index.json), and a float64 reference forward written straight from the architectures'
 * definitions (RMSNorm, RoPE with its scalings, grouped-query attention, SwiGLU), to check vpt's implementations
 * against.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../harness/engine/rng.js';

export interface TinyDecoder {
  arch: 'qwen2' | 'qwen3' | 'llama';
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  tied: boolean;
  ropeTheta?: number;
  ropeScaling?: Record<string, unknown>;
  maxPositions?: number;
}

const ARCH = { qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', llama: 'LlamaForCausalLM' } as const;

/** float32 -> bfloat16 bits, round to nearest even (what torch's .to(bfloat16) does). */
function toBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0] as number;
  const rounded = u + 0x7fff + ((u >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

function bf16Value(bits: number): number {
  return new Float32Array(new Uint32Array([bits << 16]).buffer)[0] as number;
}

/** Weight shapes under Hugging Face's names ([out, in] for projections). */
export function shapesOf(t: TinyDecoder): Record<string, number[]> {
  const hd = t.hidden / t.heads;
  const out: Record<string, number[]> = { 'model.embed_tokens.weight': [t.vocab, t.hidden] };
  for (let i = 0; i < t.layers; i++) {
    const p = `model.layers.${i}.`;
    out[`${p}input_layernorm.weight`] = [t.hidden];
    out[`${p}self_attn.q_proj.weight`] = [t.heads * hd, t.hidden];
    out[`${p}self_attn.k_proj.weight`] = [t.kvHeads * hd, t.hidden];
    out[`${p}self_attn.v_proj.weight`] = [t.kvHeads * hd, t.hidden];
    out[`${p}self_attn.o_proj.weight`] = [t.hidden, t.heads * hd];
    if (t.arch === 'qwen2') {
      out[`${p}self_attn.q_proj.bias`] = [t.heads * hd];
      out[`${p}self_attn.k_proj.bias`] = [t.kvHeads * hd];
      out[`${p}self_attn.v_proj.bias`] = [t.kvHeads * hd];
    }
    if (t.arch === 'qwen3') {
      out[`${p}self_attn.q_norm.weight`] = [hd];
      out[`${p}self_attn.k_norm.weight`] = [hd];
    }
    out[`${p}post_attention_layernorm.weight`] = [t.hidden];
    out[`${p}mlp.gate_proj.weight`] = [t.intermediate, t.hidden];
    out[`${p}mlp.up_proj.weight`] = [t.intermediate, t.hidden];
    out[`${p}mlp.down_proj.weight`] = [t.hidden, t.intermediate];
  }
  out['model.norm.weight'] = [t.hidden];
  if (!t.tied) out['lm_head.weight'] = [t.vocab, t.hidden];
  return out;
}

function safetensorsBf16(tensors: Record<string, { shape: number[]; bits: Uint16Array }>): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const n of names) {
    const t = tensors[n]!;
    header[n] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + 2 * t.bits.length] };
    offset += 2 * t.bits.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  const buf = Buffer.alloc(8 + json.length + offset);
  buf.writeBigUInt64LE(BigInt(json.length), 0);
  buf.write(json, 8);
  let pos = 8 + json.length;
  for (const n of names) {
    const t = tensors[n]!;
    Buffer.from(t.bits.buffer, t.bits.byteOffset, t.bits.byteLength).copy(buf, pos);
    pos += t.bits.byteLength;
  }
  return buf;
}

/**
 * Writes a random checkpoint into `dir` in bfloat16 (norm weights near 1, others N(0, 0.08²)); `shards` > 1 splits
 * it into model-0000i-of-0000n.safetensors files with an index. Returns the weights as the file stores them (float).
 */
export function writeTinyDecoder(dir: string, t: TinyDecoder, seed = 1, shards = 1): Record<string, { shape: number[]; data: Float64Array }> {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const weights: Record<string, { shape: number[]; data: Float64Array }> = {};
  const stored: Record<string, { shape: number[]; bits: Uint16Array }> = {};
  for (const [name, shape] of Object.entries(shapesOf(t))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const bits = new Uint16Array(n);
    const data = new Float64Array(n);
    const isNorm = /norm\.weight$/.test(name);
    for (let i = 0; i < n; i++) {
      bits[i] = toBf16(isNorm ? 1 + 0.1 * rng.normal() : 0.08 * rng.normal());
      data[i] = bf16Value(bits[i] as number);
    }
    weights[name] = { shape, data };
    stored[name] = { shape, bits };
  }
  const config: Record<string, unknown> = {
    architectures: [ARCH[t.arch]], model_type: t.arch, vocab_size: t.vocab, hidden_size: t.hidden, num_hidden_layers: t.layers,
    num_attention_heads: t.heads, num_key_value_heads: t.kvHeads, intermediate_size: t.intermediate, rope_theta: t.ropeTheta ?? 10000,
    rms_norm_eps: 1e-6, tie_word_embeddings: t.tied, max_position_embeddings: t.maxPositions ?? 512, torch_dtype: 'bfloat16',
    ...(t.ropeScaling ? { rope_scaling: t.ropeScaling } : {}),
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  if (shards <= 1) {
    writeFileSync(join(dir, 'model.safetensors'), safetensorsBf16(stored));
    return weights;
  }
  const names = Object.keys(stored).sort();
  const map: Record<string, string> = {};
  for (let k = 0; k < shards; k++) {
    const file = `model-0000${k + 1}-of-0000${shards}.safetensors`;
    const part: Record<string, { shape: number[]; bits: Uint16Array }> = {};
    names.filter((_, i) => i % shards === k).forEach((n) => {
      part[n] = stored[n]!;
      map[n] = file;
    });
    writeFileSync(join(dir, file), safetensorsBf16(part));
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: map }, null, 2));
  return weights;
}

type W = Record<string, { shape: number[]; data: Float64Array }>;

function matvecT(w: { shape: number[]; data: Float64Array }, x: Float64Array, bias?: { data: Float64Array }): Float64Array {
  const [o, n] = w.shape as [number, number];
  const y = new Float64Array(o);
  for (let r = 0; r < o; r++) {
    let s = bias ? (bias.data[r] as number) : 0;
    for (let c = 0; c < n; c++) s += (w.data[r * n + c] as number) * (x[c] as number);
    y[r] = s;
  }
  return y;
}

function rms(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ms = 0;
  for (const v of x) ms += v * v;
  ms /= x.length;
  const k = 1 / Math.sqrt(ms + eps);
  return x.map((v, i) => v * k * (w[i] as number));
}

/** RoPE inverse frequencies, as transformers' rope_utils defines them (default, linear, llama3). */
export function referenceInverseFrequencies(t: TinyDecoder): number[] {
  const hd = t.hidden / t.heads;
  const base = t.ropeTheta ?? 10000;
  let inv = Array.from({ length: hd / 2 }, (_, j) => 1 / base ** ((2 * j) / hd));
  const sc = t.ropeScaling as { rope_type?: string; factor: number; low_freq_factor?: number; high_freq_factor?: number; original_max_position_embeddings?: number } | undefined;
  if (sc?.rope_type === 'linear') inv = inv.map((f) => f / sc.factor);
  if (sc?.rope_type === 'llama3') {
    const old = sc.original_max_position_embeddings ?? 512;
    const lowWave = old / (sc.low_freq_factor ?? 1);
    const highWave = old / (sc.high_freq_factor ?? 4);
    inv = inv.map((f) => {
      const wave = (2 * Math.PI) / f;
      if (wave < highWave) return f;
      if (wave > lowWave) return f / sc.factor;
      const smooth = (old / wave - (sc.low_freq_factor ?? 1)) / ((sc.high_freq_factor ?? 4) - (sc.low_freq_factor ?? 1));
      return (1 - smooth) * (f / sc.factor) + smooth * f;
    });
  }
  return inv;
}

/** Logits [T][V] of one sequence, in float64, position by position (no batching, no masks: causal by construction). */
export function referenceLogits(t: TinyDecoder, w: W, ids: number[]): number[][] {
  const hd = t.hidden / t.heads;
  const group = t.heads / t.kvHeads;
  const inv = referenceInverseFrequencies(t);
  const rope = (v: Float64Array, pos: number): Float64Array => {
    const out = new Float64Array(hd);
    for (let j = 0; j < hd / 2; j++) {
      const a = pos * inv[j]!;
      const [c, s] = [Math.cos(a), Math.sin(a)];
      out[j] = v[j]! * c - v[j + hd / 2]! * s;
      out[j + hd / 2] = v[j + hd / 2]! * c + v[j]! * s;
    }
    return out;
  };
  const E = w['model.embed_tokens.weight']!;
  let xs = ids.map((id) => E.data.slice(id * t.hidden, (id + 1) * t.hidden));
  for (let l = 0; l < t.layers; l++) {
    const p = `model.layers.${l}.`;
    const qs: Float64Array[][] = [];
    const ks: Float64Array[][] = [];
    const vs: Float64Array[][] = [];
    xs.forEach((x, pos) => {
      const a = rms(x, w[`${p}input_layernorm.weight`]!.data, 1e-6);
      const q = matvecT(w[`${p}self_attn.q_proj.weight`]!, a, w[`${p}self_attn.q_proj.bias`]);
      const k = matvecT(w[`${p}self_attn.k_proj.weight`]!, a, w[`${p}self_attn.k_proj.bias`]);
      const v = matvecT(w[`${p}self_attn.v_proj.weight`]!, a, w[`${p}self_attn.v_proj.bias`]);
      const head = (z: Float64Array, h: number, norm?: string): Float64Array => {
        const part = z.slice(h * hd, (h + 1) * hd);
        return norm ? rms(part, w[norm]!.data, 1e-6) : part;
      };
      qs.push(Array.from({ length: t.heads }, (_, h) => rope(head(q, h, t.arch === 'qwen3' ? `${p}self_attn.q_norm.weight` : undefined), pos)));
      ks.push(Array.from({ length: t.kvHeads }, (_, h) => rope(head(k, h, t.arch === 'qwen3' ? `${p}self_attn.k_norm.weight` : undefined), pos)));
      vs.push(Array.from({ length: t.kvHeads }, (_, h) => head(v, h)));
    });
    xs = xs.map((x, pos) => {
      const merged = new Float64Array(t.heads * hd);
      for (let h = 0; h < t.heads; h++) {
        const kv = Math.floor(h / group);
        const scores = Array.from({ length: pos + 1 }, (_, j) => qs[pos]![h]!.reduce((s, qv, d) => s + qv * ks[j]![kv]![d]!, 0) / Math.sqrt(hd));
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let d = 0; d < hd; d++) merged[h * hd + d] = e.reduce((s, ej, j) => s + (ej / z) * vs[j]![kv]![d]!, 0);
      }
      const o = matvecT(w[`${p}self_attn.o_proj.weight`]!, merged);
      const h1 = x.map((v, i) => v + o[i]!);
      const m2 = rms(h1, w[`${p}post_attention_layernorm.weight`]!.data, 1e-6);
      const g = matvecT(w[`${p}mlp.gate_proj.weight`]!, m2);
      const u = matvecT(w[`${p}mlp.up_proj.weight`]!, m2);
      const act = g.map((gv, i) => (gv / (1 + Math.exp(-gv))) * u[i]!);
      const down = matvecT(w[`${p}mlp.down_proj.weight`]!, act);
      return h1.map((v, i) => v + down[i]!);
    });
  }
  const head = w[t.tied ? 'model.embed_tokens.weight' : 'lm_head.weight']!;
  return xs.map((x) => Array.from(matvecT(head, rms(x, w['model.norm.weight']!.data, 1e-6))));
}

/** GPT-2's reversible byte → printable character map (byte-level BPE's alphabet). */
function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i] as number)]));
}

/**
 * A byte-level BPE tokenizer.json with no merges (every byte one token, ids 0..255 in byte order) and
 * `<|endoftext|>` as id 256, with a tokenizer_config.json naming it: any text round-trips, in 257 ids.
 */
export function writeByteTokenizer(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const map = bytesToUnicode();
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[map.get(b) as string] = b;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [{ id: 256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null, pre_tokenizer: byteLevel, post_processor: null, decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|endoftext|>', model_max_length: 1024 }));
}

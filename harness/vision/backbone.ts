/**
 * A pretrained vision backbone named by `model.backbone`: a folder in a Hugging Face layout (config.json +
 * model.safetensors), Dinov2Model, Dinov2WithRegistersModel or DINOv3ViTModel (model_type dinov3_vit), which the torch
 * engine loads (vpt_torch/vision/hf_backbone.py picks dinov2.py or dinov3.py by model_type). The harness reads its
 * config.json to check it against the suite before any work, keys the cache by it, and draws the projection head the
 * learner starts with.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Rng } from '../engine/rng.js';
import { configHash } from '../suite/hash.js';
import { initHeadParams } from './head.js';
import type { HostArrays } from './vit.js';
import { dinoModelConfig, type VisionConfig } from './schema.js';

export interface BackboneConfig {
  hiddenSize: number;
  layers: number;
  heads: number;
  patchSize: number;
  imageSize: number;
  registers: number;
  architecture: string;
}

/** The model_types a backbone folder may have, and the architecture each names when config.json lists none. */
export const BACKBONE_MODEL_TYPES: Readonly<Record<string, string>> = {
  dinov2: 'Dinov2Model', dinov2_with_registers: 'Dinov2WithRegistersModel', dinov3_vit: 'DINOv3ViTModel',
};

/** config.json of a backbone folder, or one line saying what is wrong with the folder. */
export function readBackboneConfig(dir: string): BackboneConfig {
  const file = join(dir, 'config.json');
  if (!existsSync(dir)) throw new Error(`model.backbone: ${dir}: no such folder`);
  if (!existsSync(file)) throw new Error(`model.backbone: ${file}: no such file (a backbone folder holds config.json and model.safetensors)`);
  if (!existsSync(join(dir, 'model.safetensors'))) throw new Error(`model.backbone: ${join(dir, 'model.safetensors')}: no such file`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`model.backbone: ${file}: not JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`model.backbone: ${file}: not a JSON object`);
  const type = raw.model_type;
  if (typeof type !== 'string' || !Object.hasOwn(BACKBONE_MODEL_TYPES, type)) {
    throw new Error(`model.backbone: ${file}: model_type ${JSON.stringify(type)} is not one of ${Object.keys(BACKBONE_MODEL_TYPES).map((t) => `'${t}'`).join(', ')}`);
  }
  const num = (k: string, dflt?: number): number => {
    const v = raw[k] ?? dflt;
    if (v === undefined) throw new Error(`model.backbone: ${file}: missing number '${k}'`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < (k === 'num_register_tokens' ? 0 : 1)) {
      throw new Error(`model.backbone: ${file}: '${k}' is ${JSON.stringify(v)}, not a ${k === 'num_register_tokens' ? 'non-negative' : 'positive'} integer`);
    }
    return v;
  };
  const v3 = type === 'dinov3_vit';
  const archs = Array.isArray(raw.architectures) ? (raw.architectures as unknown[]) : [];
  const b: BackboneConfig = {
    hiddenSize: num('hidden_size'), layers: num('num_hidden_layers'), heads: num('num_attention_heads'), patchSize: num('patch_size'),
    // DINOv3's positions are RoPE over normalised coordinates: image_size (224 when absent, as transformers has it) bounds nothing.
    imageSize: num('image_size', v3 ? 224 : undefined), registers: num('num_register_tokens', 0),
    architecture: String(archs[0] ?? BACKBONE_MODEL_TYPES[type]),
  };
  if (b.hiddenSize % b.heads !== 0) throw new Error(`model.backbone: ${file}: num_attention_heads ${b.heads} does not divide hidden_size ${b.hiddenSize}`);
  if (v3 && (b.hiddenSize / b.heads) % 4 !== 0) {
    throw new Error(`model.backbone: ${file}: head dim ${b.hiddenSize / b.heads} (hidden_size / num_attention_heads) is not a multiple of 4, which DINOv3's 2-D RoPE needs`);
  }
  return b;
}

/** Where the suite and the backbone's config disagree (one line each), before any work. */
export function backboneProblems(cfg: VisionConfig, trainer: string | undefined): string[] {
  const dir = cfg.model.backbone;
  if (!dir) return [];
  if (trainer !== 'torch') return [`model.backbone: a pretrained backbone trains on the torch engine; set trainer: 'torch' (or --trainer torch)`];
  // A missing folder is reported with every other missing input (and what to get) by the task's preflight.
  if (!existsSync(dir)) return [];
  let b: BackboneConfig;
  try {
    b = readBackboneConfig(dir);
  } catch (e) {
    return [(e as Error).message];
  }
  const out: string[] = [];
  const m = cfg.model;
  const file = join(dir, 'config.json');
  const pairs: [string, number, string, number][] = [
    ['model.patchSize', m.patchSize, 'patch_size', b.patchSize], ['model.width', m.width, 'hidden_size', b.hiddenSize],
    ['model.depth', m.depth, 'num_hidden_layers', b.layers], ['model.heads', m.heads, 'num_attention_heads', b.heads],
  ];
  for (const [key, v, hk, hv] of pairs) if (v !== hv) out.push(`${key}: ${v} does not match ${hk} ${hv} in ${file}`);
  if (m.imageSize % b.patchSize !== 0) out.push(`model.imageSize: ${m.imageSize} is not a multiple of the backbone's patch_size ${b.patchSize} (${file})`);
  for (const stage of ['train'] as const) {
    const s = cfg[stage].augment.localSize;
    if (s % b.patchSize !== 0) out.push(`${stage}.augment.localSize: ${s} is not a multiple of the backbone's patch_size ${b.patchSize} (${file})`);
  }
  return out;
}

/** The cache key of a pretrained backbone: its folder, config and weights file (size and modification time). */
export function backboneHash(cfg: Pick<VisionConfig, 'model' | 'base'>): string {
  const dir = resolve(cfg.model.backbone as string);
  const st = statSync(join(dir, 'model.safetensors'));
  return configHash({ backbone: dir, config: readFileSync(join(dir, 'config.json'), 'utf8'), bytes: st.size, mtime: st.mtimeMs, model: cfg.model, seed: cfg.base.seed });
}

/** The projection head a pretrained backbone starts with (drawn from base.seed, the same for every cell). */
export function backboneHead(cfg: Pick<VisionConfig, 'model' | 'base'>): HostArrays {
  const m = dinoModelConfig(cfg.model);
  return initHeadParams(m.vit.width, m.head, new Rng(cfg.base.seed).fork('init').fork('head'));
}

/**
 * A vision suite's data: the unlabeled pretraining pool, the designer's labelled feedback images, and the
 * probes' train / validation / test splits, from the embedded generator or from files in published layouts.
 * Every split is hashed (its pixels and annotations), so results and caches name exactly what they saw.
 */
import { createHash } from 'node:crypto';
import { Rng } from '../../engine/rng.js';
import type { VisionDataConfig } from '../schema.js';
import { ade20kInfo, loadAde20k } from './ade20k.js';
import { imagenetInfo, loadImageFolder, readSynsetMapping } from './imagenet.js';
import { loadImageTree } from './image-tree.js';
import type { LoadOptions } from './load-common.js';
import { loadNyuDepth, NYU_INFO } from './nyuv2.js';
import { generateSceneData, sceneLabelInfo } from './scenes.js';
import { selectSplit, type VisionLabelInfo, type VisionSplit } from './types.js';

/** Bumped when the generator's output changes for the same settings. */
export const SCENE_GENERATOR_VERSION = 2;

export interface ProbeSplitSet {
  train: VisionSplit;
  validation: VisionSplit;
  test: VisionSplit;
}

export interface VisionData {
  unlabeled: VisionSplit;
  /** Labelled feedback images for a designer, per annotation kind (the same split when one source has both). */
  feedback: { segmentation?: VisionSplit; depth?: VisionSplit };
  probes: { segmentation?: ProbeSplitSet; depth?: ProbeSplitSet; classification?: ProbeSplitSet };
  info: VisionLabelInfo;
  /** sha256 (hex, 16 chars) of each split's contents, keyed by role. */
  hashes: Record<string, string>;
}

/** Hash of a split's pixels and annotations. */
export function splitHash(s: VisionSplit): string {
  const h = createHash('sha256');
  h.update(`${s.n}:${s.size}:${s.labelSize}`);
  for (const a of [s.images, s.labels, s.seg, s.depth]) {
    h.update(a ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : new Uint8Array(0));
    h.update('|');
  }
  return h.digest('hex').slice(0, 16);
}

/** Splits `s` into (rest, held-out) with `fraction` held out, chosen by `rng` (at least one each when n ≥ 2). */
export function holdOut(s: VisionSplit, fraction: number, rng: Rng): { rest: VisionSplit; held: VisionSplit } {
  const order = rng.shuffle(Array.from({ length: s.n }, (_, i) => i));
  let k = Math.round(s.n * fraction);
  if (fraction > 0 && s.n >= 2) k = Math.min(s.n - 1, Math.max(1, k));
  const held = order.slice(0, k).sort((a, b) => a - b);
  const rest = order.slice(k).sort((a, b) => a - b);
  return { rest: selectSplit(s, rest), held: selectSplit(s, held) };
}

function hashAll(d: Omit<VisionData, 'hashes'>): Record<string, string> {
  const out: Record<string, string> = { unlabeled: splitHash(d.unlabeled) };
  for (const [k, v] of Object.entries(d.feedback)) if (v) out[`feedback.${k}`] = splitHash(v);
  for (const [task, set] of Object.entries(d.probes)) {
    if (!set) continue;
    for (const role of ['train', 'validation', 'test'] as const) out[`${task}.${role}`] = splitHash(set[role]);
  }
  return out;
}

/** Loads (or generates) the data a vision suite declares, at the model's input size. */
export function loadVisionData(cfg: VisionDataConfig, imageSize: number, onBadFile?: (line: string) => void): VisionData {
  if (cfg.kind === 'embedded') {
    const s = generateSceneData({ ...cfg, size: imageSize });
    const set = { train: s.probeTrain, validation: s.validation, test: s.test };
    const d = { unlabeled: s.unlabeled, feedback: { segmentation: s.feedback, depth: s.feedback }, probes: { segmentation: set, depth: set, classification: set }, info: sceneLabelInfo(cfg.label) };
    return { ...d, hashes: { ...hashAll(d), generator: `scenes-v${SCENE_GENERATOR_VERSION}` } };
  }
  const opts: LoadOptions = { size: imageSize, limit: cfg.limit, ...(onBadFile ? { onBadFile } : {}) };
  const rng = new Rng(cfg.seed);
  const info: VisionLabelInfo = { numClasses: 0, segClasses: 0, maxDepth: 0 };
  const d: Omit<VisionData, 'hashes'> = { unlabeled: loadImageTree(cfg.unlabeled, opts), feedback: {}, probes: {}, info };
  const carve = (train: VisionSplit, label: string, withFeedback: boolean): { train: VisionSplit; validation: VisionSplit; feedback?: VisionSplit } => {
    const v = holdOut(train, cfg.validationFraction, rng.fork(`${label}/validation`));
    if (!withFeedback || cfg.feedbackFraction === 0) return { train: v.rest, validation: v.held };
    const f = holdOut(v.rest, cfg.feedbackFraction, rng.fork(`${label}/feedback`));
    return { train: f.rest, validation: v.held, feedback: f.held };
  };
  if (cfg.ade20k) {
    const c = carve(loadAde20k(cfg.ade20k, 'training', opts), 'ade20k', true);
    d.probes.segmentation = { train: c.train, validation: c.validation, test: loadAde20k(cfg.ade20k, 'validation', opts) };
    if (c.feedback) d.feedback.segmentation = c.feedback;
    Object.assign(info, { segClasses: ade20kInfo(cfg.ade20k).segClasses, segNames: ade20kInfo(cfg.ade20k).segNames });
  }
  if (cfg.nyuv2Train || cfg.nyuv2Test) {
    if (!cfg.nyuv2Train || !cfg.nyuv2Test) throw new Error('data.nyuv2Train and data.nyuv2Test must be given together');
    const c = carve(loadNyuDepth(cfg.nyuv2Train, opts), 'nyuv2', true);
    d.probes.depth = { train: c.train, validation: c.validation, test: loadNyuDepth(cfg.nyuv2Test, opts) };
    if (c.feedback) d.feedback.depth = c.feedback;
    info.maxDepth = NYU_INFO.maxDepth;
  }
  if (cfg.imagenetTrain || cfg.imagenetTest) {
    if (!cfg.imagenetTrain || !cfg.imagenetTest || !cfg.synsetMapping) throw new Error('data.imagenetTrain, data.imagenetTest and data.synsetMapping must be given together');
    const mapping = readSynsetMapping(cfg.synsetMapping);
    const c = carve(loadImageFolder(cfg.imagenetTrain, mapping, opts), 'imagenet', false);
    d.probes.classification = { train: c.train, validation: c.validation, test: loadImageFolder(cfg.imagenetTest, mapping, opts) };
    Object.assign(info, { numClasses: imagenetInfo(mapping).numClasses, classNames: imagenetInfo(mapping).classNames });
  }
  return { ...d, hashes: hashAll(d) };
}

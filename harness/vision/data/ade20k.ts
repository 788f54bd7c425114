/**
 * ADE20K in the ADEChallengeData2016 layout (SceneParsing): `images/<split>/*.jpg` with
 * `annotations/<split>/<same name>.png`, 8-bit class maps where 0 = "other" (ignored) and 1..150 are the
 * classes, mapped to 0..149 (mmseg's reduce_zero_label), 0 → IGNORE_LABEL.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BadImageError, readImage, resizeNearest, resizeRgbArea, singleChannel, toRgbFloat } from './image-io.js';
import { loadAll, resolved, type LoadOptions } from './load-common.js';
import { IGNORE_LABEL, type VisionLabelInfo, type VisionSplit } from './types.js';

export const ADE20K_CLASSES = 150;

/** The ADEChallengeData2016 folder: `root` itself or `root/ADEChallengeData2016`. */
export function ade20kRoot(root: string): string {
  const nested = join(root, 'ADEChallengeData2016');
  return existsSync(join(nested, 'images')) ? nested : root;
}

/** Class names from objectInfo150.csv (next to or above the data folder), if present. */
export function ade20kClassNames(root: string): string[] | undefined {
  for (const f of [join(root, 'objectInfo150.csv'), join(root, '..', 'objectInfo150.csv')]) {
    if (!existsSync(f)) continue;
    const rows = readFileSync(f, 'utf8').trim().split('\n').slice(1);
    return rows.map((r) => (r.split(',').slice(5).join(',').split(';')[0] ?? '').trim());
  }
  return undefined;
}

export function ade20kInfo(root: string): VisionLabelInfo {
  const names = ade20kClassNames(root);
  return { numClasses: 0, segClasses: ADE20K_CLASSES, maxDepth: 0, ...(names ? { segNames: names } : {}) };
}

/** ADE20K class map (file values) -> 0..149 with IGNORE_LABEL for 0; values above 150 are an error. */
export function reduceZeroLabel(map: Uint8Array | Uint16Array, file: string): Uint8Array {
  const out = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) {
    const v = map[i] as number;
    if (v > ADE20K_CLASSES) throw new BadImageError(file, `class value ${v} at pixel ${i} exceeds ${ADE20K_CLASSES}`);
    out[i] = v === 0 ? IGNORE_LABEL : v - 1;
  }
  return out;
}

/** Loads one split ('training' or 'validation') with images resized to `size` and labels to `labelSize`. */
export function loadAde20k(root: string, split: string, opts: LoadOptions = {}): VisionSplit {
  const base = ade20kRoot(root);
  const imgDir = join(base, 'images', split);
  const annDir = join(base, 'annotations', split);
  if (!existsSync(imgDir)) throw new Error(`${imgDir}: no such folder (expected ADEChallengeData2016/images/${split})`);
  if (!existsSync(annDir)) throw new Error(`${annDir}: no such folder (expected ADEChallengeData2016/annotations/${split})`);
  const { size, labelSize, limit } = resolved(opts);
  let files = readdirSync(imgDir).filter((f) => /\.jpe?g$/i.test(f)).sort();
  if (limit > 0) files = files.slice(0, limit);
  if (files.length === 0) throw new Error(`${imgDir}: no .jpg images`);
  const samples = loadAll(files, (f) => {
    const imgFile = join(imgDir, f);
    const annFile = join(annDir, f.replace(/\.jpe?g$/i, '.png'));
    if (!existsSync(annFile)) throw new BadImageError(annFile, `missing (the annotation of ${f})`);
    const img = readImage(imgFile);
    const ann = readImage(annFile);
    if (ann.width !== img.width || ann.height !== img.height) {
      throw new BadImageError(annFile, `annotation is ${ann.width}×${ann.height}, image is ${img.width}×${img.height}`);
    }
    const labels = reduceZeroLabel(singleChannel(ann, annFile), annFile);
    return {
      id: basename(imgFile),
      rgb: resizeRgbArea(toRgbFloat(img), img.width, img.height, size),
      seg: resizeNearest(labels, ann.width, ann.height, labelSize, (n) => new Uint8Array(n)),
    };
  }, opts, `ADE20K ${split} (${base})`, base);
  const n = samples.length;
  const out: VisionSplit = { images: new Float32Array(n * size * size * 3), n, size, labelSize, seg: new Uint8Array(n * labelSize * labelSize), ids: [] };
  samples.forEach((s, i) => {
    out.images.set(s.rgb, i * size * size * 3);
    out.seg?.set(s.seg, i * labelSize * labelSize);
    out.ids.push(s.id);
  });
  return out;
}

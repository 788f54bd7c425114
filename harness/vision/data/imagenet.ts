/**
 * ImageNet in the ImageFolder layout: `<root>/<synset>/<image>`, with classes numbered by the line order of
 * LOC_synset_mapping.txt ("n01440764 tench, Tinca tinca"). Files are decoded by their magic bytes (one
 * training "JPEG" is a PNG; some are CMYK JPEGs, which jpeg-js converts to RGB).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readImage, resizeRgbArea, toRgbFloat } from './image-io.js';
import { loadAll, resolved, type LoadOptions } from './load-common.js';
import type { VisionLabelInfo, VisionSplit } from './types.js';

export interface SynsetMapping {
  /** Synset ids in class order. */
  synsets: string[];
  /** Human-readable names (the first name on each line). */
  names: string[];
  index: Map<string, number>;
}

export function readSynsetMapping(file: string): SynsetMapping {
  if (!existsSync(file)) throw new Error(`${file}: synset mapping not found`);
  const synsets: string[] = [];
  const names: string[] = [];
  const index = new Map<string, number>();
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const m = /^(n\d{8})\s+(.*)$/.exec(line.trim());
    if (!m) throw new Error(`${file}:${i + 1}: expected "n<8 digits> <names>", found "${line.slice(0, 60)}"`);
    const id = m[1] as string;
    if (index.has(id)) throw new Error(`${file}:${i + 1}: synset ${id} listed twice`);
    index.set(id, synsets.length);
    synsets.push(id);
    names.push(((m[2] as string).split(',')[0] as string).trim());
  });
  return { synsets, names, index };
}

export function imagenetInfo(mapping: SynsetMapping): VisionLabelInfo {
  return { numClasses: mapping.synsets.length, segClasses: 0, maxDepth: 0, classNames: mapping.names };
}

/** Loads every image under `root`'s synset folders, labelled by the mapping, resized to `size` (centre crop). */
export function loadImageFolder(root: string, mapping: SynsetMapping, opts: LoadOptions = {}): VisionSplit {
  if (!existsSync(root)) throw new Error(`${root}: no such folder`);
  const { size, limit } = resolved(opts);
  const items: { file: string; label: number }[] = [];
  for (const dir of readdirSync(root).sort()) {
    const path = join(root, dir);
    if (!statSync(path).isDirectory()) continue;
    const label = mapping.index.get(dir);
    if (label === undefined) throw new Error(`${path}: folder name '${dir}' is not a synset in the mapping`);
    for (const f of readdirSync(path).sort()) if (!f.startsWith('.')) items.push({ file: join(path, f), label });
  }
  if (items.length === 0) throw new Error(`${root}: no images in synset folders`);
  const chosen = limit > 0 ? items.slice(0, limit) : items;
  const samples = loadAll(chosen, (it) => {
    const img = readImage(it.file);
    return { id: it.file.slice(root.length + 1), label: it.label, rgb: resizeRgbArea(toRgbFloat(img), img.width, img.height, size) };
  }, opts, root);
  const n = samples.length;
  const out: VisionSplit = { images: new Float32Array(n * size * size * 3), n, size, labelSize: size, labels: new Int32Array(n), ids: [] };
  samples.forEach((s, i) => {
    out.images.set(s.rgb, i * size * size * 3);
    (out.labels as Int32Array)[i] = s.label;
    out.ids.push(s.id);
  });
  return out;
}

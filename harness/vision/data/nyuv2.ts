/**
 * NYU Depth v2 as RGB JPEG + 16-bit PNG depth in millimetres (0 = missing), in the layouts the published
 * tools use:
 *   - BTS / Metric3D: `rgb_<id>.jpg` with `sync_depth_<id>.png`, in one folder or in sibling `rgb/` and
 *     `depth/` folders (a Metric3D `*annotations*.json` beside them may give `depth_scale`, default 1000);
 *   - mmseg's NYU depth dataset: `images/<name>.jpg` with `annotations/<name>.png`.
 * Depth is converted to metres (value / depth_scale) and resized with nearest sampling.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { BadImageError, readImage, resizeNearest, resizeRgbArea, singleChannel, toRgbFloat } from './image-io.js';
import { loadAll, resolved, type LoadOptions } from './load-common.js';
import type { VisionLabelInfo, VisionSplit } from './types.js';

/** NYUv2's sensor range: the depth probe predicts in (0, 10] metres. */
export const NYU_MAX_DEPTH = 10;
export const NYU_INFO: VisionLabelInfo = { numClasses: 0, segClasses: 0, maxDepth: NYU_MAX_DEPTH };

export interface DepthPair {
  rgb: string;
  depth: string;
  /** Stored value per metre. */
  scale: number;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** depth_scale per depth-file basename from Metric3D-style annotation JSONs under `root`. */
function depthScales(files: string[]): Map<string, number> {
  const scales = new Map<string, number>();
  for (const f of files.filter((x) => /annotations?[^/]*\.json$/i.test(basename(x)))) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(f, 'utf8'));
    } catch (e) {
      throw new Error(`${f}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const entries = (parsed as { files?: { depth?: string; depth_scale?: number }[] }).files ?? [];
    for (const e of entries) if (e.depth && typeof e.depth_scale === 'number') scales.set(basename(e.depth), e.depth_scale);
  }
  return scales;
}

/** Finds RGB/depth pairs under `root` in any of the supported layouts, sorted by RGB path. */
export function findDepthPairs(root: string): DepthPair[] {
  if (!existsSync(root)) throw new Error(`${root}: no such folder`);
  const files = walk(root);
  const have = new Set(files);
  const scales = depthScales(files);
  const pairs: DepthPair[] = [];
  for (const f of files) {
    if (!/\.jpe?g$/i.test(f)) continue;
    const name = basename(f);
    const dir = dirname(f);
    const candidates: string[] = [];
    const m = /^rgb_(.+)\.jpe?g$/i.exec(name);
    if (m) candidates.push(join(dir, `sync_depth_${m[1]}.png`), join(dir, '..', 'depth', `sync_depth_${m[1]}.png`));
    if (basename(dir) === 'images') candidates.push(join(dir, '..', 'annotations', name.replace(/\.jpe?g$/i, '.png')));
    const depth = candidates.find((c) => have.has(c));
    if (depth) pairs.push({ rgb: f, depth, scale: scales.get(basename(depth)) ?? 1000 });
  }
  if (pairs.length === 0) {
    throw new Error(`${root}: no RGB/depth pairs found (expected rgb_<id>.jpg + sync_depth_<id>.png, rgb/ + depth/, or images/ + annotations/)`);
  }
  return pairs;
}

/** Depth map file values -> metres (0 stays 0 = missing). */
export function depthToMetres(raw: Uint8Array | Uint16Array, scale: number): Float32Array {
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = (raw[i] as number) / scale;
  return out;
}

export function loadNyuDepth(root: string, opts: LoadOptions = {}): VisionSplit {
  const { size, labelSize, limit } = resolved(opts);
  let pairs = findDepthPairs(root);
  if (limit > 0) pairs = pairs.slice(0, limit);
  const samples = loadAll(pairs, (p) => {
    const img = readImage(p.rgb);
    const dep = readImage(p.depth);
    if (dep.bitDepth !== 16) throw new BadImageError(p.depth, `expected a 16-bit depth PNG, found ${dep.bitDepth}-bit`);
    if (dep.width !== img.width || dep.height !== img.height) {
      throw new BadImageError(p.depth, `depth is ${dep.width}×${dep.height}, image is ${img.width}×${img.height}`);
    }
    const metres = depthToMetres(singleChannel(dep, p.depth), p.scale);
    return {
      id: relative(root, p.rgb),
      rgb: resizeRgbArea(toRgbFloat(img), img.width, img.height, size),
      depth: resizeNearest(metres, dep.width, dep.height, labelSize, (n) => new Float32Array(n)),
    };
  }, opts, root);
  const n = samples.length;
  const out: VisionSplit = { images: new Float32Array(n * size * size * 3), n, size, labelSize, depth: new Float32Array(n * labelSize * labelSize), ids: [] };
  samples.forEach((s, i) => {
    out.images.set(s.rgb, i * size * size * 3);
    out.depth?.set(s.depth, i * labelSize * labelSize);
    out.ids.push(s.id);
  });
  return out;
}

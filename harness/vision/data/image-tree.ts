/** Unlabeled images: every PNG or JPEG under a folder (recursively, sorted), resized like the other loaders. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readImage, resizeRgbArea, toRgbFloat } from './image-io.js';
import { loadAll, resolved, type LoadOptions } from './load-common.js';
import type { VisionSplit } from './types.js';

const IMAGE_EXT = /\.(jpe?g|png)$/i;

export function listImages(root: string): string[] {
  if (!existsSync(root)) throw new Error(`${root}: no such folder`);
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (IMAGE_EXT.test(name)) out.push(p);
    }
  };
  walk(root);
  if (out.length === 0) throw new Error(`${root}: no .jpg/.jpeg/.png images`);
  return out;
}

export function loadImageTree(root: string, opts: LoadOptions = {}): VisionSplit {
  const { size, limit } = resolved(opts);
  let files = listImages(root);
  if (limit > 0) files = files.slice(0, limit);
  const rgb = loadAll(files, (f) => {
    const img = readImage(f);
    return { id: relative(root, f), rgb: resizeRgbArea(toRgbFloat(img), img.width, img.height, size) };
  }, opts, root);
  const out: VisionSplit = { images: new Float32Array(rgb.length * size * size * 3), n: rgb.length, size, labelSize: size, ids: [] };
  rgb.forEach((s, i) => {
    out.images.set(s.rgb, i * size * size * 3);
    out.ids.push(s.id);
  });
  return out;
}

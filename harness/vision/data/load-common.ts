/** Options and bad-file handling shared by the published-format loaders. */
import { BadImageError } from './image-io.js';

/** How a loader reads and resizes a dataset. */
export interface LoadOptions {
  /** Side of the square images handed to the model. Default 32. */
  size?: number;
  /** Side of the segmentation / depth maps. Default: `size`. */
  labelSize?: number;
  /** Read at most this many samples, in sorted file order (0 = all). Default 0. */
  limit?: number;
  /** Skip files that cannot be read or decoded (reporting each) instead of failing. Default false. */
  skipBad?: boolean;
  /** Receives one line per skipped file (default: stderr). */
  onBadFile?: (line: string) => void;
}

export function resolved(o: LoadOptions): { size: number; labelSize: number; limit: number } {
  const size = o.size ?? 32;
  return { size, labelSize: o.labelSize ?? size, limit: o.limit ?? 0 };
}

/**
 * Runs `load` on every item; bad items are collected as one line each. Without `skipBad`, any bad item
 * fails the whole load with an error listing one line per bad file.
 */
export function loadAll<I, T>(items: readonly I[], load: (item: I) => T, o: LoadOptions, what: string): T[] {
  const out: T[] = [];
  const bad: string[] = [];
  for (const item of items) {
    try {
      out.push(load(item));
    } catch (e) {
      if (!(e instanceof BadImageError)) throw e;
      bad.push(e.message);
    }
  }
  if (bad.length > 0) {
    if (!o.skipBad) throw new Error(`${bad.length} bad file(s) in ${what}:\n${bad.join('\n')}`);
    const report = o.onBadFile ?? ((line: string) => process.stderr.write(`skipped ${line}\n`));
    for (const line of bad) report(line);
  }
  return out;
}

/** Options and bad-file handling shared by the published-format loaders. */
import { sep } from 'node:path';
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

/** Files of one folder that cannot be used: the message lists one line each; {@link summary} fits them on one. */
export class BadFilesError extends Error {
  constructor(
    /** The data set or folder, as the message names it. */
    readonly where: string,
    /** One `<file>: <reason>` line per bad file. */
    readonly lines: readonly string[],
    /** The folder the files are under: the one-line summary names them relative to it. */
    readonly root: string,
  ) {
    super(`${lines.length} bad file(s) in ${where}:\n${lines.join('\n')}`);
  }

  /** One line: the first `max` files with their reasons, then how many more. */
  summary(max = 5): string {
    const prefix = this.root.endsWith(sep) ? this.root : this.root + sep;
    const shown = this.lines.slice(0, max).map((l) => (l.startsWith(prefix) ? l.slice(prefix.length) : l));
    const more = this.lines.length > max ? `; and ${this.lines.length - max} more` : '';
    return `${this.lines.length} bad file(s) in ${this.where}: ${shown.join('; ')}${more}`;
  }
}

/**
 * Runs `load` on every item; bad items are collected as one line each. Without `skipBad`, any bad item
 * fails the whole load with a {@link BadFilesError} listing one line per bad file.
 */
export function loadAll<I, T>(items: readonly I[], load: (item: I) => T, o: LoadOptions, what: string, root = what): T[] {
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
    if (!o.skipBad) throw new BadFilesError(what, bad, root);
    const report = o.onBadFile ?? ((line: string) => process.stderr.write(`skipped ${line}\n`));
    for (const line of bad) report(line);
  }
  return out;
}

/**
 * Where results are written: a path that is a file, a folder without write permission or a read-only file system
 * is one line naming the path and the cause, before any work, instead of an errno from deep inside a run.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';

/** The output path cannot be written (a file where a folder is wanted, no permission, read-only, full, ...). */
export class OutputPathError extends UserError {}

const CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EEXIST: 'it already exists',
};

/** Errno codes that describe the machine's file system, not a bug: reported as one line naming the path. */
export function isFileSystemError(e: unknown): e is NodeJS.ErrnoException & { path: string } {
  const x = e as NodeJS.ErrnoException;
  return x instanceof Error && typeof x.code === 'string' && x.code in CAUSES && typeof x.path === 'string';
}

/** "permission denied (EACCES)" for a file-system error. */
export function causeOf(e: NodeJS.ErrnoException): string {
  return `${CAUSES[e.code ?? ''] ?? e.message.split('\n')[0]} (${e.code})`;
}

/** The nearest folder at or above `path` that exists. */
function existingAncestor(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

/**
 * Checks, without creating anything, that `dir` can become a results folder: it is a folder (or absent) and it,
 * or the nearest folder above it that exists, is writable. `what` names the path in the message ("--out").
 */
export function checkOutputFolder(dir: string, what = 'output folder'): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new OutputPathError(`${what} ${dir} is a file, not a folder: name a new or existing folder`);
  }
  const at = existingAncestor(dir);
  if (!statSync(at).isDirectory()) throw new OutputPathError(`${what} ${dir}: ${at} is a file, not a folder`);
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch (e) {
    const where = at === dir ? '' : ` (${at} is not writable)`;
    throw new OutputPathError(`cannot write ${what} ${dir}${where}: ${causeOf(e as NodeJS.ErrnoException)}`);
  }
}

/** Creates `dir` (and its parents) as {@link checkOutputFolder} describes; returns whether it was created. */
export function makeOutputFolder(dir: string, what = 'output folder'): boolean {
  checkOutputFolder(dir, what);
  if (existsSync(dir)) return false;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    if (isFileSystemError(e)) throw new OutputPathError(`cannot create ${what} ${dir}: ${causeOf(e)}`);
    throw e;
  }
  return true;
}

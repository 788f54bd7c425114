import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function harnessVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The checkout's commit (with "+dirty" when files differ), or "unknown" outside git. */
export function gitSha(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|js|py)$/.test(e.name) ? [p] : [];
  });
}

/**
 * Fingerprint of the code that produces results: every source file under harness/ plus package.json and the
 * lockfile (dependency versions). Unlike the git sha it sees uncommitted edits, so a run can tell whether
 * all its cells came from the same code.
 */
export function codeHash(): string {
  const h = createHash('sha256');
  const files = [...sourceFiles(join(REPO_ROOT, 'harness')), join(REPO_ROOT, 'package.json'), join(REPO_ROOT, 'package-lock.json')];
  for (const f of files.map((x) => relative(REPO_ROOT, x)).sort()) {
    h.update(f).update('\0');
    try {
      h.update(readFileSync(join(REPO_ROOT, f)));
    } catch {
      h.update('(missing)');
    }
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

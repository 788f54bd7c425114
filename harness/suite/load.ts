/** Finds and imports a suite module (`suites/<name>.suite.ts` or a path), then applies `--set` overrides. */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../results/version.js';
import { parseSuite, SuiteError } from './define.js';
import { applyOverrides } from './overrides.js';
import type { Suite } from './schema.js';

export const SUITES_DIR = join(REPO_ROOT, 'suites');

export function listSuiteFiles(): string[] {
  return existsSync(SUITES_DIR) ? readdirSync(SUITES_DIR).filter((f) => f.endsWith('.suite.ts')).sort() : [];
}

export function resolveSuitePath(ref: string): string {
  const candidates = [resolve(ref), join(SUITES_DIR, ref), join(SUITES_DIR, `${ref}.suite.ts`)];
  const hit = candidates.find((c) => existsSync(c) && c.endsWith('.ts'));
  if (!hit) {
    const known = listSuiteFiles().map((f) => f.replace(/\.suite\.ts$/, ''));
    throw new SuiteError(`no suite '${ref}' (looked for a path, or suites/${ref}.suite.ts); known: ${known.join(', ') || 'none'}`);
  }
  return hit;
}

export async function loadSuite(ref: string, sets: readonly string[] = []): Promise<{ suite: Suite; path: string }> {
  const path = resolveSuitePath(ref);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (e) {
    if (e instanceof SuiteError) throw new SuiteError(`${path}: ${e.message}`);
    throw e;
  }
  if (mod.default === undefined) throw new SuiteError(`${path}: no default export (expected export default defineSuite({...}))`);
  const raw = applyOverrides(mod.default as Record<string, unknown>, sets);
  return { suite: parseSuite(raw, sets.length ? `${path} with --set ${sets.join(' ')}` : path), path };
}

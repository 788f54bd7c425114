/** Finds and imports a suite module (`suites/<name>.suite.ts` or a path), then applies `--set` overrides. */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { REPO_ROOT } from '../results/version.js';
import { parseSuite, SuiteError } from './define.js';
import { applyOverrides } from './overrides.js';
import type { Suite } from '../tasks/index.js';

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

/**
 * A suite module's default export. tsx's `tsImport` loads a `.ts` file from any folder (a plain `import()` of a
 * file outside a `"type": "module"` package fails inside Node's CommonJS loader); such a file is compiled as
 * CommonJS, so its default export arrives wrapped as `{ default: … }` and is unwrapped here.
 */
async function importDefault(path: string): Promise<unknown> {
  const mod = (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
  const d = mod.default;
  if (d && typeof d === 'object' && Object.keys(d).length === 1 && 'default' in d) return (d as { default: unknown }).default;
  return d;
}

/**
 * One line for an import that does not resolve (Node's message ends in a dangling "Require stack:"): which
 * specifier, from which file, and, for the harness's own modules, how a suite outside the repository reaches them.
 */
function missingImport(e: unknown, path: string): string | undefined {
  const err = e as NodeJS.ErrnoException & { requireStack?: string[] };
  if (err?.code !== 'MODULE_NOT_FOUND' && err?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const spec = /Cannot find (?:module|package) '([^']+)'/.exec(err.message)?.[1] ?? 'a module';
  // tsx tags the modules it loads with a ?namespace= query.
  const importer = (err.requireStack?.[0] ?? /imported from (\S+)/.exec(err.message)?.[1]?.replace(/^file:\/\//, '') ?? path).replace(/\?.*$/, '');
  if (resolve(importer) !== path) return `${path}: cannot load the suite module: ${importer} imports '${spec}', which cannot be found`;
  const define = join(REPO_ROOT, 'harness', 'suite', 'define.ts');
  const hint = /(^|\/)harness\//.test(spec)
    ? `a suite outside the repository imports defineSuite from this checkout by absolute path (import { defineSuite } from '${define}'), or exports a plain object (export default { ... })`
    : 'check the path, or install the package';
  return `${path}: imports '${spec}', which cannot be found from ${dirname(path)}: ${hint}`;
}

export async function loadSuite(ref: string, sets: readonly string[] = []): Promise<{ suite: Suite; path: string }> {
  const path = resolveSuitePath(ref);
  let raw: unknown;
  try {
    raw = await importDefault(path);
  } catch (e) {
    if (e instanceof SuiteError) throw new SuiteError(`${path}: ${e.message}`);
    const missing = missingImport(e, path);
    if (missing) throw new SuiteError(missing);
    // esbuild's "Transform failed with 1 error:\n<file:line:col>: ERROR: …" becomes one line naming the place.
    const lines = (e as Error).message.split('\n').filter((l) => l.trim() && !/^Transform failed/.test(l));
    throw new SuiteError(`${path}: cannot load the suite module: ${lines.slice(0, 2).join(' ')}`);
  }
  if (raw === undefined) throw new SuiteError(`${path}: no default export (expected export default defineSuite({...}))`);
  if (typeof raw !== 'object' || raw === null) throw new SuiteError(`${path}: the default export is not an object`);
  const merged = applyOverrides(raw as Record<string, unknown>, sets);
  return { suite: parseSuite(merged, sets.length ? `${path} with --set ${sets.join(' ')}` : path), path };
}

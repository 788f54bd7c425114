/**
 * Imports every test file the way mocha would load it, with mocha's globals replaced by ones that run describe
 * bodies and skip tests and hooks, and prints the first error each file throws while it loads.
 *
 * Why: mocha 12 on a Node with require(esm) loads a .ts test with require() first and, when both require() and
 * import() fail, reports the require() error. Here that is always execa's ERR_PACKAGE_PATH_NOT_EXPORTED (execa's
 * dependencies export only `import` conditions), which hides the real cause, such as a file read at describe time.
 * Usage: npx tsx scripts/load-test-files.ts [files...]  (default: test/*.test.ts). Exit 1 when a file fails to load.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type Body = (this: unknown) => unknown;
const context = { timeout() {}, slow() {}, retries() {}, skip() {} };
const suite = (_title: string, body?: Body): void => {
  body?.call(context);
};
const ignore = (): void => {};
const globals: Record<string, unknown> = {
  describe: Object.assign(suite, { skip: suite, only: suite }),
  context: Object.assign(suite, { skip: suite, only: suite }),
  it: Object.assign(ignore, { skip: ignore, only: ignore }),
  specify: Object.assign(ignore, { skip: ignore, only: ignore }),
  before: ignore,
  after: ignore,
  beforeEach: ignore,
  afterEach: ignore,
};
Object.assign(globalThis, globals);

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync('test').filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('test', f));
let failed = 0;
for (const f of files) {
  try {
    await import(pathToFileURL(resolve(f)).href);
  } catch (e) {
    failed++;
    const err = e as Error;
    console.log(`${f} does not load: ${err.message.split('\n')[0]}`);
    const at = (err.stack ?? '').split('\n').find((l) => l.includes('/test/'));
    if (at) console.log(`  ${at.trim()}`);
  }
}
console.log(`${files.length - failed} of ${files.length} test files load`);
process.exit(failed ? 1 : 0);

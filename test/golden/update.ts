/**
 * Rewrites the golden files from the current renderers: `npx tsx test/golden/update.ts`. Run it only after a
 * deliberate change to a table, then read the diff before committing: the golden test never writes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GOLDEN_DIR, goldenOutputs } from './outputs.js';

for (const [name, text] of goldenOutputs()) {
  const f = join(GOLDEN_DIR, name);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, text);
  process.stdout.write(`${f}\n`);
}

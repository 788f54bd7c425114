/**
 * Writes fixtures/: a few embedded-generator rows in each real format (GSM8K JSONL, NuminaMath-CoT JSONL and
 * parquet), so loaders can be exercised on committed files. Run: npx tsx harness/language/data/synth/write-fixtures.ts
 */
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { writeFileAtomic } from '../../../results/atomic.js';
import { REPO_ROOT } from '../../../results/version.js';
import type { NuminaRow } from '../numina.js';
import { DEFAULT_EMBEDDED, generateEmbedded } from './embedded.js';

export const FIXTURE_CONFIG = { ...DEFAULT_EMBEDDED, seed: 99, trainSize: 8, testSize: 4, baseSize: 1, streamSize: 8, corruptFraction: 0.25, leakFraction: 0.25 };

export function fixtureFiles(): Record<string, Uint8Array | string> {
  const d = generateEmbedded(FIXTURE_CONFIG);
  const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const col = (k: keyof NuminaRow): string[] => d.cpt.map((r) => r[k] as string);
  const parquet = parquetWriteBuffer({
    columnData: [
      { name: 'source', data: col('source'), type: 'STRING' },
      { name: 'problem', data: col('problem'), type: 'STRING' },
      { name: 'solution', data: col('solution'), type: 'STRING' },
    ],
  });
  return {
    'gsm8k-train.jsonl': jsonl(d.train),
    'gsm8k-test.jsonl': jsonl(d.test),
    'numina-cpt.jsonl': jsonl(d.cpt),
    'numina-cpt.parquet': new Uint8Array(parquet),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, data] of Object.entries(fixtureFiles())) writeFileAtomic(join(REPO_ROOT, 'fixtures', name), data);
}

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGsm8k, parseGoldAnswer } from '../harness/language/data/gsm8k.js';
import { loadNumina } from '../harness/language/data/numina.js';
import { fixtureFiles } from '../harness/language/data/synth/write-fixtures.js';
import { REPO_ROOT } from '../harness/results/version.js';

const F = join(REPO_ROOT, 'fixtures');

describe('committed fixtures in the real formats', () => {
  it('load through the GSM8K and NuminaMath loaders (JSONL and parquet agree)', async () => {
    const train = loadGsm8k(join(F, 'gsm8k-train.jsonl'));
    expect(train).to.have.length(8);
    for (const t of train) expect(parseGoldAnswer(t.answer)).to.be.a('string');
    const jsonl = await loadNumina(join(F, 'numina-cpt.jsonl'));
    const parquet = await loadNumina(join(F, 'numina-cpt.parquet'));
    expect(parquet.map((r) => [r.source, r.problem, r.solution])).to.deep.equal(jsonl.map((r) => [r.source, r.problem, r.solution]));
  });

  it('are what the generator writes today (regenerate with harness/language/data/synth/write-fixtures.ts)', () => {
    for (const [name, data] of Object.entries(fixtureFiles())) {
      if (typeof data === 'string') expect(readFileSync(join(F, name), 'utf8'), name).to.equal(data);
    }
  });
});

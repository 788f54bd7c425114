import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { formatQA, loadNumina } from '../harness/language/data/numina.js';
import { tmp } from './helpers.js';

const rows = [
  { source: 'orca_math', problem: 'What is 2+3?', solution: '2+3 = 5.\n#### 5', messages: [{ role: 'user', content: 'What is 2+3?' }] },
  { source: 'synthetic_math', problem: 'Say "hi"\nplease', solution: 'hi', messages: [] },
];

describe('NuminaMath-CoT loader', () => {
  it('reads JSONL rows (JSON-escaped text) and formats them as Question/Answer', async () => {
    const f = join(tmp(), 'numina.jsonl');
    writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const got = await loadNumina(f);
    expect(got).to.have.length(2);
    expect(got[1]!.problem).to.equal('Say "hi"\nplease');
    const qa = formatQA(got[0]!.problem, got[0]!.solution);
    expect(qa.prompt + qa.answer).to.equal('Question: What is 2+3?\nAnswer: 2+3 = 5.\n#### 5');
  });

  it('reads parquet through hyparquet', async () => {
    const f = join(tmp(), 'numina.parquet');
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'source', data: rows.map((r) => r.source), type: 'STRING' },
        { name: 'problem', data: rows.map((r) => r.problem), type: 'STRING' },
        { name: 'solution', data: rows.map((r) => r.solution), type: 'STRING' },
      ],
    });
    writeFileSync(f, Buffer.from(buf));
    const got = await loadNumina(f);
    expect(got.map((r) => r.problem)).to.deep.equal(rows.map((r) => r.problem));
    expect(got[0]!.messages).to.deep.equal([]);
  });

  it('rejects a row missing a field, naming file and line', async () => {
    const f = join(tmp(), 'bad.jsonl');
    writeFileSync(f, JSON.stringify(rows[0]) + '\n' + JSON.stringify({ source: 's', problem: 'p' }) + '\n');
    let err: Error | undefined;
    try {
      await loadNumina(f);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.equal(`${f}:2: field 'solution' must be a string`);
  });

  it('rejects an unknown extension', async () => {
    let err: Error | undefined;
    await loadNumina('x.csv').catch((e: Error) => (err = e));
    expect(err?.message).to.match(/expected a .jsonl or .parquet/);
  });
});

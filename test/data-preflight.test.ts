import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp, vpt, writeFilesSuite } from './helpers.js';

/** The one line a user sees (no stack trace). */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).to.have.length(1);
  return lines[0] as string;
}

describe('data checked before any training: one line naming the file, line or key, exit 2', () => {
  it('a missing file names the suite key and the path', async () => {
    const f = writeFilesSuite(tmp());
    const r = await vpt(['validate', f.suite, '--set', `data.gsm8kTest=${f.test}.missing`]);
    expect(r.exitCode).to.equal(2);
    expect(oneLine(r.stderr)).to.equal(`vpt: data.gsm8kTest: ${f.test}.missing: no such file`);
  });

  it('an empty test file is refused instead of scoring Pass@1 on zero items', async () => {
    const f = writeFilesSuite(tmp());
    writeFileSync(f.test, '');
    const r = await vpt(['validate', f.suite]);
    expect(r.exitCode).to.equal(2);
    expect(oneLine(r.stderr)).to.equal(`vpt: data.gsm8kTest: ${f.test}: no rows (the split is empty)`);
  });

  it('an empty train file is refused before tfjs sees it', async () => {
    const f = writeFilesSuite(tmp());
    writeFileSync(f.train, '\n');
    const r = await vpt(['validate', f.suite]);
    expect(oneLine(r.stderr)).to.equal(`vpt: data.gsm8kTrain: ${f.train}: no rows (the split is empty)`);
  });

  it('a test answer without "#### N" names the file and line', async () => {
    const f = writeFilesSuite(tmp());
    const lines = readFileSync(f.test, 'utf8').trim().split('\n');
    const row = JSON.parse(lines[1] as string) as { question: string; answer: string };
    lines[1] = JSON.stringify({ ...row, answer: row.answer.replace(/\n#### .*$/, '') });
    writeFileSync(f.test, lines.join('\n') + '\n');
    const r = await vpt(['validate', f.suite]);
    expect(r.exitCode).to.equal(2);
    expect(oneLine(r.stderr)).to.match(new RegExp(`^vpt: data\\.gsm8kTest: ${f.test}:2: the answer has no final '#### N' with a number`));
  });

  it('a malformed JSONL line in the stream names file and line', async () => {
    const f = writeFilesSuite(tmp());
    writeFileSync(f.stream, readFileSync(f.stream, 'utf8') + '{"source": "x", "problem": 3}\n');
    const r = await vpt(['validate', f.suite]);
    const n = readFileSync(f.stream, 'utf8').trim().split('\n').length;
    expect(oneLine(r.stderr)).to.equal(`vpt: data.cptStream: ${f.stream}:${n}: field 'problem' must be a string`);
  });

  it('a truncated parquet file names the file', async () => {
    const dir = tmp();
    const f = writeFilesSuite(dir);
    const pq = join(dir, 'stream.parquet');
    const whole = readFileSync(join(REPO_ROOT, 'fixtures', 'numina-cpt.parquet'));
    writeFileSync(pq, whole.subarray(0, whole.length - 7));
    const r = await vpt(['validate', f.suite, '--set', `data.cptStream=${pq}`]);
    expect(r.exitCode).to.equal(2);
    expect(oneLine(r.stderr)).to.match(new RegExp(`^vpt: data\\.cptStream: ${pq}: not a readable parquet file \\(.+\\)$`));
  });

  it('a test problem longer than the context is reported before the base stage, with how many do not fit', async () => {
    const f = writeFilesSuite(tmp());
    const r = await vpt(['validate', f.suite, '--set', 'model.blockSize=40']);
    expect(r.exitCode).to.equal(2);
    expect(oneLine(r.stderr)).to.match(
      new RegExp(`^vpt: data\\.gsm8kTest: ${f.test}: a test problem in row \\d+ needs \\d+ tokens \\(question and worked answer, for the answer NLL\\), more than model\\.blockSize 40; \\d+ of 4 do not fit`),
    );
  });

  it('a validation problem (the tracked downstream loss) longer than the context is reported too', async () => {
    const f = writeFilesSuite(tmp());
    const long = { question: Array.from({ length: 90 }, (_, i) => `word${i}`).join(' '), answer: 'So 2+2 = 4.\n#### 4' };
    writeFileSync(f.train, readFileSync(f.train, 'utf8') + JSON.stringify(long) + '\n');
    const r = await vpt(['validate', f.suite]);
    expect(r.exitCode).to.equal(2);
    expect(oneLine(r.stderr)).to.match(new RegExp(`^vpt: data\\.gsm8kTrain: ${f.train}: a validation problem in row 65 needs \\d+ tokens \\(question and worked answer, for the tracked downstream loss\\)`));
  });

  it('vpt run fails on bad data before training anything, and --workers 0 is refused', async () => {
    const dir = tmp();
    const f = writeFilesSuite(dir);
    writeFileSync(f.test, '');
    const cache = join(dir, 'cache');
    const r = await vpt(['run', f.suite, '--out', join(dir, 'out'), '--cache', cache]);
    expect(r.exitCode).to.equal(2);
    expect(oneLine(r.stderr)).to.equal(`vpt: data.gsm8kTest: ${f.test}: no rows (the split is empty)`);
    expect(existsSync(join(cache, 'base'))).to.equal(false);
    const w = await vpt(['run', f.suite, '--workers', '0']);
    expect(w.exitCode).to.equal(2);
    expect(w.stderr).to.match(/--workers must be a whole number of at least 1 \(got '0'\)/);
  });

  it('validate reports the checked data sizes when everything is in order', async () => {
    const f = writeFilesSuite(tmp());
    const r = await vpt(['validate', f.suite]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/valid \(language task, config [0-9a-f]{16}\), data checked \(train 64, test 4, stream 440, base stream 440\), 1 cells/);
  });
});

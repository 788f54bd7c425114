/**
 * --resume redoes exactly the cells that read a changed input: a cell records the hashes of the data it reads
 * (its task says which), so new contents of the MATH test file (read only by decontamination) redo the
 * decontaminated cells and keep the others, while new contents of the stream redo every cell.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, vpt, writeFilesSuite } from './helpers.js';

describe('--resume after a data file changed', () => {
  it('redoes only the cells that read it, and records only the hashes a cell reads', async () => {
    const dir = tmp();
    const math = join(dir, 'math.jsonl');
    writeFileSync(math, `${JSON.stringify({ problem: 'What is 2 + 2?' })}\n`);
    const probe = writeFilesSuite(dir);
    const f = writeFilesSuite(dir, {
      data: { kind: 'files', gsm8kTrain: probe.train, gsm8kTest: probe.test, cptStream: probe.stream, mathTest: math },
      arms: [{ arm: 'baseline' }, { arm: 'baseline', decontaminate: true }],
    });
    const out = join(dir, 'run');
    const cache = join(dir, 'cache');
    const first = await vpt(['run', f.suite, '--out', out, '--cache', cache]);
    expect(first.exitCode, first.stderr).to.equal(0);
    const hashes = (arm: string) => Object.keys((JSON.parse(readFileSync(join(out, 'cells', arm, 'seed-1', 'cell.json'), 'utf8')) as { dataHashes: Record<string, string> }).dataHashes).sort();
    expect(hashes('baseline')).to.deep.equal(['baseStream', 'cptStream', 'gsm8kTest', 'gsm8kTrain']);
    expect(hashes('baseline+decontam')).to.deep.equal(['baseStream', 'cptStream', 'gsm8kTest', 'gsm8kTrain', 'mathTest']);
    writeFileSync(math, `${JSON.stringify({ problem: 'What is 3 + 3?' })}\n`);
    const again = await vpt(['run', f.suite, '--out', out, '--cache', cache, '--resume']);
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(again.stderr).to.match(/resume: redo files-micro\/baseline\+decontam\/seed-1: data file mathTest changed/);
    expect(again.stderr).to.not.match(/redo files-micro\/baseline\/seed-1/);
    expect(again.stderr).to.match(/resume: 1 finished cell\(s\) kept/);
    writeFileSync(f.stream, readFileSync(f.stream, 'utf8') + readFileSync(f.stream, 'utf8'));
    const third = await vpt(['run', f.suite, '--out', out, '--cache', cache, '--resume']);
    expect(third.exitCode, third.stderr).to.equal(0);
    expect(third.stderr).to.match(/redo files-micro\/baseline\/seed-1: data file baseStream changed/);
    expect(third.stderr).to.match(/redo files-micro\/baseline\+decontam\/seed-1: data file baseStream changed/);
  });
});

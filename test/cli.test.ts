import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { DecontamSchema } from '../harness/language/schema.js';
import { tmp, vpt } from './helpers.js';

const SUITE = join(REPO_ROOT, 'test', 'fixtures', 'micro.suite.ts');

describe('vpt CLI end to end', () => {
  const out = tmp();
  const cache = tmp();

  it('runs a micro suite with 2 workers, writes cell.json per cell and prints the table', async () => {
    const r = await vpt(['run', SUITE, '--workers', '2', '--out', out, '--cache', cache]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/\| arm \| Pass@1 strict \(%\) ↑ \| Δ Pass@1 strict \(%\) \| Pass@1 flexible \(%\) ↑ \| Δ Pass@1 flexible \(%\) \| answer NLL ↓/);
    expect(r.stdout).to.match(/\| baseline \|/);
    expect(r.stdout).to.match(/\| v-pretraining\+decontam \|/);
    expect(r.stdout).to.match(/Mean ± sample sd over n = 2 seeds/);
    expect(r.stdout).to.contain(`report: ${join(out, 'report', 'index.html')}`);
    expect(existsSync(join(out, 'report', 'index.html'))).to.equal(true);
    expect(r.stderr).to.match(/done micro\/baseline\/seed-2/);
    for (const arm of ['baseline', 'v-pretraining+decontam']) {
      for (const seed of [1, 2]) {
        const cell = JSON.parse(readFileSync(join(out, 'cells', arm, `seed-${seed}`, 'cell.json'), 'utf8'));
        expect(cell.status).to.equal('completed');
        expect(cell.id).to.equal(`micro/${arm}/seed-${seed}`);
        expect(cell.metrics['pass@1,strict-match'].n).to.equal(4);
        expect(cell.engine.backend).to.equal('wasm');
        expect(existsSync(join(out, 'cells', arm, `seed-${seed}`, 'samples.jsonl'))).to.equal(true);
      }
    }
    const decon = JSON.parse(readFileSync(join(out, 'cells', 'v-pretraining+decontam', 'seed-1', 'cell.json'), 'utf8'));
    expect(decon.decontamination.removed).to.be.a('number');
    expect(decon.decontamination.threshold).to.equal(DecontamSchema.parse({}).threshold);
    const csv = readFileSync(join(out, 'summary.csv'), 'utf8');
    expect(csv.split('\n')[0]).to.match(/^table,row,row_label,column,group,metric,kind,mean,sd,n,ci95_low,ci95_high,higher_is_better,best,failed,seed_1,seed_2,harness_version,git_sha,config_hash$/);
  });

  it('--resume keeps finished cells', async () => {
    const r = await vpt(['run', SUITE, '--workers', '2', '--out', out, '--cache', cache, '--resume']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/resume: 4 finished cell\(s\) kept/);
    expect(r.stderr).to.not.match(/start micro\//);
  });

  it('records a failing cell as errored, keeps the others, and exits non-zero', async () => {
    const out2 = tmp();
    const r = await vpt(['run', SUITE, '--out', out2, '--cache', cache, '--set', 'design.topK=100000', '--set', 'seeds=[1]']);
    expect(r.exitCode).to.equal(1);
    expect(r.stdout).to.match(/\| baseline \| \*\*/);
    expect(r.stdout).to.match(/\| v-pretraining\+decontam \(1 failed\) \|/);
    const bad = JSON.parse(readFileSync(join(out2, 'cells', 'v-pretraining+decontam', 'seed-1', 'cell.json'), 'utf8'));
    expect(bad.status).to.equal('errored');
    expect(bad.error).to.match(/topK 100000 exceeds the vocabulary size/);
  });

  it('validate lists cells; a bad --set is an error naming the key', async () => {
    const ok = await vpt(['validate', SUITE]);
    expect(ok.exitCode).to.equal(0);
    expect(ok.stdout).to.match(/4 cells/);
    const bad = await vpt(['validate', SUITE, '--set', 'train.stepz=3']);
    expect(bad.exitCode).to.equal(2);
    expect(bad.stderr).to.match(/train: Unrecognized key: "stepz"/);
    const help = await vpt(['run', '--help']);
    expect(help.stdout).to.match(/--workers <n>/);
  });
});

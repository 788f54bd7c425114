/**
 * --resume over records damaged outside vpt: a truncated suite.json is rebuilt when every cell record names this
 * run's configuration and code (so the advice to rerun with --resume works), and a cell.json holding `{}` is redone
 * with a message saying what it is.
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, vpt, writeFilesSuite } from './helpers.js';

describe('resume over damaged records', () => {
  const dir = tmp();
  const cache = join(dir, 'cache');
  const f = writeFilesSuite(dir, { seeds: [1, 2] });
  const out = join(dir, 'out');
  const run = (...extra: string[]) => vpt(['run', f.suite, '--out', out, '--cache', cache, ...extra]);
  const manifest = join(out, 'suite.json');

  before(async function () {
    const r = await run();
    expect(r.exitCode, r.stderr).to.equal(0);
  });

  it('a truncated suite.json: vpt run --resume rewrites it from the matching cell records and keeps them', async () => {
    const whole = readFileSync(manifest, 'utf8');
    const cells = ['seed-1', 'seed-2'].map((s) => readFileSync(join(out, 'cells', 'baseline', s, 'cell.json'), 'utf8'));
    writeFileSync(manifest, whole.slice(0, 100));
    const refused = await run();
    expect(refused.exitCode).to.equal(2);
    expect(refused.stderr).to.include(`vpt: ${out} already holds 2 cell record(s) of this configuration: add --resume`);
    const r = await run('--resume');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.match(new RegExp(`${manifest} is unreadable \\([^)]+\\); its 2 cell record\\(s\\) are all of this configuration and code, so it is written afresh`));
    expect(r.stderr).to.include('resume: 2 finished cell(s) kept');
    expect(JSON.parse(readFileSync(manifest, 'utf8'))).to.deep.equal(JSON.parse(whole));
    expect(['seed-1', 'seed-2'].map((s) => readFileSync(join(out, 'cells', 'baseline', s, 'cell.json'), 'utf8'))).to.deep.equal(cells);
    const report = await vpt(['report', out, '--tables-only']);
    expect(report.exitCode, report.stderr).to.equal(0);
  });

  it('a truncated suite.json over cells of another configuration is refused, saying so', async () => {
    writeFileSync(manifest, '{"configHash": "abc');
    const r = await run('--resume', '--set', 'train.steps=3');
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim()).to.match(
      new RegExp(`^vpt: ${out} holds 2 cell record\\(s\\) of another configuration \\(config [0-9a-f]{16}; this run is config [0-9a-f]{16}; its suite.json is unreadable \\([^)]+\\), so its cell records speak for it\\): give this run its own --out folder, or add --move-aside`),
    );
    const back = await run('--resume');
    expect(back.exitCode, back.stderr).to.equal(0);
  });

  it('a cell.json holding {}: --resume says it is not a cell record and runs the cell again', async () => {
    const cell = join(out, 'cells', 'baseline', 'seed-1', 'cell.json');
    writeFileSync(cell, '{}\n');
    const r = await run('--resume');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.include('resume: redo files-micro/baseline/seed-1: its cell.json is not a cell record (no status): running the cell again replaces it');
    expect((JSON.parse(readFileSync(cell, 'utf8')) as { status: string }).status).to.equal('completed');
  });
});

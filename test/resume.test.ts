import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { EXIT_CODE_CHANGED } from '../harness/runner/protocol.js';
import { tmp, vpt, writeFilesSuite } from './helpers.js';

const cellFile = (out: string, arm = 'baseline', seed = 1): string => join(out, 'cells', arm, `seed-${seed}`, 'cell.json');

describe('resume and results folders: a number comes from the inputs it names', () => {
  const dir = tmp();
  const cache = join(dir, 'cache');
  const f = writeFilesSuite(dir, { seeds: [1, 2] });
  const out = join(dir, 'out');
  const run = (...extra: string[]) => vpt(['run', f.suite, '--out', out, '--cache', cache, ...extra]);

  before(async function () {
    const r = await run();
    expect(r.exitCode, r.stderr).to.equal(0);
  });

  it('refuses to rerun into a folder with finished cells without --resume, and leaves them untouched', async () => {
    const before = readFileSync(cellFile(out), 'utf8');
    const r = await run();
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim()).to.equal(
      `vpt: ${out} already holds 2 cell record(s) of this configuration: add --resume to keep the finished ones (cells whose inputs changed are redone), or --move-aside to start over`,
    );
    expect(readFileSync(cellFile(out), 'utf8')).to.equal(before);
  });

  it('redoes exactly the cells whose data changed, and says why', async () => {
    const seed2 = readFileSync(cellFile(out, 'baseline', 2), 'utf8');
    const lines = readFileSync(f.test, 'utf8').trim().split('\n');
    writeFileSync(f.test, lines.slice(0, 2).join('\n') + '\n');
    // Seed 2 was recorded against this new file already (as if it had been redone): only seed 1 is stale.
    const c2 = JSON.parse(seed2) as { dataHashes: Record<string, string> };
    const { createHash } = await import('node:crypto');
    c2.dataHashes.gsm8kTest = createHash('sha256').update(readFileSync(f.test)).digest('hex');
    writeFileSync(cellFile(out, 'baseline', 2), JSON.stringify(c2, null, 2) + '\n');
    const kept = readFileSync(cellFile(out, 'baseline', 2), 'utf8');
    const r = await run('--resume');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/resume: redo files-micro\/baseline\/seed-1: data file gsm8kTest changed \(sha256 [0-9a-f]{12} -> [0-9a-f]{12}\)/);
    expect(r.stderr).to.match(/resume: 1 finished cell\(s\) kept/);
    expect(r.stderr).to.not.match(/start files-micro\/baseline\/seed-2/);
    expect(readFileSync(cellFile(out, 'baseline', 2), 'utf8')).to.equal(kept);
    const c1 = JSON.parse(readFileSync(cellFile(out), 'utf8')) as { metrics: Record<string, { n: number }> };
    expect(c1.metrics['pass@1,strict-match']?.n).to.equal(2);
  });

  it('redoes a cell recorded by another arm version, naming the change', async () => {
    const c = JSON.parse(readFileSync(cellFile(out), 'utf8')) as { armVersion: number };
    c.armVersion = 0;
    writeFileSync(cellFile(out), JSON.stringify(c));
    const r = await run('--resume');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/resume: redo files-micro\/baseline\/seed-1: arm 'baseline' version changed \(0 -> 1\)/);
  });

  it('refuses to resume a folder of another configuration, and --move-aside keeps the old results', async () => {
    const before = readFileSync(cellFile(out), 'utf8');
    const r = await run('--resume', '--set', 'train.steps=3', '--set', 'seeds=[1]');
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim()).to.match(
      new RegExp(`^vpt: ${out} holds 2 cell record\\(s\\) of another configuration \\(config [0-9a-f]{16} of suite 'files-micro'; this run is config [0-9a-f]{16}\\): give this run its own --out folder, or add --move-aside to move the old results aside$`),
    );
    expect(readFileSync(cellFile(out), 'utf8')).to.equal(before);
    const m = await run('--set', 'train.steps=3', '--set', 'seeds=[1]', '--move-aside');
    expect(m.exitCode, m.stderr).to.equal(0);
    expect(m.stderr).to.match(/moved the old results aside to .*out\.old-/);
    const aside = readdirSync(dir).find((d) => d.startsWith('out.old-')) as string;
    expect(readFileSync(cellFile(join(dir, aside)), 'utf8')).to.equal(before);
    expect(existsSync(cellFile(out, 'baseline', 2))).to.equal(false);
  });

  it('bad data on a resumed run exits 2 before anything trains, and finished cells survive', async () => {
    const before = readFileSync(cellFile(out), 'utf8');
    const good = readFileSync(f.test, 'utf8');
    writeFileSync(f.test, '');
    try {
      const r = await run('--resume', '--set', 'train.steps=3', '--set', 'seeds=[1]');
      expect(r.exitCode).to.equal(2);
      expect(r.stderr.trim()).to.equal(`vpt: data.gsm8kTest: ${f.test}: no rows (the split is empty)`);
      expect(readFileSync(cellFile(out), 'utf8')).to.equal(before);
    } finally {
      writeFileSync(f.test, good);
    }
  });

  it('refuses to resume results made by other code', async () => {
    const manifest = JSON.parse(readFileSync(join(out, 'suite.json'), 'utf8')) as { codeHash: string };
    manifest.codeHash = '0123456789abcdef';
    writeFileSync(join(out, 'suite.json'), JSON.stringify(manifest));
    const r = await run('--resume', '--set', 'train.steps=3', '--set', 'seeds=[1]');
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/made by other code \(code 0123456789abcdef, git .*; this checkout is code [0-9a-f]{16}\), and one run must come from one version: check out the version that made them to resume, or add --move-aside to start over/);
  });

  it('a worker whose harness/ differs from the run\'s refuses and records why', async () => {
    const job = join(dir, 'job.json');
    const cellDir = join(dir, 'stale-cell');
    const suite = JSON.parse(readFileSync(join(out, 'suite.json'), 'utf8')) as { suite: unknown };
    writeFileSync(job, JSON.stringify({
      kind: 'cell', suite: suite.suite, dir: cellDir, cacheDir: cache, codeHash: 'not-this-code',
      cell: { id: 'files-micro/baseline/seed-1', suite: 'files-micro', armId: 'baseline', arm: { arm: 'baseline', decontaminate: false }, seed: 1 },
    }));
    const r = await execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'runner', 'worker.ts'), job], { reject: false });
    expect(r.exitCode).to.equal(EXIT_CODE_CHANGED);
    const rec = JSON.parse(readFileSync(join(cellDir, 'cell.json'), 'utf8')) as { status: string; error: string };
    expect(rec.status).to.equal('errored');
    expect(rec.error).to.match(/^harness\/ changed since the run started \(code not-this-code -> [0-9a-f]{16}\)/);
  });
});

import { expect } from 'chai';
import { execa } from 'execa';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp } from './helpers.js';
import { LM_SUITE, lmCells, writeLmResults, writeResults, writeVisionResults } from './report-fixtures.js';

const vpt = (args: string[]) => execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), ...args], { reject: false, cwd: REPO_ROOT, env: { CI: '1' } });

const stderrLines = (s: string): string[] => s.split('\n').filter((l) => l.trim());

function editCell(dir: string, arm: string, seed: number, edit: (c: Record<string, unknown>) => void): void {
  const f = join(dir, 'cells', arm, `seed-${seed}`, 'cell.json');
  const c = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
  edit(c);
  writeFileSync(f, JSON.stringify(c));
}

describe('vpt report, baseline, compare, publish', () => {
  const root = tmp('vpt-report-cli-');
  const lm = join(root, 'lm');
  const vision = join(root, 'vision');
  writeLmResults(lm);
  writeVisionResults(vision);
  const baselines = join(root, 'baselines');

  it('report writes its tables in three formats, plot specs and the page for each suite given', async () => {
    const r = await vpt(['report', lm, vision]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('### fixture-lm: each arm against the baseline');
    expect(r.stdout).to.contain(`report: ${join(lm, 'report', 'index.html')}`);
    expect(r.stdout).to.contain(`report: ${join(vision, 'report', 'index.html')}`);
    for (const t of ['main', 'ablation', 'cost', 'diagnostics']) for (const ext of ['md', 'csv', 'tex']) expect(existsSync(join(lm, 'report', `${t}.${ext}`)), `${t}.${ext}`).to.equal(true);
    for (const t of ['main', 'more-metrics', 'ablation', 'cost']) expect(existsSync(join(vision, 'report', `${t}.tex`)), `vision ${t}.tex`).to.equal(true);
    // Vision records no designer diagnostics: no empty diagnostics table.
    expect(existsSync(join(vision, 'report', 'diagnostics.md'))).to.equal(false);
    const specs = readdirSync(join(lm, 'report', 'plots')).filter((f) => f.endsWith('.vl.json'));
    expect(specs.map((f) => f.replace('.vl.json', '')).sort()).to.deep.equal([
      'designer-cos', 'designer-gate', 'designer-value', 'downstream-nll', 'metric-answer-nll-none', 'metric-pass-1-flexible-extract', 'metric-pass-1-strict-match', 'probe-r', 'train-loss',
    ]);
  });

  it('shards of one suite are joined: the same tables as the whole folder', async () => {
    const a = join(root, 'shard-a');
    const b = join(root, 'shard-b');
    const cells = lmCells();
    writeResults(a, LM_SUITE, cells.filter((_, i) => i % 2 === 0));
    writeResults(b, LM_SUITE, cells.filter((_, i) => i % 2 === 1));
    const out = join(root, 'joined');
    const r = await vpt(['report', a, b, '--out', out, '--tables-only']);
    expect(r.exitCode, r.stderr).to.equal(0);
    for (const f of ['main.md', 'main.csv', 'main.tex', 'ablation.csv', 'cost.tex', 'diagnostics.md']) {
      expect(readFileSync(join(out, f), 'utf8'), f).to.equal(readFileSync(join(lm, 'report', f), 'utf8'));
    }
  });

  it('a truncated cell.json: one line naming the file, exit 2, the previous report kept', async () => {
    const dir = join(root, 'truncated');
    cpSync(lm, dir, { recursive: true });
    const page = join(dir, 'report', 'index.html');
    const before = readFileSync(page, 'utf8');
    const f = join(dir, 'cells', 'uniform-topk', 'seed-2', 'cell.json');
    writeFileSync(f, readFileSync(f, 'utf8').slice(0, 200));
    const r = await vpt(['report', dir]);
    expect(r.exitCode).to.equal(2);
    expect(stderrLines(r.stderr)).to.have.length(1);
    expect(r.stderr).to.contain(`${f}: not valid JSON`);
    expect(readFileSync(page, 'utf8')).to.equal(before);
    // A cell.json that parses but lacks a key names the key.
    editCell(dir, 'uniform-topk', 1, (c) => delete c.armId);
    writeFileSync(f, readFileSync(join(lm, 'cells', 'uniform-topk', 'seed-2', 'cell.json')));
    const r2 = await vpt(['report', dir]);
    expect(r2.exitCode).to.equal(2);
    expect(r2.stderr).to.match(/uniform-topk\/seed-1\/cell\.json: armId: /);
  });

  it('baseline record writes baselines/<name>.json and never overwrites one without --force', async () => {
    const r = await vpt(['baseline', 'record', lm, '--as', 'fixture', '--dir', baselines]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const file = join(baselines, 'fixture.json');
    const b = JSON.parse(readFileSync(file, 'utf8'));
    expect(b).to.include({ schemaVersion: 1, kind: 'vpt-baseline', suite: 'fixture-lm', harnessVersion: '9.9.9', configHash: 'cfg0fixture00001' });
    const cell = b.cells.find((c: { id: string }) => c.id === 'fixture-lm/v-pretraining/seed-2');
    expect(cell.metrics['pass@1,strict-match'].value).to.equal(0.27);
    expect(cell).to.include.keys('dataHashes', 'evalVersions', 'armVersion', 'engine', 'gitSha', 'timings');
    // Of the curves only the downstream validation loss is kept (the table's token efficiency reads it).
    expect(Object.keys(cell.curves)).to.deep.equal(['downstream']);
    expect(cell.curves.downstream[0]).to.have.keys('step', 'nll');
    const mtime = statSync(file).mtimeMs;
    const again = await vpt(['baseline', 'record', lm, '--as', 'fixture', '--dir', baselines]);
    expect(again.exitCode).to.equal(2);
    expect(again.stderr).to.match(/fixture\.json exists; pass --force/);
    expect(statSync(file).mtimeMs).to.equal(mtime);
  });

  it('compare: the same results exit 0 with nothing regressed', async () => {
    const r = await vpt(['compare', join(baselines, 'fixture.json'), lm, '--fail-on-regression']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/0 regressed, 0 improved, \d+ within noise, 0 new, 0 missing, 0 incomparable/);
  });

  it('compare: a degraded arm is flagged, and exits 1 only with --fail-on-regression', async () => {
    const dir = join(root, 'degraded');
    cpSync(lm, dir, { recursive: true });
    for (const seed of [1, 2, 3]) {
      editCell(dir, 'v-pretraining', seed, (c) => {
        const m = (c.metrics as Record<string, { value: number }>)['pass@1,strict-match'] as { value: number };
        m.value -= 0.2;
      });
    }
    const r = await vpt(['compare', join(baselines, 'fixture.json'), dir, '--fail-on-regression', '--json', join(root, 'verdicts.json')]);
    expect(r.exitCode).to.equal(1);
    expect(r.stdout).to.match(/^v-pretraining\s+pass@1,strict-match\s+regressed/m);
    expect(r.stdout).to.match(/1 regressed/);
    const json = JSON.parse(readFileSync(join(root, 'verdicts.json'), 'utf8'));
    expect(json.counts.regressed).to.equal(1);
    const report = await vpt(['compare', join(baselines, 'fixture.json'), dir]);
    expect(report.exitCode).to.equal(0);
  });

  it('compare: a cell that completed and now errors exits 1', async () => {
    const dir = join(root, 'errored');
    cpSync(lm, dir, { recursive: true });
    editCell(dir, 'baseline', 2, (c) => {
      c.status = 'errored';
      c.error = 'RangeError: out of memory';
    });
    const r = await vpt(['compare', join(baselines, 'fixture.json'), dir, '--fail-on-regression']);
    expect(r.exitCode).to.equal(1);
    expect(r.stdout).to.match(/^baseline\s+status\s+regressed.*seed 2: completed → errored: RangeError: out of memory/m);
  });

  it('compare: nothing comparable (every eval version changed) exits 2', async () => {
    const dir = join(root, 'new-eval');
    cpSync(lm, dir, { recursive: true });
    for (const arm of readdirSync(join(dir, 'cells'))) {
      for (const s of readdirSync(join(dir, 'cells', arm))) editCell(dir, arm, Number(s.slice(5)), (c) => (c.evalVersions = { gsm8k: 2 }));
    }
    const r = await vpt(['compare', join(baselines, 'fixture.json'), dir, '--fail-on-regression']);
    expect(r.exitCode).to.equal(2);
    expect(r.stdout).to.match(/incomparable.*eval versions differ: \{"gsm8k":1\} → \{"gsm8k":2\}/);
    expect(r.stderr).to.match(/nothing could be compared/);
  });

  it('compare refuses a results folder of another suite and a baseline of a newer schema, one line each, exit 2', async () => {
    const other = await vpt(['compare', join(baselines, 'fixture.json'), vision]);
    expect(other.exitCode).to.equal(2);
    expect(stderrLines(other.stderr)).to.have.length(1);
    expect(other.stderr).to.match(/holds suite 'fixture-vision', but the baseline .* was recorded from suite 'fixture-lm'/);
    const newer = join(root, 'newer.json');
    const b = JSON.parse(readFileSync(join(baselines, 'fixture.json'), 'utf8'));
    writeFileSync(newer, JSON.stringify({ ...b, schemaVersion: 2 }));
    const r = await vpt(['compare', newer, lm]);
    expect(r.exitCode).to.equal(2);
    expect(stderrLines(r.stderr)).to.have.length(1);
    expect(r.stderr).to.contain(`${newer}: baseline schema version 2 is newer than this vpt reads (1)`);
    const notResults = await vpt(['report', join(root, 'baselines')]);
    expect(notResults.exitCode).to.equal(2);
    expect(notResults.stderr).to.match(/not a results folder \(no suite\.json/);
  });

  it('publish regenerates reports from baselines; --check fails when a published table is stale', async () => {
    const reports = join(root, 'reports');
    const w = await vpt(['publish', '--baselines', baselines, '--out', reports]);
    expect(w.exitCode, w.stderr).to.equal(0);
    const main = join(reports, 'fixture', 'main.md');
    // Published tables equal the report of the run the baseline recorded.
    expect(readFileSync(main, 'utf8')).to.equal(readFileSync(join(lm, 'report', 'main.md'), 'utf8'));
    expect((await vpt(['publish', '--baselines', baselines, '--out', reports, '--check'])).exitCode).to.equal(0);
    writeFileSync(main, readFileSync(main, 'utf8').replace('25.7', '27.5'));
    const stale = await vpt(['publish', '--baselines', baselines, '--out', reports, '--check']);
    expect(stale.exitCode).to.equal(1);
    expect(stale.stderr).to.contain('fixture/main.md');
    mkdirSync(join(root, 'moved'), { recursive: true });
    renameSync(join(reports, 'fixture', 'cost.tex'), join(root, 'moved', 'cost.tex'));
    const missing = await vpt(['publish', '--baselines', baselines, '--out', reports, '--check']);
    expect(missing.stderr).to.contain('fixture/cost.tex');
  });
});

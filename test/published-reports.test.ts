import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publishedFiles, staleReports } from '../harness/cli/publish.js';
import { writeJsonAtomic } from '../harness/results/atomic.js';
import { REPO_ROOT } from '../harness/results/version.js';
import { readBaseline } from '../harness/regress/baseline.js';
import { tmp } from './helpers.js';

const BASELINES = join(REPO_ROOT, 'baselines');
const REPORTS = join(REPO_ROOT, 'reports');
const QUICK = join(BASELINES, 'quick.json');

const vpt = (args: string[]) => execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), ...args], { reject: false, cwd: REPO_ROOT, env: { CI: '1' } });

/** Lays a baseline's cells out as a results folder: what a rerun of the same version writes (runs are deterministic). */
function rerunOf(file: string): string {
  const b = readBaseline(file);
  const dir = tmp('vpt-rerun-');
  writeJsonAtomic(join(dir, 'suite.json'), { configHash: b.configHash, suite: b.suiteConfig });
  for (const c of b.cells) writeJsonAtomic(join(dir, 'cells', c.armId, `seed-${c.seed}`, 'cell.json'), c);
  return dir;
}

describe('published reports and the recorded quick baseline', () => {
  it('reports/ holds exactly the tables regenerated from baselines/ (else: npm run reports)', () => {
    const files = [...publishedFiles(BASELINES).keys()];
    expect(files).to.include.members(['quick/main.md', 'quick/main.csv', 'quick/main.tex', 'quick/ablation.md', 'quick/cost.md', 'quick/diagnostics.md']);
    expect(staleReports(BASELINES, REPORTS), 'stale: run npm run reports').to.deep.equal([]);
  });

  it('the quick main table has at most 8 columns and no collapsed interval; its diagnostics are a table apart', () => {
    const md = readFileSync(join(REPORTS, 'quick', 'main.md'), 'utf8');
    const header = md.split('\n').find((l) => l.startsWith('| arm |')) as string;
    expect(header.split(' | ').length).to.be.at.most(8);
    // "+1.0 [+1.0, +1.0]": an interval whose bounds print alike.
    for (const m of md.matchAll(/\[([^\],]+), ([^\]]+)\]/g)) expect(m[1], m[0]).to.not.equal(m[2]);
    // Two seeds pair per arm: each difference says so instead of an interval.
    expect(md).to.contain('| v-pretraining | **13.0 ± 1.4** | +1.0 (n = 2) |');
    expect(md).to.not.match(/mean V|probe r|α on wrong/);
    expect(readFileSync(join(REPORTS, 'quick', 'diagnostics.md'), 'utf8')).to.match(/\| arm \| mean V \| α on wrong results \| α elsewhere \| probe r \(real step\) \| probe slope \| designer updates \| baseline steps to same val\. NLL \|/);
  });

  it('the quick baseline was recorded from a complete run of suites/quick.suite.ts', () => {
    const b = readBaseline(QUICK);
    expect(b.suite).to.equal('quick');
    // Every row × seed of the suite it was recorded from (quick: 8 rows × 2 seeds), each completed.
    const suite = b.suiteConfig as { arms: unknown[]; seeds: number[] };
    expect(b.cells.filter((c) => c.status === 'completed')).to.have.length(suite.arms.length * suite.seeds.length).and.to.have.length(16);
    expect(b.gitSha).to.match(/^[0-9a-f]{40}$/);
  });

  it('compare: a rerun of the same version reports no regression; a run with a broken arm is flagged and exits 1', async () => {
    const same = rerunOf(QUICK);
    const ok = await vpt(['compare', QUICK, same, '--fail-on-regression']);
    expect(ok.exitCode, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/0 regressed, 0 improved, \d+ within noise, 0 new, 0 missing, 0 incomparable/);

    // A broken uniform-topk: answer NLL up by 1 nat on both seeds, pass@1 down to 0.
    const broken = rerunOf(QUICK);
    for (const seed of [1, 2]) {
      const f = join(broken, 'cells', 'uniform-topk', `seed-${seed}`, 'cell.json');
      const c = JSON.parse(readFileSync(f, 'utf8')) as { metrics: Record<string, { value: number }> };
      (c.metrics['answer_nll,none'] as { value: number }).value += 1;
      for (const k of ['pass@1,strict-match', 'pass@1,flexible-extract']) (c.metrics[k] as { value: number }).value = 0;
      writeFileSync(f, JSON.stringify(c));
    }
    const bad = await vpt(['compare', QUICK, broken, '--fail-on-regression']);
    expect(bad.exitCode).to.equal(1);
    expect(bad.stdout).to.match(/^uniform-topk\s+answer_nll,none\s+regressed/m);
    expect(bad.stdout).to.not.match(/^(?!uniform-topk)\S+\s+\S+\s+regressed/m);
  });
});

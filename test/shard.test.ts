import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { balanceByCost, parseShard, roundRobin } from '../harness/runner/shard.js';
import { expandCells, type CellSpec } from '../harness/suite/expand.js';
import { parseSuite } from '../harness/suite/define.js';
import { loadSuite } from '../harness/suite/load.js';
import { execa } from 'execa';
import { tmp, vpt } from './helpers.js';

const SUITE = join(REPO_ROOT, 'test', 'fixtures', 'micro.suite.ts');
const ids = (xs: { id: string }[]): string[] => xs.map((c) => c.id);

describe('sharding a suite and merging the shards', () => {
  it('deals the sorted cell list round-robin: exact cell lists for several (i, n)', () => {
    // A suite of the ablation's shape, declared here so the pinned lists do not move when the shipped suites do.
    const suite = parseSuite({
      name: 'lm-ablation', seeds: [1, 2, 3],
      arms: [
        { arm: 'baseline' }, { arm: 'baseline', id: 'baseline@time', budget: { kind: 'matched', arm: 'v-pretraining' } },
        { arm: 'v-pretraining' }, { arm: 'random-feedback' }, { arm: 'uniform-topk' }, { arm: 'self-distill' },
        { arm: 'baseline', decontaminate: true }, { arm: 'v-pretraining', decontaminate: true },
      ],
    });
    const cells = expandCells(suite);
    expect(cells).to.have.length(24);
    // Sorted ids ('+' < '/' < '@'): baseline+decontam/1-3, baseline/1-3, baseline@time/1-3, random-feedback/1-3,
    // self-distill/1-3, uniform-topk/1-3, v-pretraining+decontam/1-3, v-pretraining/1-3; shard i takes positions
    // k ≡ i−1 (mod n), listed in declared order.
    expect(ids(roundRobin(cells, { index: 1, count: 2 }))).to.deep.equal([
      'lm-ablation/baseline/seed-2', 'lm-ablation/baseline@time/seed-1', 'lm-ablation/baseline@time/seed-3',
      'lm-ablation/v-pretraining/seed-2', 'lm-ablation/random-feedback/seed-2', 'lm-ablation/uniform-topk/seed-2',
      'lm-ablation/self-distill/seed-1', 'lm-ablation/self-distill/seed-3', 'lm-ablation/baseline+decontam/seed-1',
      'lm-ablation/baseline+decontam/seed-3', 'lm-ablation/v-pretraining+decontam/seed-1', 'lm-ablation/v-pretraining+decontam/seed-3',
    ]);
    expect(ids(roundRobin(cells, { index: 3, count: 4 }))).to.deep.equal([
      'lm-ablation/baseline@time/seed-1', 'lm-ablation/v-pretraining/seed-2', 'lm-ablation/random-feedback/seed-2',
      'lm-ablation/self-distill/seed-3', 'lm-ablation/baseline+decontam/seed-3', 'lm-ablation/v-pretraining+decontam/seed-1',
    ]);
    expect(ids(roundRobin(cells, { index: 1, count: 1 }))).to.deep.equal(ids(cells));
    // Every cell in exactly one shard, and no shard holds a single arm.
    for (const n of [2, 3, 5, 7]) {
      const shards = Array.from({ length: n }, (_, k) => roundRobin(cells, { index: k + 1, count: n }));
      expect(shards.flat().map((c) => c.id).sort()).to.deep.equal(ids(cells).sort());
      for (const sh of shards) expect(new Set(sh.map((c) => c.armId)).size).to.be.greaterThan(1);
    }
  });

  it('packs by recorded cost longest-first with deterministic ties', async () => {
    const { suite } = await loadSuite(SUITE);
    const cells = expandCells(suite);
    const costs = new Map([['micro/baseline/seed-1', 10], ['micro/baseline/seed-2', 10], ['micro/v-pretraining+decontam/seed-1', 30]]);
    // seed-2 of v-pretraining has no cost: it counts as the mean, 50/3.
    expect(ids(balanceByCost(cells, { index: 1, count: 2 }, costs))).to.deep.equal(['micro/v-pretraining+decontam/seed-1']);
    expect(ids(balanceByCost(cells, { index: 2, count: 2 }, costs))).to.deep.equal(['micro/baseline/seed-1', 'micro/baseline/seed-2', 'micro/v-pretraining+decontam/seed-2']);
  });

  it('keeps a cell that reads another cell of the run in that cell\'s shard', () => {
    const mk = (arm: string, seed: number, reads?: string): CellSpec => ({
      id: `s/${arm}/seed-${seed}`, suite: 's', armId: arm, arm: { arm }, seed, ...(reads ? { reads: { armId: reads } } : {}),
    });
    const cells = [1, 2, 3].flatMap((k) => [mk('baseline', k), mk('v-pretraining', k), mk('schedule-matched', k, 'v-pretraining')]);
    for (const n of [2, 3]) {
      for (let i = 1; i <= n; i++) {
        const mine = new Set(ids(roundRobin(cells, { index: i, count: n })));
        for (const k of [1, 2, 3]) expect(mine.has(`s/schedule-matched/seed-${k}`)).to.equal(mine.has(`s/v-pretraining/seed-${k}`));
      }
    }
    // Leading cells sorted: baseline/1..3, v-pretraining/1..3; shard 1 of 2 takes positions 0, 2, 4.
    expect(ids(roundRobin(cells, { index: 1, count: 2 }))).to.deep.equal([
      's/baseline/seed-1', 's/v-pretraining/seed-2', 's/schedule-matched/seed-2', 's/baseline/seed-3',
    ]);
    const costs = new Map(cells.map((c) => [c.id, c.armId === 'baseline' ? 1 : 5]));
    // Units by cost: v-pretraining/k with its follower 10 each, baselines 1. Longest first: vp1 → 1, vp2 → 2,
    // vp3 → 1 (tie, lowest shard), then b1, b2, b3 → 2 (the lighter shard each time).
    expect(ids(balanceByCost(cells, { index: 1, count: 2 }, costs))).to.deep.equal([
      's/v-pretraining/seed-1', 's/schedule-matched/seed-1', 's/v-pretraining/seed-3', 's/schedule-matched/seed-3',
    ]);
    expect(ids(balanceByCost(cells, { index: 2, count: 2 }, costs))).to.deep.equal([
      's/baseline/seed-1', 's/baseline/seed-2', 's/v-pretraining/seed-2', 's/schedule-matched/seed-2', 's/baseline/seed-3',
    ]);
  });

  it('refuses bad shard specs with one line', async () => {
    expect(() => parseShard('3/2')).to.throw("--shard '3/2': the shard number must be between 1 and 2");
    expect(() => parseShard('0/2')).to.throw("--shard '0/2': the shard number must be between 1 and 2");
    expect(() => parseShard('1/0')).to.throw("--shard '1/0': the number of shards must be at least 1");
    expect(() => parseShard('a')).to.throw("--shard 'a': expected i/n, e.g. 1/4");
    const r = await vpt(['run', SUITE, '--shard', '3/2']);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim()).to.equal("vpt: --shard '3/2': the shard number must be between 1 and 2");
  });

  describe('two shards merged equal one unsharded run', () => {
    const dir = tmp();
    const cache = join(dir, 'cache');
    const out = (name: string): string => join(dir, name);

    it('gives a byte-identical table', async () => {
      const whole = await vpt(['run', SUITE, '--out', out('whole'), '--cache', cache]);
      expect(whole.exitCode, whole.stderr).to.equal(0);
      for (const i of [1, 2]) {
        const r = await vpt(['run', SUITE, '--shard', `${i}/2`, '--out', out(`s${i}`), '--cache', cache]);
        expect(r.exitCode, r.stderr).to.equal(0);
        expect(r.stderr).to.match(new RegExp(`shard ${i}/2 \\(round-robin\\): 2 cell\\(s\\)`));
      }
      const m = await vpt(['merge', out('s1'), out('s2'), '--out', out('merged')]);
      expect(m.exitCode, m.stderr).to.equal(0);
      expect(m.stdout).to.match(/merged 4 cell\(s\) from 2 folder\(s\)/);
      expect(readFileSync(join(out('merged'), 'summary.md'), 'utf8')).to.equal(readFileSync(join(out('whole'), 'summary.md'), 'utf8'));
      expect(readFileSync(join(out('merged'), 'summary.csv'), 'utf8')).to.equal(readFileSync(join(out('whole'), 'summary.csv'), 'utf8'));
    });

    it('the CI recipe script runs shards, merge, report and the gate in sequence (no regression against its own baseline)', async () => {
      const rec = await vpt(['baseline', 'record', out('whole'), '--as', 'micro-ci', '--dir', out('baselines')]);
      expect(rec.exitCode, rec.stderr).to.equal(0);
      const baseline = join(out('baselines'), 'micro-ci.json');
      const r = await execa('bash', [join(REPO_ROOT, 'scripts', 'ci-suite.sh'), SUITE, baseline, '2', out('ci')], {
        reject: false, cwd: REPO_ROOT, env: { CI: '1', VPT_RUN_FLAGS: `--cache ${cache}` },
      });
      expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
      expect(r.stdout).to.match(/== shard 2\/2[\s\S]*== merge[\s\S]*== report[\s\S]*== compare/);
      expect(r.stdout).to.match(/\n0 regressed, \d+ improved, \d+ within noise/);
      expect(r.stdout).to.not.match(/ {2}regressed {2}/);
      expect(readFileSync(join(out('ci'), 'merged', 'summary.md'), 'utf8')).to.equal(readFileSync(join(out('whole'), 'summary.md'), 'utf8'));
    });

    it('names missing cells, and refuses conflicting duplicates, mixed configs, corrupt records and a non-empty output', async () => {
      const missing = await vpt(['merge', out('s1'), '--out', out('m1')]);
      expect(missing.exitCode).to.equal(2);
      expect(missing.stderr.trim()).to.equal(
        "vpt: 2 cell(s) of suite 'micro' are in no shard: micro/baseline/seed-2, micro/v-pretraining+decontam/seed-2 (add --allow-missing to merge the rest)",
      );
      const busy = await vpt(['merge', out('s1'), out('s2'), '--out', out('merged')]);
      expect(busy.stderr.trim()).to.equal(`vpt: ${out('merged')}: the output folder is not empty; merge into a new folder`);
      // A duplicate of seed-1 with other numbers.
      const dup = out('dup');
      mkdirSync(join(dup, 'cells', 'baseline', 'seed-1'), { recursive: true });
      writeFileSync(join(dup, 'suite.json'), readFileSync(join(out('s1'), 'suite.json')));
      const c = JSON.parse(readFileSync(join(out('s1'), 'cells', 'baseline', 'seed-1', 'cell.json'), 'utf8'));
      c.metrics['pass@1,strict-match'].value = 0.99;
      writeFileSync(join(dup, 'cells', 'baseline', 'seed-1', 'cell.json'), JSON.stringify(c));
      const conflict = await vpt(['merge', out('s1'), out('s2'), dup, '--out', out('m2')]);
      expect(conflict.stderr.trim()).to.equal(`vpt: cell micro/baseline/seed-1 is in ${out('s1')} and ${dup} with different results: refusing to pick one`);
      writeFileSync(join(dup, 'cells', 'baseline', 'seed-1', 'cell.json'), '{"status": "compl');
      const corrupt = await vpt(['merge', out('s1'), dup, '--out', out('m3')]);
      expect(corrupt.stderr).to.match(new RegExp(`^vpt: ${join(dup, 'cells', 'baseline', 'seed-1', 'cell.json')}: corrupt or truncated cell record`));
      const other = await vpt(['run', SUITE, '--shard', '2/2', '--out', out('other'), '--cache', cache, '--set', 'train.steps=3']);
      expect(other.exitCode, other.stderr).to.equal(0);
      const mixed = await vpt(['merge', out('s1'), out('other'), '--out', out('m4')]);
      expect(mixed.exitCode).to.equal(2);
      expect(mixed.stderr).to.match(/configHash [0-9a-f]{16} differs from .*s1's [0-9a-f]{16}: shards of one run must share config, code and calibration/);
    });
  });
});

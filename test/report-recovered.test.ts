/**
 * What the tables derive from several arms: the fraction of the oracle's headroom an arm recovers
 * (paired by seed, Fieller's interval, n/a when the headroom's own interval includes 0) and token efficiency
 * (baseline steps to reach an arm's final downstream validation loss).
 */
import { expect } from 'chai';
import { meanCurve, recoveredFraction, stepsToReach } from '../harness/report/derived.js';
import { toMarkdown } from '../harness/report/markdown.js';
import { readResultsDir, type ResultSet } from '../harness/report/read.js';
import { fiellerRatio, pairedDifference, tQuantile } from '../harness/stats.js';
import { ablationTable, diagnosticsTable } from '../harness/report/tables.js';
import { Rng } from '../harness/engine/rng.js';
import { tmp } from './helpers.js';
import { LM_SUITE, lmCells, writeResults, type FixtureCell } from './report-fixtures.js';

/** Var(ā − R·ō) from the pairs, and the Fieller criterion (ā − Rō)² − t²·Var(ā − Rō). */
function criterion(a: number[], o: number[], R: number): number {
  const n = a.length;
  const d = a.map((x, i) => x - R * o[i]!);
  const m = d.reduce((s, x) => s + x, 0) / n;
  const v = d.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1) / n;
  const t = tQuantile(0.975, n - 1);
  return m * m - t * t * v;
}

describe('recovered fraction and token efficiency', () => {
  it('Fieller: the interval is where (ā − Rō)² ≤ t²·Var(ā − Rō), and it contains the estimate', () => {
    const a = [1.0, 2.5, 1.8, 0.4, 2.2];
    const o = [4.1, 5.0, 3.6, 4.4, 5.3];
    const r = fiellerRatio(a, o)!;
    expect('lo' in r).to.equal(true);
    if (!('lo' in r)) return;
    expect(r.estimate).to.be.closeTo(7.9 / 22.4, 1e-12);
    expect(criterion(a, o, r.lo)).to.be.closeTo(0, 1e-12);
    expect(criterion(a, o, r.hi)).to.be.closeTo(0, 1e-12);
    expect(criterion(a, o, r.estimate)).to.be.lessThan(0);
    expect(r.lo).to.be.lessThan(r.estimate);
    expect(r.hi).to.be.greaterThan(r.estimate);
  });

  it('Fieller: unbounded exactly when the headroom interval includes 0', () => {
    const a = [0.5, -0.2, 0.3, 0.1];
    const o = [1.0, -0.8, 0.9, 0.2];
    const head = pairedDifference(o)!;
    expect(head.lo).to.be.lessThan(0);
    expect('unbounded' in fiellerRatio(a, o)!).to.equal(true);
    expect(fiellerRatio([1], [2])).to.equal(undefined);
  });

  it('Fieller: covers the true ratio about 95% of the time (paired normal simulation)', () => {
    const rng = new Rng(11);
    let covered = 0;
    let bounded = 0;
    const sims = 2000;
    for (let k = 0; k < sims; k++) {
      // Oracle headroom 4 ± 1 per seed, arm gains 0.3 of it plus its own noise (correlated through the baseline).
      const base = Array.from({ length: 6 }, () => rng.normal());
      const o = base.map((b) => 4 + rng.normal() - b);
      const a = base.map((b, i) => 0.3 * (o[i]! + b) + 0.5 * rng.normal() - b);
      const r = fiellerRatio(a, o)!;
      // An unbounded Fieller set (the headroom not significant) covers every ratio; it is rare here.
      if (!('lo' in r)) {
        covered++;
        continue;
      }
      bounded++;
      if (r.lo <= 0.3 && 0.3 <= r.hi) covered++;
    }
    expect(bounded).to.be.at.least(0.99 * sims);
    expect(covered / sims).to.be.within(0.93, 0.97);
  });

  it('pairs seeds: the fraction uses only seeds where arm, baseline and oracle all completed', () => {
    const r = recoveredFraction({ 1: 2, 2: 3, 3: 9 }, { 1: 1, 2: 1, 3: 1, 4: 0 }, { 1: 3, 2: 5 })!;
    expect(r.n).to.equal(2);
    expect(r.estimate).to.be.closeTo((1 + 2) / (2 + 4), 1e-12);
  });

  it('token efficiency: first crossing of the mean baseline curve, interpolated; undefined when never', () => {
    const curve = meanCurve([
      [{ step: 0, nll: 2 }, { step: 10, nll: 1.6 }, { step: 20, nll: 1.2 }],
      [{ step: 0, nll: 2.2 }, { step: 10, nll: 1.8 }, { step: 20, nll: 1.4 }, { step: 30, nll: 1 }],
    ]);
    expect(curve).to.deep.equal([{ step: 0, nll: 2.1 }, { step: 10, nll: 1.7000000000000002 }, { step: 20, nll: 1.2999999999999998 }]);
    expect(stepsToReach(curve, 1.5)).to.be.closeTo(15, 1e-9);
    expect(stepsToReach(curve, 2.5)).to.equal(0);
    expect(stepsToReach(curve, 1.0)).to.equal(undefined);
  });

  /** The language fixture plus an oracle-gate arm whose pass@1 strict per seed is `strict`. */
  function withOracle(strict: Record<number, number>): ResultSet {
    const dir = tmp('vpt-recovered-');
    const cells: FixtureCell[] = [...lmCells()];
    for (const seed of Object.keys(strict).map(Number)) {
      const base = cells.find((c) => c.armId === 'baseline' && c.seed === seed)!;
      cells.push({ ...base, armId: 'oracle-gate', arm: 'oracle-gate', metrics: { ...base.metrics, 'pass@1,strict-match': { value: strict[seed]!, stderr: 0.04, n: 100 } } });
    }
    writeResults(dir, { ...LM_SUITE, arms: [...LM_SUITE.arms, { arm: 'oracle-gate', decontaminate: false }] }, cells);
    return readResultsDir(dir);
  }

  it('ablation table: a recovered column on the stream with an oracle, Fieller interval with 3 varying seeds', () => {
    const t = ablationTable(withOracle({ 1: 0.3, 2: 0.31, 3: 0.27 }));
    expect(t.columns.map((c) => c.key)).to.deep.equal(['standard:m', 'standard:f', 'decontaminated:m']);
    const row = (id: string) => t.rows.find((r) => r.id === id)!;
    // V-pretraining: per seed (arm − baseline) = .06, .05, .06; (oracle − baseline) = .10, .09, .09.
    const v = row('v-pretraining').cells['standard:f']!;
    expect(v.kind).to.equal('value');
    if (v.kind === 'value') {
      const expected = fiellerRatio([0.26 - 0.2, 0.27 - 0.22, 0.24 - 0.18], [0.3 - 0.2, 0.31 - 0.22, 0.27 - 0.18])! as { estimate: number; lo: number; hi: number };
      expect(v.value).to.be.closeTo(0.17 / 0.28, 1e-9);
      expect(v.lo).to.be.closeTo(expected.lo, 1e-6);
      expect(v.hi).to.be.closeTo(expected.hi, 1e-6);
    }
    // The oracle and the baseline: blank.
    for (const id of ['oracle-gate', 'baseline']) expect(row(id).cells['standard:f']).to.deep.equal({ kind: 'empty', text: '' });
    const md = toMarkdown(t);
    expect(md).to.contain('recovered');
    expect(md).to.contain('Fieller');
  });

  it('recovered: n/a when the headroom interval includes 0; the estimate with "(n = 2)" when two seeds pair', () => {
    const none = ablationTable(withOracle({ 1: 0.22, 2: 0.19, 3: 0.185 })).rows.find((r) => r.id === 'v-pretraining')!.cells['standard:f'];
    expect(none).to.deep.include({ kind: 'value', text: 'n/a' });
    const two = ablationTable(withOracle({ 1: 0.3, 2: 0.31 }));
    const cell = two.rows.find((r) => r.id === 'v-pretraining')!.cells['standard:f']!;
    expect(cell).to.deep.include({ kind: 'value', suffix: '(n = 2)' });
    expect(cell.kind === 'value' && cell.value).to.be.closeTo((0.06 + 0.05) / (0.1 + 0.09), 1e-9);
    expect(toMarkdown(two)).to.match(/\| V-pretraining \(2 failed\) \| [^|]+ \| 0\.58 \(n = 2\) \|/);
  });

  it('diagnostics table: token efficiency per arm, "never" when the baseline does not get there within the run', () => {
    const t = diagnosticsTable(withOracle({ 1: 0.3, 2: 0.31, 3: 0.27 }));
    // The baseline's mean curve is 1.62 − 0.002·s up to step 50; v-pretraining (arm index 1) ends at
    // 1.62 − 0.11 = 1.51, which the baseline would reach at step 55: never within its 50 steps.
    expect(t.rows.find((r) => r.id === 'v-pretraining')!.cells['e:downstream']).to.deep.include({ kind: 'value', text: 'never' });
  });
});

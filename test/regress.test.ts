import { expect } from 'chai';
import { Rng } from '../harness/engine/rng.js';
import { compareResults, type Comparison } from '../harness/regress/compare.js';
import { CompareConfigSchema, compareConfigOf, toleranceFor } from '../harness/regress/config.js';
import { parseCell, type ResultSet } from '../harness/report/read.js';
import { cellJson, type FixtureCell } from './report-fixtures.js';

const ARMS = ['baseline', 'v-pretraining', 'random-feedback', 'uniform-topk', 'self-distill'];
const PASS = 'pass@1,strict-match';
const NLL = 'answer_nll,none';
const DEFAULTS = CompareConfigSchema.parse({});

interface Draw {
  seeds: number;
  /** Seed-to-seed sd of pass@1 (a fraction). */
  sdPass: number;
  /** Shift of one arm's pass@1 mean. */
  shift?: { arm: string; by: number };
}

/** One run: every arm over `seeds` seeds, pass@1 ~ N(0.25, sdPass²), NLL ~ N(1.5, 0.01²), timings ~ 3% noise. */
function draw(rng: Rng, d: Draw): FixtureCell[] {
  const cells: FixtureCell[] = [];
  for (const arm of ARMS) {
    for (let seed = 1; seed <= d.seeds; seed++) {
      const p = 0.25 + (d.shift?.arm === arm ? d.shift.by : 0) + d.sdPass * rng.normal();
      cells.push({
        armId: arm,
        arm,
        seed,
        metrics: { [PASS]: { value: p, stderr: 0.043, n: 100 }, [NLL]: { value: 1.5 + 0.01 * rng.normal(), stderr: 0.05, n: 100 } },
        higherIsBetter: { [PASS]: true, [NLL]: false },
        timings: { msPerStep: 100 * Math.exp(0.03 * rng.normal()), evalMs: 1000 * Math.exp(0.03 * rng.normal()), tokensPerSecond: 1, trainMs: 1, totalMs: 1 },
      });
    }
  }
  return cells;
}

function resultSet(cells: readonly FixtureCell[], over: (c: FixtureCell) => Record<string, unknown> = () => ({})): ResultSet {
  const seeds = [...new Set(cells.map((c) => c.seed))].sort((a, b) => a - b);
  return {
    suite: 'gate',
    sources: ['memory'],
    configHash: 'cfg0fixture00001',
    arms: [...new Set([...ARMS, ...cells.map((c) => c.armId)])].map((id) => ({ id, arm: id, variant: 'standard' })),
    seeds,
    cells: cells.map((c) => parseCell(`${c.armId}/${c.seed}`, cellJson('gate', c, over(c)))),
  };
}

const flagged = (c: Comparison): string[] => c.rows.filter((r) => r.verdict === 'regressed' || r.verdict === 'improved').map((r) => `${r.arm} ${r.metric} ${r.verdict}`);
const verdict = (c: Comparison, arm: string, metric: string): string | undefined => c.rows.find((r) => r.arm === arm && r.metric === metric)?.verdict;

describe('regression gate', () => {
  it('identical reruns never flag, over 500 resampled baselines (2–4 seeds, seed noise 0–3 points)', () => {
    const rng = new Rng(11);
    for (let t = 0; t < 500; t++) {
      const cells = draw(rng, { seeds: 2 + (t % 3), sdPass: [0, 0.005, 0.02, 0.03][t % 4] as number });
      const c = compareResults(resultSet(cells), resultSet(cells), DEFAULTS);
      expect(flagged(c), `trial ${t}`).to.deep.equal([]);
      expect(c.counts.regressed + c.counts.improved + c.counts.incomparable).to.equal(0);
    }
  });

  it('independent reruns of one version flag (anything, anywhere) in at most alpha of 1000 trials', () => {
    // Not "never": with 2–3 seeds a chance near-zero seed sd can make a small difference significant.
    // Holm over the comparison bounds the familywise rate by alpha; the tolerance pushes it far below.
    const rng = new Rng(12);
    let trialsFlagged = 0;
    for (let t = 0; t < 1000; t++) {
      const d = { seeds: 2 + (t % 2), sdPass: 0.02 };
      if (flagged(compareResults(resultSet(draw(rng, d)), resultSet(draw(rng, d)), DEFAULTS)).length) trialsFlagged++;
    }
    expect(trialsFlagged / 1000).to.be.at.most(DEFAULTS.alpha);
  });

  it('an injected drop far beyond the tolerance always flags that arm and metric (5 seeds, 1-point noise, 8-point drop; 3 seeds, 30-point drop)', () => {
    const rng = new Rng(13);
    for (const [seeds, by] of [[5, -0.08], [3, -0.3]] as const) {
      for (let t = 0; t < 200; t++) {
        const b = resultSet(draw(rng, { seeds, sdPass: 0.01 }));
        const r = resultSet(draw(rng, { seeds, sdPass: 0.01, shift: { arm: 'uniform-topk', by } }));
        expect(verdict(compareResults(b, r, DEFAULTS), 'uniform-topk', PASS), `seeds ${seeds} trial ${t}`).to.equal('regressed');
      }
    }
  });

  it('a drop inside the tolerance never flags (500 trials, 0.5-point drop, 1-point tolerance)', () => {
    const rng = new Rng(14);
    for (let t = 0; t < 500; t++) {
      // With 0.05-point noise the drop is significant, but inside the tolerance.
      for (const sdPass of [0.0005, 0.002]) {
        const b = resultSet(draw(rng, { seeds: 3, sdPass }));
        const r = resultSet(draw(rng, { seeds: 3, sdPass, shift: { arm: 'self-distill', by: -0.005 } }));
        expect(verdict(compareResults(b, r, DEFAULTS), 'self-distill', PASS), `trial ${t} sd ${sdPass}`).to.equal('within noise');
      }
    }
  });

  it('a drop inside the noise (0.5 point under 2-point seed noise) flags in under 1% of 500 trials', () => {
    // A chance pair of small seed spreads can make such a drop look real; the rate is what the gate promises.
    const rng = new Rng(15);
    let regressed = 0;
    for (let t = 0; t < 500; t++) {
      const b = resultSet(draw(rng, { seeds: 3, sdPass: 0.02 }));
      const r = resultSet(draw(rng, { seeds: 3, sdPass: 0.02, shift: { arm: 'self-distill', by: -0.005 } }));
      if (verdict(compareResults(b, r, DEFAULTS), 'self-distill', PASS) === 'regressed') regressed++;
    }
    expect(regressed / 500).to.be.below(0.01);
  });

  it('direction-aware: a lower NLL improves, a higher one regresses', () => {
    const rng = new Rng(15);
    const cells = draw(rng, { seeds: 3, sdPass: 0.01 });
    const shifted = (by: number): FixtureCell[] => cells.map((c) => ({ ...c, metrics: { ...c.metrics, [NLL]: { ...(c.metrics?.[NLL] as { value: number; stderr: number; n: number }), value: (c.metrics?.[NLL]?.value as number) + (c.armId === 'baseline' ? by : 0) } } }));
    expect(verdict(compareResults(resultSet(cells), resultSet(shifted(-0.5)), DEFAULTS), 'baseline', NLL)).to.equal('improved');
    expect(verdict(compareResults(resultSet(cells), resultSet(shifted(0.5)), DEFAULTS), 'baseline', NLL)).to.equal('regressed');
  });

  it('one seed a side: the interval comes from the recorded per-sample stderr', () => {
    const one = (p: number, stderr: number): ResultSet =>
      resultSet([{ armId: 'baseline', arm: 'baseline', seed: 1, metrics: { [PASS]: { value: p, stderr, n: 100 } }, higherIsBetter: { [PASS]: true } }]);
    // Change −0.2 with se √(0.02² + 0.02²) = 0.0283: beyond −0.01 by 6.7 se → regressed.
    const c = compareResults(one(0.4, 0.02), one(0.2, 0.02), DEFAULTS);
    const row = c.rows.find((r) => r.metric === PASS);
    expect(row?.verdict).to.equal('regressed');
    expect(row?.interval?.[0]).to.be.closeTo(-0.2 - 1.959964 * Math.sqrt(0.0008), 1e-5);
    expect(row?.note).to.match(/per-sample stderr/);
    // Same change with se 0.2: within noise.
    expect(compareResults(one(0.4, 0.2), one(0.2, 0.2), DEFAULTS).rows.find((r) => r.metric === PASS)?.verdict).to.equal('within noise');
  });

  it('the tables\' rule: fewer than 3 seeds a side, or seeds without spread, give no Welch interval (per-sample stderr instead; timings untested)', () => {
    // Every seed of a side identical: Welch's standard error is 0 and a 5-point drop would read as certain.
    const flat = (seeds: number, p: number): ResultSet =>
      resultSet(Array.from({ length: seeds }, (_, i) => ({
        armId: 'baseline', arm: 'baseline', seed: i + 1,
        metrics: { [PASS]: { value: p, stderr: 0.043, n: 100 } }, higherIsBetter: { [PASS]: true },
        timings: { msPerStep: 100 * (p > 0.22 ? 1 : 1.5), evalMs: 1000, tokensPerSecond: 1, trainMs: 1, totalMs: 1 },
      })));
    for (const [seeds, why] of [[2, /n = 2 and 2 seeds: no interval over seeds/], [3, /no spread over seeds/]] as const) {
      const c = compareResults(flat(seeds, 0.25), flat(seeds, 0.2), DEFAULTS);
      const row = c.rows.find((r) => r.metric === PASS);
      // −0.05 against se √2·0.043/√n… per side: within noise, not "regressed" on a zero-width interval.
      expect(row?.verdict, `${seeds} seeds`).to.equal('within noise');
      expect(row?.note, `${seeds} seeds`).to.match(why).and.match(/per-sample stderr/);
      expect((row?.interval?.[1] ?? 0) - (row?.interval?.[0] ?? 0), `${seeds} seeds`).to.be.greaterThan(0.1);
      const timing = c.rows.find((r) => r.metric === 'timing:msPerStep');
      expect(timing?.verdict, `${seeds} seeds`).to.equal('within noise');
      expect(timing?.note, `${seeds} seeds`).to.match(/not tested/);
    }
    // Two seeds a side and no recorded stderr: nothing to judge by.
    const bare = (p: number): ResultSet =>
      resultSet(
        [1, 2].map((seed) => ({ armId: 'baseline', arm: 'baseline', seed, higherIsBetter: { [PASS]: true } })),
        (c) => ({ metrics: { [PASS]: { value: p + c.seed / 100, stderr: null, n: 100 } } }),
      );
    const none = compareResults(bare(0.25), bare(0.2), DEFAULTS).rows.find((r) => r.metric === PASS);
    expect(none?.verdict).to.equal('incomparable');
    expect(none?.note).to.match(/n = 2 and 2 seeds: no interval over seeds, and no recorded stderr/);
  });

  it('completed → errored or timed out always regresses; new and missing arms and metrics are named', () => {
    const rng = new Rng(16);
    const cells = draw(rng, { seeds: 2, sdPass: 0.01 });
    const now = cells
      .filter((c) => c.armId !== 'self-distill')
      .map((c): FixtureCell => (c.armId === 'uniform-topk' && c.seed === 2 ? { ...c, status: 'timedout' } : c))
      .map((c): FixtureCell => (c.armId === 'baseline' ? { ...c, metrics: { ...c.metrics, 'extra,none': { value: 1, stderr: 0, n: 1 } } } : c));
    now.push({ ...(cells[0] as FixtureCell), armId: 'brand-new', arm: 'baseline' });
    const c = compareResults(resultSet(cells), resultSet(now), DEFAULTS);
    expect(c.rows.find((r) => r.metric === 'status')).to.include({ arm: 'uniform-topk', verdict: 'regressed' });
    expect(c.rows.find((r) => r.metric === 'status')?.note).to.match(/seed 2: completed → timedout/);
    expect(verdict(c, 'self-distill', PASS)).to.equal('missing');
    expect(verdict(c, 'baseline', 'extra,none')).to.equal('new');
    expect(verdict(c, 'brand-new', PASS)).to.equal('new');
  });

  it('different eval version, data hash, config hash or arm version: incomparable, never regressed', () => {
    const rng = new Rng(17);
    const cells = draw(rng, { seeds: 3, sdPass: 0.01 });
    const worse = cells.map((c) => ({ ...c, metrics: { ...c.metrics, [PASS]: { value: 0, stderr: 0, n: 100 } } }));
    for (const [what, over] of [
      ['eval versions', { evalVersions: { gsm8k: 2 } }],
      ['data hashes', { dataHashes: { train: 'x', test: 'd2', cpt: 'd3' } }],
      ['config hash', { configHash: 'other' }],
      ['arm version', { armVersion: 2 }],
    ] as const) {
      const c = compareResults(resultSet(cells), resultSet(worse, (x) => (x.armId === 'v-pretraining' ? over : {})), DEFAULTS);
      expect(verdict(c, 'v-pretraining', PASS), what).to.equal('incomparable');
      expect(c.rows.find((r) => r.arm === 'v-pretraining' && r.metric === PASS)?.note).to.contain(`${what} differ`);
      expect(verdict(c, 'baseline', PASS), what).to.equal('regressed');
    }
  });

  it('timings: a significant slowdown beyond ×1.1 regresses on the same device; another device is incomparable', () => {
    const rng = new Rng(18);
    const cells = draw(rng, { seeds: 3, sdPass: 0.01 });
    const slower = (f: number): FixtureCell[] => cells.map((c) => ({ ...c, timings: { ...c.timings, msPerStep: (c.timings?.msPerStep as number) * (c.armId === 'baseline' ? f : 1) } }));
    expect(verdict(compareResults(resultSet(cells), resultSet(slower(1.5)), DEFAULTS), 'baseline', 'timing:msPerStep')).to.equal('regressed');
    // 5% slower is below the factor, however significant.
    expect(verdict(compareResults(resultSet(cells), resultSet(slower(1.05)), DEFAULTS), 'baseline', 'timing:msPerStep')).to.equal('within noise');
    expect(verdict(compareResults(resultSet(cells), resultSet(slower(0.5)), DEFAULTS), 'baseline', 'timing:msPerStep')).to.equal('improved');
    const elsewhere = compareResults(resultSet(cells), resultSet(slower(1.5), () => ({ engine: { backend: 'tensorflow-gpu', tfjsVersion: '4.22.0', device: 'gpu' } })), DEFAULTS);
    expect(verdict(elsewhere, 'baseline', 'timing:msPerStep')).to.equal('incomparable');
    expect(verdict(elsewhere, 'baseline', PASS)).to.equal('within noise');
  });

  it('tolerances: documented defaults, overridden per suite by key or metric name; bad settings name the key', () => {
    expect(toleranceFor(DEFAULTS, PASS)).to.deep.equal({ abs: 0.01, rel: 0 });
    expect(toleranceFor(DEFAULTS, 'miou,none')).to.deep.equal({ abs: 0.005, rel: 0 });
    expect(toleranceFor(DEFAULTS, 'unknown,none')).to.deep.equal({ abs: 0, rel: 0.01 });
    const cfg = compareConfigOf({ compare: { tolerances: { 'pass@1': { abs: 0.5 } } } }, 'suite.json');
    expect(toleranceFor(cfg, PASS)).to.deep.equal({ abs: 0.5, rel: 0 });
    // A huge declared tolerance turns a clear drop into "within noise".
    const rng = new Rng(19);
    const b = resultSet(draw(rng, { seeds: 3, sdPass: 0.001 }));
    const r = resultSet(draw(rng, { seeds: 3, sdPass: 0.001, shift: { arm: 'baseline', by: -0.2 } }));
    expect(verdict(compareResults(b, r, DEFAULTS), 'baseline', PASS)).to.equal('regressed');
    expect(verdict(compareResults(b, r, cfg), 'baseline', PASS)).to.equal('within noise');
    expect(() => compareConfigOf({ compare: { timingFactor: 0.5 } }, 'suite.json')).to.throw(/suite.json: compare.timingFactor/);
  });
});

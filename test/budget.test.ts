import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planRows } from '../harness/runner/budget.js';
import { readCalibration } from '../harness/runner/calibration.js';
import { REPO_ROOT } from '../harness/results/version.js';
import { parseSuite } from '../harness/suite/define.js';
import { loadSuite } from '../harness/suite/load.js';
import { tmp, vpt } from './helpers.js';

const SUITE = join(REPO_ROOT, 'test', 'fixtures', 'micro.suite.ts');
// The paper's v2: a baseline row that gets the wall-clock V-pretraining needs for its updates.
const ARMS = '[{"arm":"baseline"},{"arm":"baseline","id":"baseline@time","budget":{"kind":"matched","arm":"v-pretraining"}},{"arm":"v-pretraining"}]';
const SETS = ['--set', `arms=${ARMS}`, '--set', 'seeds=[1]'];
const steps = (out: string, arm: string): number =>
  (JSON.parse(readFileSync(join(out, 'cells', arm, 'seed-1', 'cell.json'), 'utf8')) as { steps: { planned: number } }).steps.planned;

describe('wall-clock budgets from a stored calibration', () => {
  const dir = tmp();
  const cache = join(dir, 'cache');
  const first = join(dir, 'first');

  it('plans steps from the budget: update rows take train.steps, the matched arm its updates, others the same time', () => {
    const s = parseSuite({ name: 'x', seeds: [1], train: { steps: 10 }, arms: JSON.parse(ARMS) });
    const cal = { arms: { baseline: { msPerStep: 40 }, 'v-pretraining': { msPerStep: 52 } } } as never;
    const plans = planRows(s, cal);
    expect(plans.get('baseline')?.steps).to.equal(10);
    expect(plans.get('v-pretraining')?.steps).to.equal(10);
    // 10 × 52 ms = 520 ms of V-pretraining; at 40 ms a step the baseline gets floor(13) steps.
    expect(plans.get('baseline@time')?.steps).to.equal(13);
    expect(plans.get('baseline@time')?.plannedMs).to.equal(520);
    const secs = parseSuite({ name: 'x', seeds: [1], budget: { kind: 'seconds', seconds: 1.01 }, arms: [{ arm: 'baseline' }] });
    expect(planRows(secs, cal).get('baseline')?.steps).to.equal(25);
  });

  it('measures a calibration, stores it with the results and plans each arm from it', async () => {
    const r = await vpt(['run', SUITE, ...SETS, '--out', first, '--cache', cache]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/done calibration \(baseline, v-pretraining\)/);
    expect(r.stderr).to.match(/budget: baseline@time: \d+ steps \(matched to v-pretraining's train\.steps updates, [\d.]+ s planned\)/);
    const cal = readCalibration(join(first, 'calibration.json'));
    expect(cal.engine.backend).to.equal('wasm');
    expect(cal.arms.baseline?.samples).to.have.length(5);
    const { suite } = await loadSuite(SUITE, SETS.filter((_, i) => i % 2 === 1));
    const plans = planRows(suite, cal);
    for (const arm of ['baseline', 'baseline@time', 'v-pretraining']) expect(steps(first, arm), arm).to.equal(plans.get(arm)?.steps);
    expect(steps(first, 'v-pretraining')).to.equal(4);
    const cell = JSON.parse(readFileSync(join(first, 'cells', 'baseline@time', 'seed-1', 'cell.json'), 'utf8'));
    expect(cell.budget.budget).to.deep.equal({ kind: 'matched', arm: 'v-pretraining' });
    expect(cell.budget.plannedMs).to.be.a('number');
    expect(cell.timings.trainMs).to.be.a('number');
    expect(cell.budget.calibration).to.match(/^[0-9a-f]{16}$/);
    // The main table states each row's budget kind; the cost table each row's learner updates.
    const md = readFileSync(join(first, 'summary.md'), 'utf8');
    expect(md).to.contain("Budget: baseline, v-pretraining train a fixed number of learner updates; baseline@time train the wall-clock v-pretraining needs for its updates (calibrated per step).");
    const cost = readFileSync(join(first, 'report', 'cost.md'), 'utf8');
    expect(cost).to.match(new RegExp(`\\| baseline@time \\|.* \\| ${steps(first, 'baseline@time')}( ± 0)? \\|\\n`));
  });

  it('a rerun with the stored calibration takes identical step counts', async () => {
    const second = join(dir, 'second');
    const r = await vpt(['run', SUITE, ...SETS, '--out', second, '--cache', cache, '--calibration', join(first, 'calibration.json')]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.not.match(/start calibration/);
    for (const arm of ['baseline', 'baseline@time', 'v-pretraining']) expect(steps(second, arm), arm).to.equal(steps(first, arm));
    expect(readFileSync(join(second, 'calibration.json'), 'utf8')).to.equal(readFileSync(join(first, 'calibration.json'), 'utf8'));
  });

  it('refuses a calibration from another device or harness version unless forced, and a shard without one', async () => {
    const cal = JSON.parse(readFileSync(join(first, 'calibration.json'), 'utf8'));
    const other = join(dir, 'other-device.json');
    writeFileSync(other, JSON.stringify({ ...cal, engine: { ...cal.engine, device: 'NVIDIA H100 (webgpu)' } }));
    const r = await vpt(['run', SUITE, ...SETS, '--out', join(dir, 'third'), '--cache', cache, '--calibration', other]);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim()).to.match(new RegExp(`^vpt: ${other}: cannot plan this run's steps: it was measured on device "NVIDIA H100 \\(webgpu\\)", this run is on ".+" \\(--force-calibration uses it anyway\\)$`));
    const older = join(dir, 'other-version.json');
    writeFileSync(older, JSON.stringify({ ...cal, harnessVersion: '0.0.1' }));
    const v = await vpt(['run', SUITE, ...SETS, '--out', join(dir, 'third'), '--cache', cache, '--calibration', older]);
    expect(v.stderr).to.match(/it was measured with harness 0\.0\.1, this is \d/);
    const forced = await vpt(['run', SUITE, ...SETS, '--out', join(dir, 'forced'), '--cache', cache, '--calibration', other, '--force-calibration']);
    expect(forced.exitCode, forced.stderr).to.equal(0);
    expect(forced.stderr).to.match(/calibration: using .* although it was measured on device/);
    const shard = await vpt(['run', SUITE, ...SETS, '--shard', '1/2', '--out', join(dir, 's1'), '--cache', cache]);
    expect(shard.exitCode).to.equal(2);
    expect(shard.stderr).to.match(/has wall-clock budgets: every shard must plan the same steps, so give each the same --calibration <file>/);
  });

  it('vpt calibrate writes a calibration that vpt run accepts', async () => {
    const file = join(dir, 'micro.calibration.json');
    const r = await vpt(['calibrate', SUITE, ...SETS, '--out', file, '--cache', cache]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/v-pretraining +[\d.]+ ms\/step \(range [\d.]+–[\d.]+, 5 cycles of 2 steps\)/);
    expect(Object.keys(readCalibration(file).arms).sort()).to.deep.equal(['baseline', 'v-pretraining']);
  });
});

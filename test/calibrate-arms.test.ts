/**
 * Wall-clock budgets need every language arm's per-step cost: each registered arm, including the ones that read
 * the generator's labels (oracle-gate) or another cell's record (schedule-matched), can be timed; a row that
 * overrides design cannot hide behind a calibration measured at the suite's design.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { armRegistry } from '../harness/language/arms/index.js';
import { parseSuite } from '../harness/suite/define.js';
import { languageTask } from '../harness/language/task.js';
import { measureLanguageStepCost } from '../harness/language/calibrate.js';
import { microSuite, tmp, useWasm } from './helpers.js';

describe('calibration of the language arms', () => {
  const cache = join(tmp(), 'cache');
  // A validation slice smaller than the micro train split, so feedback has problems to shuffle.
  const s = microSuite({ eval: { gsm8k: { limit: 4, maxNewTokens: 8 }, downstream: { size: 16 } } });

  before(async () => {
    await useWasm();
    await languageTask.prepareBase(s, cache);
  });

  for (const name of armRegistry.names()) {
    it(`times '${name}' at the suite's cadence`, async () => {
      const c = await measureLanguageStepCost(s, name, cache, { cycles: 2, warmupCycles: 0 });
      expect(c.msPerStep).to.be.greaterThan(0);
      expect(c.samples).to.have.length(2);
      expect(c.cycleSteps).to.equal(s.design.metaEvery);
    });
  }

  it('refuses design overrides on a row whose arm a wall-clock budget calibrates, and allows them under updates', () => {
    const base = { name: 'x', seeds: [1], data: s.data };
    const tuned = { arm: 'v-pretraining', id: 'vp-k4', design: { designerSteps: 4 } };
    const err = ((): string => {
      try {
        parseSuite({ ...base, arms: [{ arm: 'v-pretraining' }, tuned, { arm: 'baseline', id: 'baseline@time', budget: { kind: 'matched', arm: 'v-pretraining' } }] });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(err).to.match(/arms\.1\.design: 'v-pretraining' has a wall-clock budget here \(its per-step cost is calibrated at the suite's design\)/);
    expect(() => parseSuite({ ...base, arms: [{ arm: 'baseline' }, tuned] })).to.not.throw();
  });
});

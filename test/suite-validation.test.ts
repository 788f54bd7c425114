import { expect } from 'chai';
import { defineSuite, languageSuite, parseSuite, SuiteError, suiteHash } from '../harness/suite/define.js';
import { expandCells } from '../harness/suite/expand.js';
import { applyOverrides } from '../harness/suite/overrides.js';
import { configHash } from '../harness/suite/hash.js';
import { armRegistry } from '../harness/language/arms/index.js';

const ok = { name: 'x', seeds: [1, 2], arms: [{ arm: 'baseline' }, { arm: 'v-pretraining', decontaminate: true }] };

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(SuiteError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('suite declaration and validation', () => {
  it('fills documented defaults and expands cells as suite/arm/seed-N in declared order', () => {
    const s = defineSuite(ok);
    expect(s.design.topK).to.equal(16);
    expect(s.train.steps).to.equal(60);
    expect(expandCells(s).map((c) => c.id)).to.deep.equal([
      'x/baseline/seed-1', 'x/baseline/seed-2', 'x/v-pretraining+decontam/seed-1', 'x/v-pretraining+decontam/seed-2',
    ]);
  });

  it('names an unknown key', () => {
    expect(errorOf(() => parseSuite({ ...ok, train: { stepz: 3 } }))).to.match(/train: Unrecognized key: "stepz"/);
    expect(errorOf(() => parseSuite({ ...ok, colour: 'red' }))).to.match(/\(top level\): Unrecognized key: "colour"/);
  });

  it('names a bad value with its path', () => {
    expect(errorOf(() => parseSuite({ ...ok, model: { nLayer: 'two' } }))).to.match(/model\.nLayer: Invalid input: expected number/);
    expect(errorOf(() => parseSuite({ ...ok, design: { alphaMax: 1.5 } }))).to.match(/design\.alphaMax/);
    expect(errorOf(() => parseSuite({ ...ok, seeds: [] }))).to.match(/seeds/);
    expect(errorOf(() => parseSuite({ ...ok, model: { nEmbd: 30, nHead: 4 } }))).to.match(/model\.nHead: 4 does not divide model\.nEmbd 30/);
  });

  it('lists the valid arms on a typo, and rejects duplicate arm ids', () => {
    const msg = errorOf(() => parseSuite({ ...ok, arms: [{ arm: 'v-pretrain' }] }));
    expect(msg).to.match(/arms\.0\.arm: unknown language arm 'v-pretrain'; valid: .*v-pretraining/);
    expect(errorOf(() => parseSuite({ ...ok, arms: [{ arm: 'baseline' }, { arm: 'baseline' }] }))).to.match(/duplicate arm id 'baseline'/);
    expect(() => armRegistry.register(armRegistry.get('baseline'))).to.throw(/already registered/);
  });

  it('applies --set overrides with types checked and unknown keys rejected', () => {
    const s = defineSuite(ok);
    expect(parseSuite(applyOverrides(s, ['train.steps=7', 'design.value=cosine'])).train.steps).to.equal(7);
    expect(errorOf(() => parseSuite(applyOverrides(s, ['train.stepz=7'])))).to.match(/Unrecognized key: "stepz"/);
    expect(errorOf(() => parseSuite(applyOverrides(s, ['train.steps=many'])))).to.match(/train\.steps/);
    expect(() => applyOverrides(s, ['nonsense'])).to.throw(/expected key=value/);
  });

  it('hashes configs independently of key order', () => {
    expect(configHash({ a: 1, b: { c: 2, d: 3 } })).to.equal(configHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(configHash({ a: 1 })).to.not.equal(configHash({ a: 2 }));
  });

  it('takes per-suite regression tolerances under compare, validated, and leaves them out of the config hash', () => {
    const plain = defineSuite(ok);
    const judged = defineSuite({ ...ok, compare: { tolerances: { 'pass@1': { abs: 0.02 } } } });
    expect(judged.compare?.tolerances['pass@1']).to.deep.equal({ abs: 0.02, rel: 0 });
    expect(suiteHash(judged)).to.equal(suiteHash(plain));
    expect(suiteHash(defineSuite({ ...ok, seeds: [1] }))).to.not.equal(suiteHash(plain));
    expect(errorOf(() => defineSuite({ ...ok, compare: { tolerances: { 'pass@1': { abs: -1 } } } }))).to.match(/compare\.tolerances\.pass@1\.abs/);
  });

  it('refuses a backend the suite\'s task cannot run on with one line naming the key (vision on webgpu)', () => {
    const vision = { task: 'vision' as const, name: 'v', seeds: [1], arms: [{ arm: 'baseline' }] };
    expect(() => defineSuite({ ...vision, backend: 'wasm' })).to.not.throw();
    expect(errorOf(() => defineSuite({ ...vision, backend: 'webgpu' }))).to.match(/\n {2}backend: the vision task does not run on webgpu: its trainer and probes read tensors synchronously, which WebGPU in Node cannot; use wasm \(or auto\)$/);
    expect(() => defineSuite({ ...ok, backend: 'webgpu' })).to.not.throw();
  });
});

describe('per-row design overrides', () => {
  const rows = [{ arm: 'baseline' }, { arm: 'v-pretraining', id: 'vp-fast', design: { designerLr: 0.01, designerSteps: 4 } }];

  it('keep only the keys a row gives, checked like the suite\'s, and change the config hash', () => {
    const s = languageSuite(parseSuite({ ...ok, arms: rows }), 'test');
    expect(s.arms[1]?.design).to.deep.equal({ designerLr: 0.01, designerSteps: 4 });
    expect(s.arms[0]?.design).to.equal(undefined);
    expect(suiteHash(s)).to.not.equal(suiteHash(parseSuite({ ...ok, arms: [rows[0]!, { ...rows[1]!, design: { designerLr: 0.02, designerSteps: 4 } }] })));
    expect(errorOf(() => parseSuite({ ...ok, arms: [{ arm: 'v-pretraining', design: { designerLr: -1 } }] }))).to.match(/arms\.0\.design\.designerLr: Too small/);
    expect(errorOf(() => parseSuite({ ...ok, arms: [{ arm: 'v-pretraining', design: { designerLR: 1 } }] }))).to.match(/arms\.0\.design: Unrecognized key: "designerLR"/);
    expect(errorOf(() => parseSuite({ ...ok, model: { nLayer: 2 }, arms: [{ arm: 'v-pretraining', design: { subsetBlocks: 3 } }] }))).to.match(/arms\.0\.design\.subsetBlocks: 3 exceeds model\.nLayer 2/);
  });
});

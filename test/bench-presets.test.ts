/**
 * `vpt bench --preset a b`: each preset is its own configuration, so its rows sit under its own heading. Two
 * presets that shared a name (the Qwen2.5-0.5B LoRA and full-parameter branches, both 'qwen') had their runs pooled
 * into one table printed twice.
 */
import { expect } from 'chai';
import { configFromPreset, presetNames } from '../harness/language/bench/cases.js';
import { parseSuite } from '../harness/suite/define.js';

describe('vpt bench presets', () => {
  it('gives each language preset a configuration name of its own, so no two share a table', () => {
    const names = presetNames().map((p) => configFromPreset(p, [], parseSuite).name);
    expect(new Set(names).size).to.equal(names.length);
  });
});

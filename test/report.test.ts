import { expect } from 'chai';
import { buildTable, stat, toCsv, toMarkdown } from '../harness/report/table.js';
import type { CellResult } from '../harness/results/schema.js';

function cell(armId: string, seed: number, pass: number, nll: number, status: CellResult['status'] = 'completed'): CellResult {
  return {
    armId, seed, status, harnessVersion: '9.9.9', configHash: 'abc123',
    metrics: status === 'completed' ? { 'pass@1,strict-match': { value: pass, stderr: 0, n: 10 }, 'answer_nll,none': { value: nll, stderr: 0, n: 10 } } : {},
    diagnostics: {}, engine: { backend: 'wasm', tfjsVersion: '4.22.0', device: 'cpu' },
  } as unknown as CellResult;
}

describe('comparison table', () => {
  const results = [cell('baseline', 1, 0.2, 1.0), cell('baseline', 2, 0.4, 1.2), cell('v', 1, 0.1, 0.9), cell('v', 2, 0.1, 0.9), cell('v', 3, 0, 0, 'errored')];
  const t = buildTable('t', results, ['baseline', 'v']);

  it('computes mean ± sample sd over seeds', () => {
    const s = stat([0.2, 0.4]);
    expect(s.mean).to.be.closeTo(0.3, 1e-12);
    expect(s.sd).to.be.closeTo(Math.SQRT2 * 0.1, 1e-12);
  });

  it('renders Markdown with n, version, config hash, bold best, failures and a loss to the baseline', () => {
    const md = toMarkdown(t);
    expect(md).to.contain('n = 2 seeds');
    expect(md).to.contain('harness 9.9.9 · config abc123');
    expect(md).to.contain('| baseline | **30.0 ± 14.1** | 1.100 ± 0.141 |');
    expect(md).to.contain('| v (1 failed) | 10.0 ± 0.0 | **0.900 ± 0.000** | −20.0 (worse) |');
  });

  it('writes raw mean, sd and n to CSV', () => {
    const lines = toCsv(t).trim().split('\n');
    expect(lines[0]).to.equal('arm,metric,mean,sd,n,higher_is_better,harness_version,config_hash');
    expect(lines).to.include('v,answer_nll,none,0.9,0,2,false,9.9.9,abc123'.replace('answer_nll,none', '"answer_nll,none"'));
  });

  it('never ranks a metric measured on zero items, and shows diagnostics it cannot compute as n/a', () => {
    const empty = (armId: string, seed: number): CellResult => ({
      ...cell(armId, seed, 0, 0),
      metrics: { 'pass@1,strict-match': { value: 0, stderr: 0, n: 0 }, 'answer_nll,none': { value: 0, stderr: 0, n: 0 } },
    }) as CellResult;
    const withProbe = { ...cell('v', 1, 0.1, 0.9), diagnostics: { probe_r: Number.NaN, value_mean: 0.5 } } as CellResult;
    const t2 = buildTable('t', [cell('baseline', 1, 0.2, 1.0), empty('z', 1), withProbe], ['baseline', 'z', 'v']);
    const md = toMarkdown(t2);
    expect(md).to.contain('| z | n/a | n/a | n/a |');
    expect(md).to.contain('| baseline | **20.0** | 1.000 | n/a |');
    expect(md).to.contain('| v | 10.0 | **0.900** | 0.5000 |');
  });
});

/**
 * The probe column names the step size it was measured at: `probe_r` at the learner's real step when the cells
 * record the matched step (`probe_eta`), else (records from before the probe matched it) at a fixed small η.
 */
import { expect } from 'chai';
import { toMarkdown } from '../harness/report/markdown.js';
import type { CellRecord, ResultSet } from '../harness/report/read.js';
import { diagnosticsTable } from '../harness/report/tables.js';

function cell(armId: string, diagnostics: Record<string, number>): CellRecord {
  return {
    id: `s/${armId}/seed-1`, suite: 's', arm: armId, armId, seed: 1, status: 'completed', configHash: 'c',
    metrics: { 'pass@1,strict-match': { value: 0.2, stderr: 0, n: 10 } }, higherIsBetter: { 'pass@1,strict-match': true }, diagnostics,
  } as CellRecord;
}

function header(diagnostics: Record<string, number>): string {
  const set: ResultSet = {
    suite: 's', sources: ['x'], configHash: 'c', seeds: [1],
    arms: [{ id: 'baseline', arm: 'baseline', variant: 'standard' }, { id: 'v', arm: 'v-pretraining', variant: 'standard' }],
    cells: [cell('baseline', {}), cell('v', diagnostics)],
  };
  return toMarkdown(diagnosticsTable(set)).split('\n').find((l) => l.startsWith('| arm |')) ?? '';
}

describe('the probe column says which step it measured', () => {
  it('real step when the cells record the matched step size, fixed small η in older records', () => {
    expect(header({ probe_r: 0.4, probe_eta: 0.02 })).to.contain('| probe r (real step) |');
    expect(header({ probe_r: 0.9998 })).to.match(/\| probe r \(fixed small η\) \|$/);
    expect(header({ probe_r: 0.9998 })).to.not.contain('real step');
  });
});

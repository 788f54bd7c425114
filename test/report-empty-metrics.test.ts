import { expect } from 'chai';
import type { CellRecord, ResultSet } from '../harness/report/read.js';
import { toMarkdown } from '../harness/report/markdown.js';
import { diagnosticsTable, mainTable } from '../harness/report/tables.js';

function cell(armId: string, seed: number, pass: number, n: number, diagnostics: Record<string, number | null> = {}): CellRecord {
  return {
    id: `s/${armId}/seed-${seed}`, suite: 's', arm: armId, armId, seed, status: 'completed', configHash: 'c',
    metrics: { 'pass@1,strict-match': { value: pass, stderr: 0, n } }, higherIsBetter: { 'pass@1,strict-match': true }, diagnostics,
  } as CellRecord;
}

describe('tables never rank what was not measured', () => {
  it('a metric computed on zero items is not a value (never bold, never best); a diagnostic that cannot be computed shows n/a', () => {
    const set: ResultSet = {
      suite: 's', sources: ['x'], configHash: 'c', seeds: [1],
      arms: [{ id: 'baseline', arm: 'baseline', variant: 'standard' }, { id: 'empty', arm: 'empty', variant: 'standard' }, { id: 'v', arm: 'v-pretraining', variant: 'standard' }],
      // 'empty' scored 1.0 on zero items: it must not win the column.
      cells: [cell('baseline', 1, 0.2, 10), cell('empty', 1, 1.0, 0), cell('v', 1, 0.3, 10, { probe_r: null, value_mean: 0.5 })],
    };
    const md = toMarkdown(mainTable(set));
    expect(md).to.contain('**30.0**');
    expect(md).to.not.contain('**100.0**');
    expect(md).to.not.contain('100.0');
    expect(md).to.contain('| baseline | 20.0 |  |');
    expect(md).to.contain('| empty | n/a | n/a |');
    expect(md).to.contain('| v | **30.0** | +10.0 (n = 1) |');
    // Diagnostics live in their own table; a probe r no cell could compute gets no column.
    const diag = toMarkdown(diagnosticsTable(set));
    expect(diag).to.contain('| v | 0.5000 |');
    expect(diag).to.not.contain('| baseline |');
  });
});

import { expect } from 'chai';
import { join } from 'node:path';
import { runCell } from '../harness/runner/cell.js';
import { expandCells } from '../harness/suite/expand.js';
import { microSuite, tmp, useWasm } from './helpers.js';

describe('determinism', () => {
  before(useWasm);

  it('the same cell and seed on the same backend gives identical metrics, diagnostics and curves', async () => {
    const s = microSuite({ arms: [{ arm: 'v-pretraining' }], seeds: [3] });
    const cell = expandCells(s)[0]!;
    const cache = tmp();
    const a = await runCell(s, cell, { dir: join(tmp(), 'a'), cacheDir: cache });
    const b = await runCell(s, cell, { dir: join(tmp(), 'b'), cacheDir: cache });
    expect(a.status).to.equal('completed');
    expect(a.metrics).to.deep.equal(b.metrics);
    expect(a.curves.train).to.deep.equal(b.curves.train);
    const { meta_ms_mean: _ta, meta_fraction_of_step: _fa, meta_share_of_time: _sa, ...da } = a.diagnostics;
    const { meta_ms_mean: _tb, meta_fraction_of_step: _fb, meta_share_of_time: _sb, ...db } = b.diagnostics;
    expect(da).to.deep.equal(db);
    expect(a.engine?.backend).to.equal('wasm');
    // A different seed changes the run.
    const other = await runCell({ ...s, seeds: [4] }, { ...cell, seed: 4, id: 'micro/v-pretraining/seed-4' }, { dir: join(tmp(), 'c'), cacheDir: cache });
    expect(other.curves.train).to.not.deep.equal(a.curves.train);
  });
});

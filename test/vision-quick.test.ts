import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_COLUMNS, runQuickVision } from '../harness/vision/quick.js';
import { tmp } from './helpers.js';
import { TINY_VISION } from './vision-helpers.js';

describe('quick vision run (worker processes)', () => {
  it('runs base + random-init beside each other, then one cell per seed, and tabulates the three rows', async () => {
    const out = tmp();
    const r = await runQuickVision(TINY_VISION, { seeds: [1, 2], workers: 2, cacheDir: join(out, 'cache'), outDir: out, log: () => {} });
    expect(r.rows.map((x) => x.row)).to.deep.equal(['random-init backbone', 'base checkpoint', 'baseline (continued DINO)']);
    for (const row of r.rows) expect(Object.keys(row.metrics)).to.deep.equal([...METRIC_COLUMNS]);
    expect(r.rows[2]!.metrics['top1,none']!.n).to.equal(2);
    expect(r.markdown).to.match(/\| baseline \(continued DINO\) \| 2 \|/);
    expect(existsSync(join(out, 'summary.json'))).to.equal(true);
    expect(r.cells.every((c) => c.train.curve.length === 3)).to.equal(true);
  });
});

/**
 * End to end: a schedule-matched row declared before the v-pretraining row it reads runs after that row's
 * same-seed cell (2 workers), applies its recorded gate trajectory, records what it read, and is redone on
 * --resume when the v-pretraining record changes (and only then).
 */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, vpt, writeFilesSuite } from './helpers.js';

interface Cell {
  status: string;
  startedAt: string;
  finishedAt: string;
  reads?: { id: string; file: string; sha256: string };
  curves: { alpha?: { step: number; alpha: number }[]; designer?: unknown[] };
}

describe('schedule-matched reads the v-pretraining cell of its seed', () => {
  const dir = tmp();
  const cache = join(dir, 'cache');
  const f = writeFilesSuite(dir, { seeds: [1, 2], arms: [{ arm: 'schedule-matched' }, { arm: 'v-pretraining' }], train: { steps: 3, batchSize: 4, warmupSteps: 1, logEvery: 1 } });
  const out = join(dir, 'out');
  const run = (...extra: string[]) => vpt(['run', f.suite, '--out', out, '--cache', cache, '--workers', '2', ...extra]);
  const cell = (arm: string, seed: number): Cell => JSON.parse(readFileSync(join(out, 'cells', arm, `seed-${seed}`, 'cell.json'), 'utf8')) as Cell;

  before(async function () {
    const r = await run();
    expect(r.exitCode, r.stderr).to.equal(0);
  });

  it('runs after the cell it reads and applies its gate trajectory exactly', () => {
    for (const seed of [1, 2]) {
      const vp = cell('v-pretraining', seed);
      const sm = cell('schedule-matched', seed);
      expect([vp.status, sm.status]).to.deep.equal(['completed', 'completed']);
      expect(Date.parse(sm.startedAt)).to.be.at.least(Date.parse(vp.finishedAt));
      expect(vp.curves.alpha).to.have.length(3);
      expect(vp.curves.designer?.length).to.be.greaterThan(0);
      expect(sm.curves.alpha).to.deep.equal(vp.curves.alpha);
      expect(sm.reads?.id).to.equal(`files-micro/v-pretraining/seed-${seed}`);
    }
  });

  it('is redone on --resume when the record it reads changed, with the new trajectory', async () => {
    const file = join(out, 'cells', 'v-pretraining', 'seed-1', 'cell.json');
    const vp = JSON.parse(readFileSync(file, 'utf8')) as Cell;
    vp.curves.alpha = vp.curves.alpha?.map((p) => ({ ...p, alpha: 0.25 }));
    writeFileSync(file, JSON.stringify(vp, null, 2) + '\n');
    const kept = readFileSync(join(out, 'cells', 'schedule-matched', 'seed-2', 'cell.json'), 'utf8');
    const r = await run('--resume');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('resume: redo files-micro/schedule-matched/seed-1: the cell it reads (files-micro/v-pretraining/seed-1) changed');
    expect(r.stderr).to.not.match(/start files-micro\/(v-pretraining\/seed-[12]|schedule-matched\/seed-2)/);
    expect(cell('schedule-matched', 1).curves.alpha?.map((p) => p.alpha)).to.deep.equal([0.25, 0.25, 0.25]);
    expect(readFileSync(join(out, 'cells', 'schedule-matched', 'seed-2', 'cell.json'), 'utf8')).to.equal(kept);
  });
});

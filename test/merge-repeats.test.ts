/** vpt merge names a shard folder given twice (by the same path or another path to it) instead of merging it twice. */
import { expect } from 'chai';
import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, vpt, writeFilesSuite } from './helpers.js';

describe('vpt merge: a folder given twice', () => {
  const dir = tmp();
  const f = writeFilesSuite(dir, { seeds: [1, 2] });
  const shard = (i: number): string => join(dir, `shard-${i}`);

  before(async function () {
    for (const i of [1, 2]) {
      const r = await vpt(['run', f.suite, '--shard', `${i}/2`, '--out', shard(i), '--cache', join(dir, 'cache')]);
      expect(r.exitCode, r.stderr).to.equal(0);
    }
  });

  it('merge a b a and merge a a name the repeated folder; nothing is written', async () => {
    const out = join(dir, 'merged');
    const aba = await vpt(['merge', shard(1), shard(2), shard(1), '--out', out]);
    expect(aba.exitCode).to.equal(2);
    expect(aba.stderr.trim()).to.equal(`vpt: ${shard(1)} is given twice: name each shard's results folder once (its cells would count twice)`);
    const aa = await vpt(['merge', shard(1), shard(1), '--out', out]);
    expect(aa.exitCode).to.equal(2);
    expect(aa.stderr.trim()).to.equal(`vpt: ${shard(1)} is given twice: name each shard's results folder once (its cells would count twice)`);
    const link = join(dir, 'link-to-1');
    symlinkSync(shard(1), link);
    const viaLink = await vpt(['merge', shard(1), shard(2), link, '--out', out]);
    expect(viaLink.exitCode).to.equal(2);
    expect(viaLink.stderr.trim()).to.equal(`vpt: ${shard(1)} and ${link} are the same folder: name each shard's results folder once (its cells would count twice)`);
    expect(existsSync(out)).to.equal(false);
    const ok = await vpt(['merge', shard(1), shard(2), '--out', out]);
    expect(ok.exitCode, ok.stderr).to.equal(0);
  });

  it('a shard cell.json holding {} is named as not a cell record', async () => {
    writeFileSync(join(shard(2), 'cells', 'baseline', 'seed-2', 'cell.json'), '{}');
    const r = await vpt(['merge', shard(1), shard(2), '--out', join(dir, 'merged-2')]);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim()).to.equal(`vpt: ${join(shard(2), 'cells', 'baseline', 'seed-2', 'cell.json')}: not a cell record (no status): rerun that cell in its shard (vpt run --resume)`);
  });
});

/**
 * An output that cannot be written (a file where a folder is wanted, a read-only folder) is one line naming the path
 * and the cause, exit 2, before any work; never "internal error".
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp, vpt, writeFilesSuite } from './helpers.js';

/** The uid of `nobody`, to meet permissions as a normal user does when the tests run as root. */
const NOBODY = 65534;

/** Runs vpt as a normal user: this user when it is not root, else `nobody`. */
function vptAsUser(args: string[]) {
  const asRoot = process.getuid?.() === 0;
  return execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), ...args], {
    reject: false, cwd: REPO_ROOT, env: { CI: '1' }, ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
}

describe('outputs that cannot be written: one line with the path and the cause', () => {
  const dir = tmp();
  chmodSync(dir, 0o755);
  const f = writeFilesSuite(dir);

  it('vpt run --out naming an existing file', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = await vpt(['run', f.suite, '--out', file]);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim()).to.equal(`vpt: results folder ${file} is a file, not a folder: name a new or existing folder`);
    const under = join(file, 'sub');
    const r2 = await vpt(['run', f.suite, '--out', under]);
    expect(r2.exitCode).to.equal(2);
    expect(r2.stderr.trim()).to.equal(`vpt: results folder ${under}: ${file} is a file, not a folder`);
  });

  it('run, merge --out and report --out into a read-only folder, as a normal user', async function () {
    if (process.getuid?.() === 0) {
      // As root the test runs vpt as nobody, who must be able to read the checkout (not so under /root, say).
      const probe = await execa(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(join(REPO_ROOT, 'node_modules', 'tsx', 'package.json'))})`], { reject: false, uid: NOBODY, gid: NOBODY });
      if (probe.exitCode !== 0) {
        if (this.test) this.test.title += ` [skipped: uid ${NOBODY} cannot read ${REPO_ROOT}]`;
        this.skip();
      }
    }
    const ro = join(dir, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const run = await vptAsUser(['run', f.suite, '--out', ro]);
    expect(run.exitCode, run.stderr).to.equal(2);
    expect(run.stderr.trim()).to.equal(`vpt: cannot write results folder ${ro}: permission denied (EACCES)`);
    const inside = join(ro, 'new');
    const merge = await vptAsUser(['merge', dir, '--out', inside]);
    expect(merge.exitCode).to.equal(2);
    expect(merge.stderr.trim()).to.equal(`vpt: cannot write output folder ${inside} (${ro} is not writable): permission denied (EACCES)`);
    const report = await vptAsUser(['report', join(REPO_ROOT, 'baselines', 'quick.json'), '--out', inside, '--tables-only']);
    expect(report.exitCode).to.equal(2);
    expect(report.stderr.trim()).to.equal(`vpt: cannot write output folder ${inside} (${ro} is not writable): permission denied (EACCES)`);
    expect(existsSync(inside)).to.equal(false);
  });
});

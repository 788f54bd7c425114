import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp, vpt } from './helpers.js';

describe('suite files load from any folder', () => {
  it('loads a suite file outside the repository (no package.json, no imports)', async () => {
    const dir = tmp();
    const src = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'micro.suite.ts'), 'utf8');
    // The reproduction: drop the import and the defineSuite wrapper, keep the plain object.
    writeFileSync(join(dir, 'x.suite.ts'), src.replace(/^import.*$/m, '').replace('defineSuite(', '('));
    const r = await vpt(['validate', join(dir, 'x.suite.ts')]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/x\.suite\.ts: valid \(language task, config [0-9a-f]{16}\), data checked .*, 4 cells/);
  });

  it('loads one that imports defineSuite from the harness by path', async () => {
    const dir = tmp();
    const src = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'micro.suite.ts'), 'utf8');
    writeFileSync(join(dir, 'y.suite.ts'), src.replace('../../harness/suite/define.js', join(REPO_ROOT, 'harness', 'suite', 'define.ts')));
    const r = await vpt(['validate', join(dir, 'y.suite.ts')]);
    expect(r.exitCode, r.stderr).to.equal(0);
  });

  it('a syntax error is one line naming the file, line and column', async () => {
    const f = join(tmp(), 'bad.suite.ts');
    writeFileSync(f, 'export default { name: "x",\n');
    const r = await vpt(['validate', f]);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim()).to.equal(`vpt: ${f}: cannot load the suite module: ${f}:2:0: ERROR: Expected identifier but found end of file`);
  });
});

/** A suite file whose import does not resolve is one line naming the import and, for harness modules, the fix. */
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp, vpt } from './helpers.js';

describe('suite files whose imports do not resolve', () => {
  it("a suite copied outside the repository with its relative import of defineSuite says how to import it", async () => {
    const dir = tmp();
    const file = join(dir, 'copied.suite.ts');
    writeFileSync(file, readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'micro.suite.ts'), 'utf8'));
    const r = await vpt(['validate', file]);
    expect(r.exitCode).to.equal(2);
    const define = join(REPO_ROOT, 'harness', 'suite', 'define.ts');
    expect(r.stderr.trim()).to.equal(
      `vpt: ${file}: imports '../../harness/suite/define.js', which cannot be found from ${dir}: a suite outside the repository imports defineSuite from this checkout by absolute path (import { defineSuite } from '${define}'), or exports a plain object (export default { ... })`,
    );
    // Following the advice loads it.
    writeFileSync(file, readFileSync(file, 'utf8').replace('../../harness/suite/define.js', define));
    const ok = await vpt(['validate', file]);
    expect(ok.exitCode, ok.stderr).to.equal(0);
  });

  it('a package that is not installed is named, with no dangling require stack', async () => {
    const file = join(tmp(), 'pkg.suite.ts');
    writeFileSync(file, "import x from 'no-such-package-vpt';\nexport default x;\n");
    const r = await vpt(['validate', file]);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr.trim()).to.equal(`vpt: ${file}: imports 'no-such-package-vpt', which cannot be found from ${join(file, '..')}: check the path, or install the package`);
  });
});

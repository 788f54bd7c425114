/**
 * A backend asked for that cannot be had stops `vpt run` with one line saying why, before any results folder is made:
 * a tfjs-node package that is not installed, WebGPU with no Vulkan driver.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp, writeFilesSuite } from './helpers.js';

const run = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), 'run', ...args], { reject: false, cwd: REPO_ROOT, env: { CI: '1', ...env } });

async function installed(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}

describe('a backend that cannot be had: its reason on one line, no folder made', () => {
  const dir = tmp();
  const f = writeFilesSuite(dir);

  for (const [backend, pkg] of [['tensorflow', '@tensorflow/tfjs-node'], ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu']] as const) {
    it(`--backend ${backend} where ${pkg} is not installed`, async function () {
      if (await installed(pkg)) this.skip();
      const out = join(dir, backend);
      const r = await run([f.suite, '--backend', backend, '--out', out]);
      expect(r.exitCode).to.equal(2);
      expect(r.stderr.trim()).to.match(
        new RegExp(`^vpt: backend '${backend}' is not available here: its package ${pkg} is not installed \\([^)]+\\); choose another of webgpu, tensorflow-gpu, tensorflow, wasm, cpu or 'auto'$`),
      );
      expect(existsSync(out)).to.equal(false);
    });
  }

  it('--backend webgpu with VK_ICD_FILENAMES and VK_DRIVER_FILES naming a missing file', async () => {
    const out = join(dir, 'webgpu');
    const missing = join(dir, 'no-such-icd.json');
    const r = await run([f.suite, '--backend', 'webgpu', '--out', out], { VK_ICD_FILENAMES: missing, VK_DRIVER_FILES: missing });
    expect(r.exitCode).to.equal(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, 'one line').to.have.length(1);
    // Without a Vulkan loader the reason is that instead; either way it names what is missing.
    expect(lines[0]).to.match(new RegExp(`^vpt: webgpu: (VK_DRIVER_FILES=${missing} and VK_ICD_FILENAMES=${missing} name no file that exists|no Vulkan loader)`));
    expect(existsSync(out)).to.equal(false);
  });
});

describe('a failed base or calibration worker: its reason on the first line', () => {
  it('a user error as the worker said it, any other error by its first error line', async () => {
    const { jobError } = await import('../harness/runner/run.js');
    const user = jobError('base pretraining', { codeChanged: false, userError: true, stderr: "backend 'tensorflow' is not available here: ...\n" });
    expect(user.name).to.equal('UserError');
    expect(user.message).to.equal("base pretraining failed: backend 'tensorflow' is not available here: ...");
    const bug = jobError('calibration', { codeChanged: false, userError: false, stderr: 'some warning\nTypeError: x is not a function\n    at f (a.ts:1:1)\n' });
    expect(bug.message.split('\n')[0]).to.equal('calibration failed: TypeError: x is not a function');
  });
});

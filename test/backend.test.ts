import { expect } from 'chai';
import { BackendUnavailableError, selectBackend } from '../harness/engine/backend.js';

describe('backend selection', () => {
  it('picks a working backend and records it with the tfjs version', async () => {
    const info = await selectBackend('wasm');
    expect(info.backend).to.equal('wasm');
    expect(info.tfjsVersion).to.match(/^\d+\.\d+\.\d+$/);
    expect(info.device).to.be.a('string').and.not.empty;
  });

  it('reports a requested backend that is missing as an error, not a silent fallback', async () => {
    let caught: unknown;
    try {
      // tfjs-node-gpu needs libtensorflow; where it is installed this check does not apply.
      await import('@tensorflow/tfjs-node-gpu' as string);
      return;
    } catch {
      /* not installed: the expected case here */
    }
    try {
      await selectBackend('tensorflow-gpu');
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(BackendUnavailableError);
    expect((caught as Error).message).to.match(/backend 'tensorflow-gpu' is not available/);
  });
});

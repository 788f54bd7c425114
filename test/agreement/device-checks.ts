/**
 * WebGPU checks of ../webgpu.test.ts, in their own process: the same seed trains to the same bits twice (the
 * kernels vpt uses there are deterministic); an addN over more inputs than the device may bind is split by
 * `addMany` and sums right; the same addN sent to tfjs unsplit makes Dawn reject the pass, and the next read
 * raises a DeviceError instead of returning what the failed pass left (last: the device is unusable after it).
 * Prints one line `@@device-checks {json}`.
 */
import * as tf from '@tensorflow/tfjs';
import { packDocs } from '../../harness/language/data/pack.js';
import { rowToDoc } from '../../harness/language/data/sources.js';
import { generateEmbedded } from '../../harness/language/data/synth/embedded.js';
import { armRegistry } from '../../harness/language/arms/index.js';
import { selectBackend } from '../../harness/engine/backend.js';
import { addMany } from '../../harness/engine/ops.js';
import { read } from '../../harness/engine/read.js';
import { Rng } from '../../harness/engine/rng.js';
import { DeviceError } from '../../harness/engine/webgpu.js';
import { trainLM } from '../../harness/language/train/trainer.js';
import { microSuite, tinyModel } from '../helpers.js';

/** Parameters after a few v-pretraining steps (meta steps included) from fixed seeds. */
async function trainedParams(): Promise<number[]> {
  const data = generateEmbedded({ seed: 3, trainSize: 16, testSize: 2, baseSize: 1, streamSize: 40, relevantFraction: 0.7, corruptFraction: 0.3, leakFraction: 0 });
  const model = tinyModel(2);
  const s = microSuite();
  const rule = armRegistry.get('v-pretraining').create({ model, design: { ...s.design, burnIn: 0, metaEvery: 1 }, rng: new Rng(1), feedback: data.train, steps: 3 });
  try {
    await trainLM({ model, rows: packDocs(model.tokenizer, data.cpt.map(rowToDoc), 32), steps: 3, batchSize: 2, rng: new Rng(2), rule, optim: { ...s.train, totalSteps: 3 } });
    const out: number[] = [];
    for (const v of Object.values(model.vars)) out.push(...(await read(v)));
    return out;
  } finally {
    rule.dispose?.();
    model.dispose();
  }
}

async function main(): Promise<void> {
  const engine = await selectBackend('webgpu');
  const [first, second] = [await trainedParams(), await trainedParams()];
  const deterministic = first.length > 0 && first.every((x, i) => Object.is(x, second[i]));
  const n = 20;
  const parts = Array.from({ length: n }, (_, i) => tf.fill([4], i + 1));
  const split = addMany(parts);
  const splitSum = Array.from(await read(split));
  let unsplit: { error?: string; values?: number[] } = {};
  try {
    unsplit = { values: Array.from(await read(tf.addN(parts))) };
  } catch (e) {
    unsplit = { error: `${e instanceof DeviceError ? 'DeviceError' : (e as Error).name}: ${(e as Error).message}` };
  }
  process.stdout.write(`@@device-checks ${JSON.stringify({ engine, deterministic, n, splitSum, unsplit })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

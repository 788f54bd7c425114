/**
 * The WebGPU device-error checks of ../webgpu.test.ts, in their own process: an addN over more inputs than
 * the device may bind is split by `addMany` and sums right; the same addN sent to tfjs unsplit makes Dawn
 * reject the pass, and the next read raises a DeviceError instead of returning what the failed pass left.
 * Prints one line `@@device-errors {json}`.
 */
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../harness/engine/backend.js';
import { addMany } from '../../harness/engine/ops.js';
import { read } from '../../harness/engine/read.js';
import { DeviceError } from '../../harness/engine/webgpu.js';

async function main(): Promise<void> {
  const engine = await selectBackend('webgpu');
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
  process.stdout.write(`@@device-errors ${JSON.stringify({ engine, n, splitSum, unsplit })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

// Worker-thread entry of the sharded trainer: registers tsx (workers do not inherit --import hooks), then
// loads the TypeScript worker named in workerData.entry. A failure to load is written to the shared error
// slot: the main thread is blocked on shared memory and would not see an 'error' event.
import { workerData } from 'node:worker_threads';

try {
  const { register } = await import('tsx/esm/api');
  register();
  await import(workerData.entry);
} catch (e) {
  const text = String((e && e.stack) || e).slice(0, 4000);
  new Uint8Array(workerData.buffers.error).set(new TextEncoder().encode(text));
  const ctrl = new Int32Array(workerData.buffers.ctrl);
  Atomics.store(ctrl, 3, 1);
  Atomics.notify(ctrl, 1);
}

// Worker-thread entry of the sharded trainer: registers tsx (workers do not inherit --import hooks), then
// loads the TypeScript worker named in workerData.entry.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);

/**
 * Prints `@@auto {engine}`: what `auto` selects on this machine (../webgpu.test.ts, scripts/gpu-check.sh), or
 * with an argument, what that backend gives (`webgpu`: its adapter).
 */
import { selectBackend, type BackendName } from '../../harness/engine/backend.js';

const asked = (process.argv[2] ?? 'auto') as BackendName | 'auto';
process.stdout.write(`@@auto ${JSON.stringify(await selectBackend(asked))}\n`);

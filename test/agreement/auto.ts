/** Prints `@@auto {engine}`: what `auto` selects on this machine (../webgpu.test.ts). */
import { selectBackend } from '../../harness/engine/backend.js';

process.stdout.write(`@@auto ${JSON.stringify(await selectBackend('auto'))}\n`);

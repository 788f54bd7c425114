/**
 * Runtime backend selection. tfjs silently stays on another backend when `setBackend` fails, so every
 * choice is verified with a one-op smoke test and the backend actually in use is what gets recorded.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';

/** Backend names in preference order (best first). */
export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** What ran a result: recorded in every cell.json. */
export interface EngineInfo {
  backend: BackendName;
  tfjsVersion: string;
  device: string;
}

export class BackendUnavailableError extends Error {}

/** Tries to make `name` the active backend; resolves false (never throws) if it cannot be had. */
async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    if (name === 'tensorflow-gpu') await import('@tensorflow/tfjs-node-gpu' as string);
    else if (name === 'tensorflow') await import('@tensorflow/tfjs-node' as string);
    else if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  } catch {
    return false;
  }
  // tfjs-node and tfjs-node-gpu both register under the name 'tensorflow'.
  const registered = name === 'tensorflow-gpu' ? 'tensorflow' : name;
  let ok = false;
  try {
    ok = await tf.setBackend(registered);
    await tf.ready();
  } catch {
    ok = false;
  }
  if (!ok || tf.getBackend() !== registered) return false;
  const probe = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]);
  return probe === 3;
}

let active: EngineInfo | undefined;

/**
 * Selects the tfjs backend. With `requested`, that backend or a {@link BackendUnavailableError};
 * without, the first of tensorflow-gpu, tensorflow, wasm, cpu that initialises and passes a smoke test.
 */
export async function selectBackend(requested?: BackendName | 'auto'): Promise<EngineInfo> {
  if (active && (requested === undefined || requested === 'auto' || requested === active.backend)) return active;
  const order: readonly BackendName[] = requested && requested !== 'auto' ? [requested] : BACKENDS;
  for (const name of order) {
    if (await tryBackend(name)) {
      active = { backend: name, tfjsVersion: tf.version.tfjs, device: describeDevice(name) };
      return active;
    }
  }
  if (requested && requested !== 'auto') {
    throw new BackendUnavailableError(
      `backend '${requested}' is not available here (tried to load and initialise it); ` +
        `choose one of ${BACKENDS.join(', ')} or 'auto'`,
    );
  }
  throw new BackendUnavailableError('no tfjs backend could be initialised');
}

function describeDevice(name: BackendName): string {
  const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown cpu';
  if (name === 'tensorflow-gpu') return `gpu via libtensorflow (${cpu} host)`;
  return `${cpu} (${os.cpus().length} cores), 1 thread per process`;
}

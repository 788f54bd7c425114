/**
 * Runtime backend selection. tfjs silently stays on another backend when `setBackend` fails, so every
 * choice is verified with a one-op smoke test and the backend actually in use is what gets recorded.
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { UserError } from '../errors.js';
import { releaseWebGpu, startWebGpu, WebGpuUnavailableError, type AdapterInfo } from './webgpu.js';

/** Backend names in `auto`'s preference order (best first). `webgpu` is taken by `auto` only on a GPU adapter. */
export const BACKENDS = ['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** What ran a result: recorded in every cell.json. */
export interface EngineInfo {
  backend: BackendName;
  tfjsVersion: string;
  device: string;
  /** The WebGPU adapter (name, vendor, whether it is a software one); present on `webgpu` only. */
  adapter?: AdapterInfo;
}

/** The backend asked for cannot be had here; the message is one line saying why. */
export class BackendUnavailableError extends UserError {}

/** The npm package each backend loads from. */
const PACKAGE: Partial<Record<BackendName, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
};

/** Why loading a backend's package failed, in words (a missing package is the usual case). */
function loadFailure(pkg: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND') {
    const hint = pkg === PACKAGE['tensorflow-gpu'] ? 'an optional dependency, which npm skips where libtensorflow cannot be downloaded' : `npm install ${pkg}`;
    return `its package ${pkg} is not installed (${hint})`;
  }
  return `its package ${pkg} failed to load: ${(err.message ?? String(e)).split('\n')[0]}`;
}

/** Tries to make `name` the active backend; resolves to undefined on success, else why not (never throws). */
async function tryBackend(name: Exclude<BackendName, 'webgpu'>): Promise<string | undefined> {
  const pkg = PACKAGE[name];
  if (pkg) {
    try {
      await import(pkg);
    } catch (e) {
      return loadFailure(pkg, e);
    }
  }
  // tfjs-node and tfjs-node-gpu both register under the name 'tensorflow'.
  const registered = name === 'tensorflow-gpu' ? 'tensorflow' : name;
  let ok = false;
  try {
    ok = await tf.setBackend(registered);
    await tf.ready();
  } catch (e) {
    return `it did not initialise: ${(e as Error).message.split('\n')[0]}`;
  }
  if (!ok || tf.getBackend() !== registered) return 'it did not initialise';
  const probe = tf.add(tf.scalar(1), tf.scalar(2));
  const v = (await probe.data())[0];
  probe.dispose();
  return v === 3 ? undefined : `its smoke test gave 1 + 2 = ${v}`;
}

let active: EngineInfo | undefined;

/** Options of {@link selectBackend}. */
export interface SelectOptions {
  /** Backends `auto` must not pick (those a task cannot run on). Default none. */
  exclude?: readonly BackendName[];
}

/**
 * Selects the tfjs backend. With `requested`, that backend or a {@link BackendUnavailableError} (for webgpu its
 * one-line reason: no Vulkan loader, no adapter, ...; a software adapter such as lavapipe is accepted);
 * without, the first of webgpu on a GPU adapter, tensorflow-gpu, tensorflow, wasm, cpu (less `exclude`) that
 * initialises and passes a smoke test.
 */
export async function selectBackend(requested?: BackendName | 'auto', o: SelectOptions = {}): Promise<EngineInfo> {
  const exclude = o.exclude ?? [];
  const auto = requested === undefined || requested === 'auto';
  if (active && ((auto && !exclude.includes(active.backend)) || requested === active.backend)) return active;
  const explicit = requested && requested !== 'auto' ? requested : undefined;
  if (active?.backend === 'webgpu') releaseWebGpu();
  active = undefined;
  for (const name of explicit ? [explicit] : BACKENDS.filter((b) => !exclude.includes(b))) {
    if (name === 'webgpu') {
      try {
        const adapter = await startWebGpu(explicit === 'webgpu');
        active = { backend: name, tfjsVersion: tf.version.tfjs, device: describeDevice(name, adapter), adapter };
        return active;
      } catch (e) {
        if (!(e instanceof WebGpuUnavailableError)) throw e;
        if (explicit) throw new BackendUnavailableError(e.message);
        continue;
      }
    }
    const why = await tryBackend(name);
    if (!why) {
      active = { backend: name, tfjsVersion: tf.version.tfjs, device: describeDevice(name) };
      return active;
    }
    if (explicit) {
      throw new BackendUnavailableError(`backend '${explicit}' is not available here: ${why}; choose another of ${BACKENDS.join(', ')} or 'auto'`);
    }
  }
  throw new BackendUnavailableError('no tfjs backend could be initialised');
}

/**
 * Forgets the selected backend and frees a WebGPU device (Dawn keeps the process alive while one exists): for a
 * process that selected a backend only to learn which one its workers will get.
 */
export function releaseBackend(): void {
  if (active?.backend === 'webgpu') releaseWebGpu();
  active = undefined;
}

function describeDevice(name: BackendName, adapter?: AdapterInfo): string {
  const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown cpu';
  if (adapter) return `${adapter.name} (${adapter.vendor}${adapter.software ? ', software adapter' : ''}) via WebGPU/Dawn`;
  if (name === 'tensorflow-gpu') return `gpu via libtensorflow (${cpu} host)`;
  return `${cpu} (${os.cpus().length} cores), 1 thread per process`;
}

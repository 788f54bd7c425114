/**
 * tfjs's WebGPU backend (`@tensorflow/tfjs-backend-webgpu`) on Dawn's Node bindings (the `webgpu` package, a
 * prebuilt `dawn.node`: nothing is downloaded at install). On Linux Dawn runs on Vulkan: a GPU driver's ICD on
 * GPU machines, Mesa's lavapipe (a CPU implementation) elsewhere, which is correct but slow and so is used
 * only when asked for. Two facts shape this module (../shared/ENGINE.md, measured here):
 * - Dawn reports device errors (validation, out of memory, internal, device loss) asynchronously and tfjs
 *   carries on with whatever the failed pass left in its buffers: a silently wrong result. Every error is
 *   recorded here and raised by {@link checkDevice} at the next read (./read.ts) and when a cell ends.
 * - WebGPU has no synchronous read in Node (tfjs's readSync draws through a canvas), so reads are awaited.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The adapter a WebGPU run used: recorded in every cell's `engine`. */
export interface AdapterInfo {
  /** The driver's description of the device (e.g. "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)"). */
  name: string;
  /** Vendor as Dawn reports it ("nvidia", "mesa", ...). */
  vendor: string;
  /** Architecture as Dawn reports it ("hopper", "software", ...); may be empty. */
  architecture: string;
  /** True for a CPU implementation (lavapipe, SwiftShader): right answers, CPU speed. `auto` never picks one. */
  software: boolean;
  /** Storage buffers one shader stage may bind on the device: ops with more inputs are split (ops.ts). */
  maxStorageBuffersPerShaderStage: number;
}

/** The WebGPU backend could not be had; the message is one line saying why and what to install. */
export class WebGpuUnavailableError extends Error {}

/** A device error Dawn reported (validation, out of memory, internal, device lost): the run's numbers are void. */
export class DeviceError extends Error {}

/** The parts of a WebGPU device this module uses (Dawn's objects follow the WebGPU API). */
interface GpuDevice {
  limits: { maxStorageBuffersPerShaderStage: number };
  lost: Promise<{ reason: string; message: string }>;
  queue: { onSubmittedWorkDone(): Promise<void> };
  addEventListener(type: 'uncapturederror', fn: (e: { error: { message: string; constructor: { name: string } } }) => void): void;
  destroy(): void;
}
interface GpuAdapter {
  info: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean };
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(desc: { requiredFeatures: string[]; requiredLimits: Record<string, number> }): Promise<GpuDevice>;
}
interface Gpu {
  requestAdapter(opts: { powerPreference: 'high-performance' }): Promise<GpuAdapter | null>;
}

interface Session {
  device: GpuDevice;
  info: AdapterInfo;
  errors: string[];
  releasing: boolean;
}

let session: Session | undefined;

/** Where the Vulkan loader may live (Dawn dlopens libvulkan.so.1). */
function hasVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu',
    '/usr/lib64', '/usr/lib', '/lib64', '/lib', '/usr/local/lib',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/**
 * Whether this machine may have a GPU for Vulkan (Linux: a Vulkan loader and an NVIDIA device node or a DRM
 * render node). `auto` loads Dawn only then: elsewhere it would find at most a software adapter, which `auto`
 * does not take, after Dawn's own warnings on stderr.
 */
export function mayHaveGpuAdapter(): boolean {
  if (process.platform !== 'linux') return true;
  if (!hasVulkanLoader()) return false;
  if (existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** One line saying why no adapter came back and what to do about it. */
function noAdapterReason(): string {
  if (!hasVulkanLoader()) {
    return 'webgpu: no Vulkan loader (libvulkan.so.1) on this machine: install it (Debian/Ubuntu: apt-get install libvulkan1) ' +
      "and a Vulkan driver (the GPU driver's ICD, or Mesa >= 24 mesa-vulkan-drivers for the lavapipe software adapter)";
  }
  const icd = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  return `webgpu: the Vulkan loader found no adapter Dawn accepts (${icd ? `VK_DRIVER_FILES/VK_ICD_FILENAMES=${icd}` : 'no VK_DRIVER_FILES/VK_ICD_FILENAMES set'}): ` +
    "point VK_DRIVER_FILES and VK_ICD_FILENAMES at the GPU driver's ICD JSON (e.g. /usr/share/vulkan/icd.d/nvidia_icd.json); " +
    "Dawn rejects Mesa 22's lavapipe (Debian 12): use mesa-vulkan-drivers from bookworm-backports";
}

/**
 * Driver lists the environment sets (VK_DRIVER_FILES, or the older VK_ICD_FILENAMES) where none names a file that
 * exists: the loader would find no driver, after Dawn printed its own warnings; said before Dawn is loaded.
 */
function missingDrivers(): string | undefined {
  const set = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES'].filter((v) => process.env[v]);
  if (!set.length) return undefined;
  const named = set.flatMap((v) => (process.env[v] as string).split(':').filter(Boolean));
  if (named.some((f) => existsSync(f))) return undefined;
  return `webgpu: ${set.map((v) => `${v}=${process.env[v]}`).join(' and ')} ${set.length > 1 ? 'name' : 'names'} no file that exists, so the Vulkan loader finds no driver: ` +
    "point it at the driver's ICD JSON (e.g. /usr/share/vulkan/icd.d/nvidia_icd.json, or lvp_icd.json for the lavapipe software adapter), or unset it";
}

/** True for CPU implementations of Vulkan (lavapipe/llvmpipe, SwiftShader). */
function isSoftware(a: GpuAdapter['info']): boolean {
  return a.isFallbackAdapter === true || a.architecture === 'software' || /llvmpipe|lavapipe|swiftshader|software/i.test(`${a.device} ${a.description}`);
}

function describe(a: GpuAdapter['info'], device: GpuDevice): AdapterInfo {
  return {
    name: (a.description || a.device || 'unknown adapter').trim(),
    vendor: a.vendor,
    architecture: a.architecture,
    software: isSoftware(a),
    maxStorageBuffersPerShaderStage: device.limits.maxStorageBuffersPerShaderStage,
  };
}

/**
 * Makes tfjs's WebGPU backend the active backend on Dawn's best adapter. A software adapter is taken only with
 * `allowSoftware` (an explicit `--backend webgpu`); `auto` wants a real GPU. Throws
 * {@link WebGpuUnavailableError} with one line saying why when there is no adapter (no Vulkan loader, no driver),
 * the adapter is software and not allowed, or the backend fails its smoke test.
 */
export async function startWebGpu(allowSoftware: boolean): Promise<AdapterInfo> {
  if (session && !session.releasing && tf.getBackend() === 'webgpu') return session.info;
  if (!allowSoftware && !mayHaveGpuAdapter()) throw new WebGpuUnavailableError('webgpu: no GPU device node on this machine');
  if (process.platform === 'linux' && hasVulkanLoader()) {
    const missing = missingDrivers();
    if (missing) throw new WebGpuUnavailableError(missing);
  }
  let dawn: { create(flags: string[]): unknown; globals: object };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (e) {
    throw new WebGpuUnavailableError(`webgpu: Dawn's Node bindings (npm package 'webgpu') could not be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
  // The WebGPU constants (GPUBufferUsage, GPUMapMode, ...) tfjs's backend reads as globals.
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]) as Gpu;
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new WebGpuUnavailableError(noAdapterReason());
  if (!allowSoftware && isSoftware(adapter.info)) {
    throw new WebGpuUnavailableError(`webgpu: only a software adapter is available (${adapter.info.description}): auto wants a GPU; ask for it with --backend webgpu`);
  }
  // The same device tfjs's own registration asks for (its limits raised to the adapter's), so the kernels
  // see what they were written for; the storage-buffer limit stays at the default and ops respect it.
  const required = ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup'];
  const requiredLimits: Record<string, number> = {};
  for (const k of required) if (adapter.limits[k] !== undefined) requiredLimits[k] = adapter.limits[k] as number;
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits,
  });
  const s: Session = { device, info: describe(adapter.info, device), errors: [], releasing: false };
  device.addEventListener('uncapturederror', (e) => s.errors.push(`${e.error.constructor.name}: ${e.error.message.split('\n')[0]}`));
  void device.lost.then((l) => {
    if (!s.releasing) s.errors.push(`device lost (${l.reason}): ${l.message.split('\n')[0]}`);
  });
  // Imported before navigator.gpu exists, so the package does not register a backend of its own.
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  // tfjs's backend checks navigator.gpu when it is constructed.
  exposeGpu(gpu);
  // Priority below every other backend: tfjs must never start this one on its own.
  tf.registerBackend('webgpu', () => new WebGPUBackend(device as unknown as ConstructorParameters<typeof WebGPUBackend>[0], adapter.info as unknown as ConstructorParameters<typeof WebGPUBackend>[1]), -1);
  session = s;
  let ok = false;
  try {
    ok = await tf.setBackend('webgpu');
  } catch {
    ok = false;
  }
  if (!ok || tf.getBackend() !== 'webgpu') {
    releaseWebGpu();
    throw new WebGpuUnavailableError(`webgpu: tfjs's WebGPU backend did not initialise on ${s.info.name}`);
  }
  const probe = tf.add(tf.scalar(1), tf.scalar(2));
  const v = (await probe.data())[0];
  probe.dispose();
  if (s.errors.length || v !== 3) {
    const why = s.errors[0] ?? `1 + 2 gave ${v}`;
    releaseWebGpu();
    throw new WebGpuUnavailableError(`webgpu: the smoke test failed on ${s.info.name}: ${why}`);
  }
  return s.info;
}

/** The adapter in use, when the WebGPU backend is active. */
export function webGpuAdapter(): AdapterInfo | undefined {
  return session && !session.releasing && tf.getBackend() === 'webgpu' ? session.info : undefined;
}

/**
 * Throws {@link DeviceError} if Dawn has reported any device error since the backend started. Every read goes
 * through this (./read.ts), so a failed pass stops the run at the next read instead of flowing into results.
 */
export function checkDevice(): void {
  if (!session || session.errors.length === 0) return;
  const [first] = session.errors;
  const more = session.errors.length > 1 ? ` (and ${session.errors.length - 1} more)` : '';
  throw new DeviceError(`WebGPU device error on ${session.info.name}: ${first}${more}; results computed after it are wrong, so the run stops`);
}

/** Waits for all work submitted so far, then {@link checkDevice}: call before results are written. */
export async function settleDevice(): Promise<void> {
  if (!session || session.releasing || tf.getBackend() !== 'webgpu') return;
  // A read flushes tfjs's pending command buffer; then wait for the queue.
  const t = tf.add(tf.scalar(0), tf.scalar(0));
  await t.data();
  t.dispose();
  await session.device.queue.onSubmittedWorkDone();
  checkDevice();
}

/** Largest number of tensors one addN may take on the active backend (an output buffer plus its inputs). */
export function maxKernelInputs(): number {
  const s = webGpuAdapter();
  return s ? Math.max(2, s.maxStorageBuffersPerShaderStage - 1) : Number.POSITIVE_INFINITY;
}

/**
 * Drops the WebGPU backend and destroys its device. Dawn keeps a Node process alive while a device exists,
 * so a process that used it calls this before it means to exit.
 */
export function releaseWebGpu(): void {
  if (!session) return;
  session.releasing = true;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  session.device.destroy();
  session = undefined;
  exposeGpu(undefined);
}

/** Sets or removes `navigator.gpu` (Node 20 has no navigator; Node 21+ has one without gpu). */
function exposeGpu(gpu: Gpu | undefined): void {
  const g = globalThis as { navigator?: Record<string, unknown> };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  const nav = g.navigator as Record<string, unknown>;
  if (gpu === undefined) delete nav.gpu;
  else Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
}

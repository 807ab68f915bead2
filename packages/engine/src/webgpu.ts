/**
 * The `webgpu` backend in Node: tfjs-backend-webgpu on Dawn's Node binding (`webgpu` on npm,
 * which opens the system's Vulkan loader at run time: an NVIDIA/AMD/Intel driver, or Mesa's
 * CPU driver lavapipe for tests).
 *
 * Why this module instead of a bare `import '@tensorflow/tfjs-backend-webgpu'`:
 * - tfjs checks `navigator.gpu` when it is imported, so Dawn's `navigator.gpu` and its
 *   globals (GPUBufferUsage, ...) must be installed first.
 * - tfjs asks for the device with WebGPU's default of 8 storage buffers per shader stage.
 *   Its AddN program binds one buffer per input plus the output, so addN of more than 7
 *   tensors fails pipeline validation; Dawn only *logs* that error and the kernel's output
 *   stays zero: wrong numbers with no exception. Autodiff emits such addN calls whenever a
 *   tensor feeds more than 7 consumers (gradient accumulation), so second-order products hit
 *   it. We (1) request the adapter's real limit, (2) re-register AddN to sum in chunks that
 *   fit the limit, and (3) turn every uncaptured device error into an exception at the next
 *   read, so that any similar trap fails loudly instead of returning zeros.
 * - tfjs's synchronous read (dataSync) uses OffscreenCanvas, which Node lacks: the engine and
 *   the trainer therefore read tensors with `await t.data()` only.
 *
 * Environment: HESSIAN_WEBGPU_DAWN_FLAGS — comma-separated Dawn options passed to
 * `create()` (e.g. `backend=vulkan`, `adapter=NVIDIA`); VK_ICD_FILENAMES / VK_DRIVER_FILES
 * choose the Vulkan driver (the tests point them at lavapipe).
 */
import * as tf from '@tensorflow/tfjs-core';
import { inputList, listAsInputs } from './kernel-inputs.js';
import { registerWebgpuKernels } from './webgpu-kernels.js';

/** What the adapter and device say about themselves, for reports and worker heartbeats. */
export interface WebgpuDeviceInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** WebGPU exposes no memory size; these limits bound the largest tensor. */
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
  /** true for a CPU implementation (lavapipe, SwiftShader): correct, but no speed to expect */
  software: boolean;
}

// Minimal structural types of the WebGPU objects we touch (no DOM lib in this project).
interface GpuLimits {
  [name: string]: number;
}
interface GpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}
/** The device is typed as WebGPU's own GPUDevice (@webgpu/types, which tfjs-backend-webgpu brings): it goes to WebGPUBackend's constructor as is. */
type GpuDevice = GPUDevice;
interface GpuAdapter {
  limits: GpuLimits;
  info?: GpuAdapterInfo;
  features: { has(name: string): boolean };
  requestDevice(desc: { requiredLimits: Record<string, number>; requiredFeatures: string[] }): Promise<GpuDevice>;
}
interface Gpu {
  requestAdapter(opts: { powerPreference: string }): Promise<GpuAdapter | null>;
}

let deviceInfo: WebgpuDeviceInfo | null = null;
/** Device errors not yet reported (Dawn delivers them as events, after the kernel ran). */
const pendingErrors: string[] = [];
let lostReason: string | null = null;

/** The adapter and limits of the active webgpu device (null before it is created). */
export function webgpuDeviceInfo(): WebgpuDeviceInfo | null {
  return deviceInfo;
}

/** A one-line description for BackendInfo.detail and logs. */
export function describeWebgpu(d: WebgpuDeviceInfo): string {
  const name = d.description || [d.vendor, d.architecture, d.device].filter(Boolean).join(' ') || 'unknown adapter';
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(b >= 2 ** 30 ? 0 : 2)} GiB`;
  return `${name}${d.software ? ' (software rasterizer: no GPU)' : ''}; max buffer ${gib(d.maxBufferSize)}, max binding ${gib(d.maxStorageBufferBindingSize)}, ${d.maxStorageBuffersPerShaderStage} storage buffers per stage; memory size not exposed by WebGPU`;
}

function throwPendingErrors(): void {
  if (lostReason !== null) throw new Error(`WebGPU device lost: ${lostReason}`);
  if (pendingErrors.length === 0) return;
  const first = pendingErrors[0];
  const more = pendingErrors.length - 1;
  pendingErrors.length = 0;
  throw new Error(`WebGPU reported an error, so results computed since the last read are unreliable: ${first}${more > 0 ? ` (and ${more} more)` : ''}`);
}

/** Installs Dawn's navigator.gpu and WebGPU globals (idempotent). */
async function installNavigatorGpu(): Promise<Gpu> {
  const g = globalThis as { navigator?: { gpu?: Gpu } };
  if (g.navigator?.gpu) return g.navigator.gpu;
  const name = 'webgpu';
  const dawn = (await import(name)) as { create: (flags: string[]) => Gpu; globals: Record<string, unknown> };
  Object.assign(globalThis, dawn.globals);
  const flags = (process.env['HESSIAN_WEBGPU_DAWN_FLAGS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const gpu = dawn.create(flags);
  // Node 21+ defines a read-only navigator; redefine rather than assign.
  Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
  return gpu;
}

let addNGuarded = false;
/** AddN that never binds more storage buffers than the device allows (sums in chunks). */
function registerChunkedAddN(maxInputs: number): void {
  if (addNGuarded) return;
  addNGuarded = true;
  const original = tf.getKernel(tf.AddN, 'webgpu');
  if (!original) return;
  const base = original.kernelFunc;
  tf.registerKernel({
    kernelName: tf.AddN,
    backendName: 'webgpu',
    kernelFunc: (args) => {
      let inputs = inputList(args.inputs);
      if (inputs.length <= maxInputs) return base(args);
      const backend = args.backend as tf.KernelBackend;
      const made: tf.TensorInfo[] = [];
      while (inputs.length > maxInputs) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < inputs.length; i += maxInputs) {
          const part = inputs.slice(i, i + maxInputs);
          if (part.length === 1) {
            next.push(part[0]);
            continue;
          }
          const r = base({ ...args, inputs: listAsInputs(part) }) as tf.TensorInfo;
          made.push(r);
          next.push(r);
        }
        inputs = next;
      }
      const out = base({ ...args, inputs: listAsInputs(inputs) }) as tf.TensorInfo;
      for (const t of made) backend.disposeData(t.dataId);
      return out;
    },
  });
}

/**
 * Makes the `webgpu` tfjs backend available (not active). Returns false when the Dawn binding
 * or tfjs-backend-webgpu is not installed; a missing adapter shows when the backend starts.
 */
export async function registerWebgpuBackend(): Promise<boolean> {
  let gpu: Gpu;
  let mod: typeof import('@tensorflow/tfjs-backend-webgpu');
  try {
    gpu = await installNavigatorGpu();
    // A literal specifier, so that bench/gpu's bundler includes it (the Dawn binding above
    // stays a run-time import: it is a native addon shipped beside the bundle).
    mod = await import('@tensorflow/tfjs-backend-webgpu');
  } catch {
    return false;
  }
  registerWebgpuKernels();
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) throw new Error('WebGPU found no adapter: no Vulkan driver (install mesa-vulkan-drivers for lavapipe, or the GPU vendor driver)');
      const L = adapter.limits;
      const want = [
        'maxComputeWorkgroupStorageSize',
        'maxComputeWorkgroupsPerDimension',
        'maxStorageBufferBindingSize',
        'maxBufferSize',
        'maxComputeWorkgroupSizeX',
        'maxComputeInvocationsPerWorkgroup',
        // not asked for by tfjs itself: the addN trap (see the header)
        'maxStorageBuffersPerShaderStage',
      ];
      const requiredLimits: Record<string, number> = {};
      for (const k of want) if (typeof L[k] === 'number') requiredLimits[k] = L[k];
      const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
      const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
      device.addEventListener('uncapturederror', (ev) => {
        // a GPUUncapturedErrorEvent; without the DOM lib the listener is typed with a plain Event
        const error = 'error' in ev && typeof ev.error === 'object' && ev.error !== null && 'message' in ev.error ? ev.error.message : ev;
        if (pendingErrors.length < 20) pendingErrors.push(String(error).split('\n')[0]);
      });
      void device.lost.then((info) => {
        lostReason = info.message || info.reason || 'unknown reason';
      });
      const info = adapter.info ?? {};
      const desc = `${info.description ?? ''} ${info.architecture ?? ''} ${info.device ?? ''}`.toLowerCase();
      deviceInfo = {
        vendor: info.vendor ?? '',
        architecture: info.architecture ?? '',
        device: info.device ?? '',
        description: info.description ?? '',
        maxBufferSize: device.limits['maxBufferSize'] ?? 0,
        maxStorageBufferBindingSize: device.limits['maxStorageBufferBindingSize'] ?? 0,
        maxStorageBuffersPerShaderStage: device.limits['maxStorageBuffersPerShaderStage'] ?? 8,
        software: /llvmpipe|lavapipe|swiftshader|software/.test(desc),
      };
      // Dawn's adapter.info is a full GPUAdapterInfo; GpuAdapterInfo above declares the fields this file reads
      const backend = new mod.WebGPUBackend(device, adapter.info as GPUAdapterInfo | undefined);
      // Surface device errors at every read (where results leave the GPU).
      const read = backend.read.bind(backend);
      backend.read = async (dataId: object) => {
        const out = await read(dataId);
        throwPendingErrors();
        return out;
      };
      registerChunkedAddN(deviceInfo.maxStorageBuffersPerShaderStage - 1);
      return backend;
    },
    3,
  );
  return true;
}

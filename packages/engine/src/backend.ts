/**
 * Backend selection. tfjs-core and the cpu backend are always here; the others load on
 * demand: 'tensorflow' (libtensorflow through @tensorflow/tfjs-node-gpu or -node, present
 * only in the container images), 'native' (@hessian/native, an OpenBLAS addon registering a
 * tfjs backend named 'native'), 'wasm' (@tensorflow/tfjs-backend-wasm; it lacks
 * Conv2DBackpropFilter, so auto only picks it for models without convolutions) and
 * 'webgpu' (@tensorflow/tfjs-backend-webgpu + the `webgpu` Dawn binding).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { UserError, setDenseKernels, type DenseKernels } from '@hessian/linalg';
import { registerHigherOrderGradients } from './gradients.js';
import { describeWebgpu, registerWebgpuBackend, webgpuDeviceInfo } from './webgpu.js';

export { tf };

export type BackendName = 'auto' | 'tensorflow' | 'native' | 'wasm' | 'cpu' | 'webgpu';
export interface BackendInfo {
  name: string;
  detail: string;
}

const BACKENDS: readonly BackendName[] = ['auto', 'tensorflow', 'native', 'wasm', 'cpu', 'webgpu'];

// Production mode: no "install tfjs-node" banner (stdout/stderr stay clean for --format json)
// and no debug-mode warnings. Set at import so it precedes the first tensor.
tf.env().set('PROD', true);

/** Imports a module by a name the type checker does not resolve (optional dependency). */
async function optionalImport(name: string): Promise<unknown> {
  return import(name);
}

/** Runs fn with console.log/info/warn sent to stderr-free no-ops (tfjs add-ons print banners on import). */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, warn: console.warn };
  const sink = (...args: unknown[]): void => {
    process.stderr.write(`${args.map(String).join(' ')}\n`);
  };
  console.log = sink;
  console.info = sink;
  console.warn = sink;
  try {
    return await fn();
  } finally {
    console.log = saved.log;
    console.info = saved.info;
    console.warn = saved.warn;
  }
}

/**
 * HESSIAN_TFJS_FLAGS="NAME=VALUE,..." sets tfjs environment flags (e.g. the webgpu backend's
 * WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false) once the backend packages have registered them.
 */
function applyTfjsFlags(): void {
  const text = process.env['HESSIAN_TFJS_FLAGS'] ?? '';
  for (const item of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UserError(`HESSIAN_TFJS_FLAGS: '${item}' is not NAME=VALUE; write e.g. WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=64.`);
    const name = item.slice(0, eq);
    const raw = item.slice(eq + 1);
    const value = raw === 'true' ? true : raw === 'false' ? false : Number.isFinite(Number(raw)) ? Number(raw) : raw;
    try {
      tf.env().set(name, value);
    } catch (e) {
      // registered by a backend not loaded (yet): tfjs keeps its flag registry private, and set() says so
      if (e instanceof Error && /has not been registered/.test(e.message)) continue;
      throw e;
    }
  }
}

async function activate(name: string): Promise<boolean> {
  // Backend packages (tfjs-node imports @tensorflow/tfjs) may re-register tfjs's gradients.
  registerHigherOrderGradients();
  applyTfjsFlags();
  if (!tf.findBackendFactory(name)) return false;
  try {
    const ok = await quietly(() => tf.setBackend(name));
    if (!ok) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

async function tryTensorflow(): Promise<string | null> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await quietly(() => optionalImport(pkg));
    } catch {
      continue;
    }
    if (await activate('tensorflow')) return pkg;
  }
  return null;
}

async function tryNative(): Promise<string | null> {
  let mod: unknown;
  try {
    mod = await quietly(() => optionalImport('@hessian/native'));
  } catch {
    return null;
  }
  if (!(await activate('native'))) return null;
  // linalg's float64 hot loops (Gram-Schmidt sweeps, dense eigenvalues) on OpenBLAS / LAPACK too
  const kernels = (mod as { denseKernels?: DenseKernels | null }).denseKernels;
  if (kernels) setDenseKernels(kernels);
  return '@hessian/native';
}

async function tryWasm(): Promise<string | null> {
  try {
    await quietly(() => optionalImport('@tensorflow/tfjs-backend-wasm'));
  } catch {
    return null;
  }
  return (await activate('wasm')) ? '@tensorflow/tfjs-backend-wasm' : null;
}

async function tryWebgpu(): Promise<string | null> {
  if (!(await quietly(() => registerWebgpuBackend()))) return null;
  if (!(await activate('webgpu'))) return null;
  const d = webgpuDeviceInfo();
  return `@tensorflow/tfjs-backend-webgpu on ${d ? describeWebgpu(d) : 'an unknown adapter'}`;
}

const INSTALL: Record<Exclude<BackendName, 'auto' | 'cpu'>, string> = {
  tensorflow: 'install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node (it downloads libtensorflow; use the container image where it is preinstalled)',
  native: 'build and install the @hessian/native addon (needs libopenblas-dev)',
  wasm: 'install @tensorflow/tfjs-backend-wasm',
  webgpu: 'install @tensorflow/tfjs-backend-webgpu and the webgpu (Dawn) package, and a Vulkan driver (apt-get install -t bookworm-backports mesa-vulkan-drivers for the CPU driver lavapipe, or the GPU vendor\'s driver)',
};

function info(pkg: string, why: string): BackendInfo {
  return { name: tf.getBackend(), detail: `${pkg}${why ? `; ${why}` : ''}` };
}

/**
 * Selects and initializes a tfjs backend. auto: tensorflow > native > wasm (only when the
 * model has no convolutions: wasm lacks Conv2DBackpropFilter) > cpu. An explicit request
 * for a backend that cannot load is a UserError saying what to install.
 */
export async function initBackend(requested?: BackendName, opts: { needsConv?: boolean } = {}): Promise<BackendInfo> {
  const req = (requested ?? ((process.env['HESSIAN_BACKEND'] || undefined) as BackendName | undefined) ?? 'auto') as BackendName;
  if (!BACKENDS.includes(req)) {
    throw new UserError(`Unknown backend '${String(req)}'; use one of ${BACKENDS.join(', ')}.`);
  }
  const needsConv = opts.needsConv ?? false;
  const explicit = async (pkg: string | null, name: Exclude<BackendName, 'auto' | 'cpu'>): Promise<BackendInfo> => {
    if (pkg === null) {
      throw new UserError(`Backend '${name}' is not available here; ${INSTALL[name]}, or choose --backend cpu.`, 'FAILED_PRECONDITION');
    }
    return info(pkg, '');
  };
  switch (req) {
    case 'cpu':
      if (!(await activate('cpu'))) throw new Error('tfjs cpu backend failed to initialize');
      return info('@tensorflow/tfjs-backend-cpu', 'pure JavaScript');
    case 'tensorflow':
      return explicit(await tryTensorflow(), 'tensorflow');
    case 'native':
      return explicit(await tryNative(), 'native');
    case 'webgpu':
      return explicit(await tryWebgpu(), 'webgpu');
    case 'wasm': {
      const r = await explicit(await tryWasm(), 'wasm');
      if (needsConv) {
        throw new UserError('Backend wasm cannot differentiate convolutions twice (tfjs-backend-wasm has no Conv2DBackpropFilter kernel); choose --backend cpu, native or tensorflow for this model.', 'FAILED_PRECONDITION');
      }
      return r;
    }
    case 'auto': {
      const tfn = await tryTensorflow();
      if (tfn) return info(tfn, 'auto');
      const nat = await tryNative();
      if (nat) return info(nat, 'auto');
      if (!needsConv) {
        const w = await tryWasm();
        if (w) return info(w, 'auto (no convolutions)');
      }
      if (!(await activate('cpu'))) throw new Error('tfjs cpu backend failed to initialize');
      return info('@tensorflow/tfjs-backend-cpu', `auto${needsConv ? ' (convolutions: wasm skipped)' : ''}`);
    }
  }
}

/**
 * Whether backend `name` starts here: null when it does, else the sentence saying why. Leaves
 * `restore` active afterwards. Test suites use it to skip, or to fail where a
 * HESSIAN_*_REQUIRED variable says the backend must be there (CI).
 */
export async function probeBackend(name: BackendName, opts: { restore: BackendName }): Promise<string | null> {
  try {
    await initBackend(name);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await initBackend(opts.restore);
  }
}

/**
 * Whether a model (`zoo:NAME` or a model.json path) needs convolution or pooling kernels,
 * read before loading it, since the backend must be chosen first: wasm lacks their
 * second-order kernels. A missing file counts as needing them; loadModel then reports it.
 */
export function modelNeedsConv(modelSpec: string): boolean {
  if (modelSpec.startsWith('zoo:')) return !/^zoo:(tiny-)?mlp$/.test(modelSpec);
  try {
    // ONNX: operator names are plain ASCII strings inside the protobuf
    if (modelSpec.toLowerCase().endsWith('.onnx')) return /Conv|Pool/.test(readFileSync(modelSpec, 'latin1'));
    if (!modelSpec.toLowerCase().endsWith('.json')) return true;
    return /"(Conv2D|MaxPooling2D|AveragePooling2D|GlobalAveragePooling2D)"/.test(readFileSync(modelSpec, 'utf8'));
  } catch {
    return true;
  }
}

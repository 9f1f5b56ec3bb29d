/**
 * Training engine: picks the TensorFlow.js backend this process trains on.
 *
 * 'auto' tries, in order: tfjs-node-gpu (CUDA), tfjs-node (native CPU), wasm
 * with our kernels (kernels/), and the pure-JS cpu backend (~100x slower than
 * wasm: a last resort). The tfjs-node packages are optional dependencies that
 * often are not installed (their install script downloads libtensorflow), so
 * they are required lazily, each inside try/catch.
 *
 * Every path also registers the gradient functions tfjs-core's CommonJS build
 * leaves out (kernels/gradients.ts); without them nothing can train.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { registerMissingGradients } from './kernels/gradients';
import { registerWasmKernels } from './kernels/register-wasm-kernels';

export { registerMissingGradients } from './kernels/gradients';
export { registerWasmKernels } from './kernels/register-wasm-kernels';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

/** The order 'auto' tries. */
export const AUTO_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', ...AUTO_ORDER];

export interface EngineAttempt {
  backend: BackendName;
  ok: boolean;
  reason?: string;
}

export interface EngineInfo {
  /** The backend in use. */
  backend: BackendName;
  /** What the caller asked for. */
  requested: BackendChoice;
  tfjsVersion: string;
  /** wasm only (null elsewhere): whether the SIMD binary runs. */
  simd: boolean | null;
  /** wasm only (null elsewhere): XNNPACK threads; 1 in Node, where the threaded build cannot start. */
  threads: number | null;
  /** Kernels we registered for this backend (added or overriding built-ins). */
  customKernels: string[];
  /** Every backend tried, in order, with why it failed. */
  attempts: EngineAttempt[];
}

export function parseBackendChoice(text: string): BackendChoice {
  const choice = BACKEND_CHOICES.find((c) => c === text.trim().toLowerCase());
  if (!choice) throw new Error(`unknown backend "${text}": expected one of ${BACKEND_CHOICES.join(', ')}`);
  return choice;
}

/** One line for logs and `pfedlora doctor`. */
export function describeEngine(info: EngineInfo): string {
  const extras: string[] = [];
  if (info.simd !== null) extras.push(info.simd ? 'simd' : 'no simd');
  if (info.threads !== null) extras.push(`${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  if (info.customKernels.length > 0) extras.push(`our kernels: ${info.customKernels.join(', ')}`);
  const skipped = info.attempts.filter((a) => !a.ok).map((a) => `${a.backend}: ${a.reason ?? 'failed'}`);
  return (
    `backend ${info.backend} (requested ${info.requested}), tfjs ${info.tfjsVersion}` +
    (extras.length > 0 ? ` [${extras.join('; ')}]` : '') +
    (skipped.length > 0 ? `; skipped ${skipped.join('; ')}` : '')
  );
}

/** tfjs's name for the backend (both tfjs-node packages register 'tensorflow'). */
function tfjsBackendName(backend: BackendName): string {
  return backend === 'tensorflow-gpu' ? 'tensorflow' : backend;
}

const NODE_PACKAGES: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** Which tfjs-node package registered 'tensorflow' in this process (only one can). */
let nodeBindingLoaded: 'tensorflow-gpu' | 'tensorflow' | null = null;

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim();
}

function resolveFrom(dir: string, request: string): string | null {
  try {
    return require.resolve(request, { paths: [dir] });
  } catch {
    return null;
  }
}

/**
 * Loads a tfjs-node package, which must register its backend on our
 * tfjs-core: a private copy would mean a second engine whose tensors ours
 * cannot read.
 */
function loadNodeBinding(backend: 'tensorflow-gpu' | 'tensorflow'): void {
  if (nodeBindingLoaded === backend) return;
  const pkg = NODE_PACKAGES[backend];
  if (nodeBindingLoaded !== null) {
    throw new Error(`${NODE_PACKAGES[nodeBindingLoaded]} already registered the 'tensorflow' backend in this process`);
  }
  if (tf.findBackendFactory('tensorflow') != null) {
    throw new Error(`a 'tensorflow' backend was registered by another module; cannot tell whether it is ${pkg}`);
  }
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`${pkg} is not installed (it is an optional dependency)`);
  }
  const ours = require.resolve('@tensorflow/tfjs-core');
  const unionDir = resolveFrom(pkgDir, '@tensorflow/tfjs/package.json');
  const theirs = [resolveFrom(pkgDir, '@tensorflow/tfjs-core'), unionDir && resolveFrom(path.dirname(unionDir), '@tensorflow/tfjs-core')];
  const foreign = theirs.find((p) => p != null && p !== ours);
  if (foreign) {
    throw new Error(`${pkg} resolves @tensorflow/tfjs-core to ${foreign}, not ours (${ours}); deduplicate it (npm dedupe) so both share one tfjs-core`);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional native package, loaded only when asked for
    require(pkg);
  } catch (error) {
    throw new Error(`${pkg} failed to load: ${firstLine(error)}`);
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    throw new Error(`${pkg} loaded but registered no 'tensorflow' backend on our tfjs-core`);
  }
  nodeBindingLoaded = backend;
}

/** Directory holding the .wasm binaries, resolved from node_modules (not from a bundle's location). */
function wasmDirectory(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

async function setBackendOrThrow(name: string): Promise<void> {
  // setBackend resolves false (after a console warning) when init fails.
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') failed to initialize the backend`);
  await tf.ready();
}

let wasmKernels: string[] = [];

async function activate(backend: BackendName): Promise<Pick<EngineInfo, 'simd' | 'threads' | 'customKernels'>> {
  switch (backend) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      loadNodeBinding(backend);
      await setBackendOrThrow('tensorflow');
      return { simd: null, threads: null, customKernels: [] };
    case 'wasm': {
      if (tf.findBackend('wasm') == null) {
        const dir = wasmDirectory();
        const binary = path.join(dir, 'tfjs-backend-wasm.wasm');
        if (!fs.existsSync(binary)) throw new Error(`missing ${binary}`);
        // Only possible before the first init; a failed init cannot be retried in-process.
        tfWasm.setWasmPaths(dir);
      }
      // Before setBackend: the engine runs every kernel's setupFunc when it activates a backend.
      wasmKernels = registerWasmKernels();
      await setBackendOrThrow('wasm');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threaded = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      return { simd: simd === true, threads: threaded === true ? tfWasm.getThreadsCount() : 1, customKernels: [...wasmKernels] };
    }
    case 'cpu':
      await setBackendOrThrow('cpu');
      return { simd: null, threads: null, customKernels: [] };
  }
}

async function select(requested: BackendChoice): Promise<EngineInfo> {
  const candidates = requested === 'auto' ? AUTO_ORDER : [requested];
  const attempts: EngineAttempt[] = [];
  for (const backend of candidates) {
    try {
      const details = await activate(backend);
      attempts.push({ backend, ok: true });
      registerMissingGradients();
      return { backend, requested, tfjsVersion: tf.version_core, ...details, attempts };
    } catch (error) {
      attempts.push({ backend, ok: false, reason: firstLine(error) });
    }
  }
  if (requested !== 'auto') {
    throw new Error(`backend '${requested}' is not available: ${attempts[0]?.reason ?? 'unknown reason'}`);
  }
  throw new Error(`no TensorFlow.js backend could be initialized: ${attempts.map((a) => `${a.backend}: ${a.reason}`).join('; ')}`);
}

const selections = new Map<BackendChoice, Promise<EngineInfo>>();

/**
 * Selects and activates a backend. Idempotent per choice: a repeat call
 * returns the same EngineInfo (re-activating its backend if another call
 * switched away meanwhile). A failed choice is not cached, so it can be retried.
 */
export async function initEngine(choice: BackendChoice = 'auto'): Promise<EngineInfo> {
  if (!BACKEND_CHOICES.includes(choice)) throw new Error(`unknown backend "${String(choice)}": expected one of ${BACKEND_CHOICES.join(', ')}`);
  let selection = selections.get(choice);
  if (!selection) {
    selection = select(choice);
    selections.set(choice, selection);
    selection.catch(() => selections.delete(choice));
  }
  const info = await selection;
  const name = tfjsBackendName(info.backend);
  if (tf.getBackend() !== name) await setBackendOrThrow(name);
  return info;
}

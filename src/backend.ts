/**
 * Backend selection: tfjs-node where it loads, else WebAssembly, else plain JavaScript (CPU).
 *
 * tfjs-node is an optional dependency because its install script downloads libtensorflow, which
 * fails on machines without that network access; the course must still run there, so the choice is
 * made at run time and the reason is reported, so a student knows why training is as fast as it is.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions } from './options';
import { registerWasmKernels, recoverEngine, silenceCpuBanner, wasmHasSimd } from './internals';
import { abandonRunningCalls, kernelHub } from './interrupt';
import { fusedThreads, settleFusedHelpers } from './fused';

/** The tf.js backend names rnn-lab can pick, in order of preference. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** What {@link initBackend} chose and why. */
export interface BackendInfo {
  /** The tf.js backend now in use. */
  name: BackendName;
  /** Why it was chosen (and why the faster ones were not), in one line. */
  reason: string;
  /** The same as `name` and `reason`, and the fused threads, as the one line that was printed. */
  line: string;
  /**
   * Threads of rnn-lab's fused recurrent kernels (this one included; not tf.js's own WASM threads), as
   * {@link fusedInfo} reports them: RNN_LAB_FUSED_THREADS, else the cgroup CPU quota rounded down, else
   * one per core up to 8; setFusedThreads changes it.
   */
  threads: number;
  /** Why that many, e.g. `'cgroup v2 cpu.max 150000 100000 → 1.5 CPUs'` or `'availableParallelism 2'`. */
  threadsReason: string;
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * Force a backend instead of picking the fastest that loads. Defaults to the environment variable
   * `RNN_LAB_BACKEND` (`tensorflow`/`node`, `wasm` or `cpu`), else automatic.
   */
  backend?: BackendName | 'node' | 'auto';
  /** Do not print the one-line report. Default false. */
  quiet?: boolean;
}
const INIT_BACKEND_KEYS = ['backend', 'quiet'] as const;

const ALIASES: Record<string, BackendName | 'auto'> = {
  node: 'tensorflow', tensorflow: 'tensorflow', 'tfjs-node': 'tensorflow',
  wasm: 'wasm', cpu: 'cpu', auto: 'auto', '': 'auto',
};

let current: BackendInfo | undefined;

// Also at import: a user who calls tf.setBackend('wasm') directly gets the same kernels.
registerWasmKernels();
silenceCpuBanner();   // also for scripts that never call initBackend
// In the course kernel: how to put tf.js back in order after a cell was stopped inside a tf.js call.
{
  const hub = kernelHub();
  if (hub) {
    hub.recover = (terminated) =>
      [...(terminated ? abandonRunningCalls() : []), recoverEngine(), settleFusedHelpers()].filter(Boolean).join('; ') || undefined;
  }
}

/**
 * The backend chosen by the last {@link initBackend} call, if any, with the fused kernels' thread count
 * as it is now (`threads`, `threadsReason`).
 * @example backendInfo()?.threadsReason   // 'availableParallelism 2'
 */
export function backendInfo(): BackendInfo | undefined {
  if (!current) return undefined;
  const { threads, reason } = fusedThreads();
  return { ...current, threads, threadsReason: reason };
}

function tryNode(): string | null {
  // libtensorflow logs on stderr at start-up unless told not to.
  if (process.env.TF_CPP_MIN_LOG_LEVEL === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  try {
    require('@tensorflow/tfjs-node');
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    return /Cannot find module '@tensorflow\/tfjs-node'/.test(msg)
      ? 'tfjs-node is not installed'
      : `tfjs-node did not load (${msg.split('\n')[0]})`;
  }
  // A tfjs-node that is really an alias of @tensorflow/tfjs (as danfojs-node gets) registers nothing.
  return tf.findBackend('tensorflow') ? null : 'tfjs-node loaded but registered no "tensorflow" backend';
}

async function trySet(name: BackendName): Promise<string | null> {
  try {
    // The WASM backend lacks kernels that standard layers need to train (embedding's gradient,
    // conv1d's filter gradient); registering them here makes a user's own tf.sequential train
    // wherever rnn-lab's models do.
    if (name === 'wasm') { require('@tensorflow/tfjs-backend-wasm'); registerWasmKernels(); }
    const ok = await tf.setBackend(name);
    return ok ? null : `tf.setBackend('${name}') failed`;
  } catch (e) {
    return `${name} did not initialise (${((e as Error).message ?? String(e)).split('\n')[0]})`;
  }
}

/**
 * Pick the fastest tf.js backend that works here and print one line saying which and why.
 *
 * @example
 * ```ts
 * import { initBackend } from 'rnn-lab';
 * const info = await initBackend();          // rnn-lab backend: wasm (tfjs-node is not installed; …)
 * await initBackend({ backend: 'cpu' });    // force one; or RNN_LAB_BACKEND=cpu in the environment
 * ```
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  checkOptions('initBackend', options, INIT_BACKEND_KEYS);
  // A bad RNN_LAB_FUSED_THREADS is an error here, in a notebook's first cell, before any backend is
  // switched, not at the first training step.
  const { threads, reason: threadsReason } = fusedThreads();
  const requested = options.backend ?? process.env.RNN_LAB_BACKEND ?? 'auto';
  const want = ALIASES[String(requested).toLowerCase()];
  if (want === undefined) {
    throw new Error(
      `initBackend: backend (or RNN_LAB_BACKEND) must be one of tensorflow, node, wasm, cpu, auto; got '${requested}'`);
  }
  silenceCpuBanner();
  const skipped: string[] = [];
  let chosen: BackendName | undefined;
  const order: BackendName[] = want === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [want];
  for (const name of order) {
    const why = name === 'tensorflow' ? tryNode() ?? (await trySet('tensorflow')) : await trySet(name);
    if (why === null) { chosen = name; break; }
    skipped.push(why);
  }
  if (!chosen) {
    throw new Error(`initBackend: the requested backend '${requested}' is not available here: ${skipped.join('; ')}`);
  }
  silenceCpuBanner();
  let reason = want === 'auto' ? (skipped.length ? skipped.join('; ') : 'the fastest available') : 'forced by ' +
    (options.backend !== undefined ? 'the backend option' : 'RNN_LAB_BACKEND');
  if (chosen === 'wasm') {
    const simd = wasmHasSimd();
    reason += `; SIMD ${simd ? 'on' : 'off'}`;
  }
  const line = `rnn-lab backend: ${chosen} (${reason}), tf.js ${tf.version_core}; fused kernels: ${threads} thread${threads === 1 ? '' : 's'} (${threadsReason})`;
  current = { name: chosen, reason, line, threads, threadsReason };
  if (!options.quiet) console.log(line);
  return { ...current };
}

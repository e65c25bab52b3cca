/**
 * Every place rnn-lab reaches into tf.js internals, in one module: the engine's gradient-tape state
 * (read by the fused kernel, reset after an interrupted cell) and the kernels rnn-lab registers for
 * the WASM backend, which read and write tensor data through that backend's private API.
 *
 * None of this is public tf.js API, so a tf.js upgrade may change it; tests/unit/backend.test.mjs
 * (`tf.js internals rnn-lab relies on`) asserts that every field used here still exists and that the
 * registered kernels agree with the CPU backend's, so an upgrade that breaks a reach fails a test
 * instead of failing silently. Written against tf.js 4.22.
 */
import * as tf from '@tensorflow/tfjs';

// --- Engine state ------------------------------------------------------------------------------

/** The fields of tf.js's engine state read or reset here (tfjs-core/src/engine.ts, EngineState). */
interface EngineState { gradientDepth: number; kernelDepth: number; activeTape: unknown; numDataMovesStack: unknown[]; scopeStack: unknown[] }

function engineState(): EngineState | undefined {
  return (tf.engine() as unknown as { state?: EngineState }).state;
}

/** How many gradient tapes are open (tf.grad inside tf.grad = 2); 0 when the field is missing. */
export function gradientDepth(): number {
  return engineState()?.gradientDepth ?? 0;
}

/** Whether the engine records ops for a gradient now (outside any tape: false). True when unknown, the safe answer for a kernel that must then keep what its backward needs. */
export function isTapeOn(): boolean {
  const engine = tf.engine() as unknown as { isTapeOn?: () => boolean };
  return typeof engine.isTapeOn === 'function' ? engine.isTapeOn() : true;
}

/**
 * Close gradient tapes an interrupted computation left open (Jupyter's stop button stops JavaScript
 * without running `finally` blocks). Returns whether anything was open.
 */
export function resetEngineTape(): boolean {
  const state = engineState();
  if (!state || (state.gradientDepth === 0 && state.kernelDepth === 0)) return false;
  state.gradientDepth = 0;
  state.kernelDepth = 0;
  state.activeTape = null;
  state.numDataMovesStack = [];
  return true;
}

/**
 * Put the engine back in order after JavaScript was stopped in the middle of a tf.js call (the course
 * kernel's second Interrupt, or tslab's, terminates a synchronous cell without running `finally`):
 * close the `tf.tidy` scopes left open, freeing the tensors they tracked, and the gradient tapes. Left
 * as it is, every later tensor would be tracked by a scope that never ends and every later gradient
 * would be taken on a stale tape ("Cannot find a connection between any variable and the result of
 * the loss function"). Returns what was repaired, or undefined when nothing was out of order.
 */
export function recoverEngine(): string | undefined {
  const state = engineState();
  if (!state) return undefined;
  const scopes = Array.isArray(state.scopeStack) ? state.scopeStack.length : 0;
  const before = tf.memory().numTensors;
  for (let i = 0; i < scopes; i++) tf.engine().endScope();
  const freed = before - tf.memory().numTensors;
  const tapes = resetEngineTape();
  if (scopes === 0 && !tapes) return undefined;
  const what = [scopes > 0 ? `${scopes} tf.tidy scope${scopes === 1 ? '' : 's'}` : '', tapes ? 'a gradient tape' : ''].filter(Boolean).join(' and ');
  return `tf.js was stopped with ${what} open, now closed (${freed} tensor${freed === 1 ? '' : 's'} of the unfinished step freed)`;
}

/**
 * Free what a gradient tape saved for a backward pass that will never run. tf.js keeps a clone of the
 * tensors each recorded op needs for its gradient and disposes them only at the end of the backward
 * pass: when the forward function throws (an interrupt between steps), they would leak. Only at
 * gradient depth 0, i.e. when no enclosing tape's backward pass still needs them.
 */
export function dropAbandonedTape(): void {
  const state = engineState();
  const tape = state?.activeTape as { saved?: tf.Tensor[] }[] | null | undefined;
  if (!state || state.gradientDepth !== 0 || !Array.isArray(tape)) return;
  for (const node of tape) tf.dispose(node.saved ?? []);
  state.activeTape = null;
}

// --- Backends ----------------------------------------------------------------------------------

/**
 * Switch off the CPU backend's one-time banner recommending tfjs-node (graders and students read
 * stderr as "something went wrong"). tf.js 4.22: `MathBackendCPU` prints it on first use unless its
 * private `firstUse` field is false (tfjs-backend-cpu/src/backend_cpu.ts). No-op without a CPU backend.
 */
export function silenceCpuBanner(): void {
  // The engine makes a NEW backend instance from the registered factory when it first picks a backend
  // (Engine.initializeBackend), so silencing today's instance is not enough: wrap the factory too.
  const engine = tf.engine() as unknown as { registryFactory?: Record<string, { factory: () => unknown }> };
  const entry = engine.registryFactory?.cpu;
  if (entry && !(entry.factory as { quiet?: boolean }).quiet) {
    const make = entry.factory;
    const quiet = () => {
      const backend = make() as { firstUse?: boolean };
      if (backend && typeof backend === 'object') backend.firstUse = false;
      return backend;
    };
    entry.factory = Object.assign(quiet, { quiet: true });
  }
  try {
    const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
    if (cpu) cpu.firstUse = false;
  } catch {
    /* no CPU backend registered: nothing to silence */
  }
}

/**
 * Whether the WASM backend runs its SIMD build, for initBackend's status line. tf.js 4.22: the flag
 * `WASM_HAS_SIMD_SUPPORT` is registered by tfjs-backend-wasm (src/flags_wasm.ts), not documented;
 * reading an unregistered flag throws, so call this only after the WASM backend is loaded.
 */
export function wasmHasSimd(): boolean {
  return tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
}

// --- Optimizers --------------------------------------------------------------------------------

/** tf.js's optimizer classes (4.22); each has its own applyGradients (Optimizer's is abstract). */
export const OPTIMIZER_CLASSES: readonly string[] = ['SGDOptimizer', 'MomentumOptimizer', 'AdamOptimizer', 'AdamaxOptimizer', 'AdagradOptimizer', 'AdadeltaOptimizer', 'RMSPropOptimizer'];

/**
 * Replace `applyGradients` on every class in {@link OPTIMIZER_CLASSES} by `step` for the rest of the
 * process (RNN_LAB_NO_TRAINING, src/no-training.ts). tf.js 4.22: `minimize`, `model.fit` and rnn-lab's
 * `train` all end in the class's own `applyGradients`, so patching the prototypes reaches every step.
 * Throws, naming `where` and the class, when a class or its method is missing (patching the rest would
 * leave the switch half on).
 */
export function replaceOptimizerSteps(where: string, step: (grads: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]) => void,
  names: readonly string[] = OPTIMIZER_CLASSES): void {
  const classes = names.map((name) => {
    const cls = (tf as unknown as Record<string, { prototype: { applyGradients?: unknown } } | undefined>)[name];
    if (!cls || typeof cls.prototype.applyGradients !== 'function') {
      throw new Error(`${where}: tf.${name}.prototype.applyGradients is missing in this tf.js version; the switch cannot be honoured`);
    }
    return cls;
  });
  for (const cls of classes) cls.prototype.applyGradients = step;
}

/**
 * Dispose the learning-rate scalar an optimizer keeps. tf.js 4.22: `MomentumOptimizer.dispose()`
 * forgets the scalar `c` (a protected field) of its SGD base class, one tensor leaked per optimizer;
 * disposing it again is harmless for the others (tf.dispose of a disposed tensor does nothing).
 */
export function disposeLearningRateScalar(optimizer: tf.Optimizer): void {
  tf.dispose((optimizer as unknown as { c?: tf.Tensor }).c ?? []);
}

// --- Layers ------------------------------------------------------------------------------------

/**
 * The two wrapped layers of a tf.layers.bidirectional. tf.js 4.22: `Bidirectional.forwardLayer` and
 * `backwardLayer` are private (tfjs-layers/src/layers/wrappers.ts) and there is no public getter;
 * rnn-lab needs them to read a tf.js model's recurrent weights and configs per direction.
 */
export function bidirectionalLayers(layer: tf.layers.Layer): { forward: tf.layers.Layer; backward: tf.layers.Layer } {
  const bi = layer as unknown as { forwardLayer: tf.layers.Layer; backwardLayer: tf.layers.Layer };
  return { forward: bi.forwardLayer, backward: bi.backwardLayer };
}

// --- Kernels the WASM backend lacks ------------------------------------------------------------

/** The part of tfjs-backend-wasm's BackendWasm (src/backend_wasm.ts) the kernels below use. */
interface WasmBackendIO {
  readSync(dataId: object): tf.TypedArray;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.TypedArray): tf.TensorInfo;
}

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };

function io(backend: unknown): WasmBackendIO {
  const b = backend as Partial<WasmBackendIO>;
  if (typeof b.readSync !== 'function' || typeof b.makeOutput !== 'function') {
    throw new Error('rnn-lab internals: the WASM backend no longer has readSync/makeOutput; this tf.js version needs an update of src/internals.ts');
  }
  return b as WasmBackendIO;
}

/**
 * UnsortedSegmentSum (the gradient of tf.gather, hence of tf.layers.embedding): out[s, …] = Σ over
 * i with segmentIds[i] = s of x[i, …]. Ids outside [0, numSegments) are ignored, as in the CPU kernel.
 */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, segmentIds } = inputs;
  const numSegments = attrs!.numSegments as number;
  const b = io(backend);
  const xs = b.readSync(x.dataId);
  const ids = b.readSync(segmentIds.dataId);
  const inner = xs.length / Math.max(1, ids.length);                            // size of one segment's row
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (!(s >= 0 && s < numSegments)) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++) out[dst + k] += xs[src + k];
  }
  return b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype === 'int32' ? 'int32' : 'float32', undefined, out);
}

/**
 * Conv2DBackpropFilter (the filter gradient of conv1d/conv2d): dW[r, c, i, o] = Σ_b,y,x x[b, y·s+r−pad,
 * x·s+c−pad, i] · dy[b, y, x, o]. A port of tfjs-backend-cpu's kernel (dilations 1, as tf.js's conv2d
 * gradient requires), for both data formats.
 */
function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, dy } = inputs;
  const a = attrs as { strides: number | [number, number]; pad: 'valid' | 'same' | number; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number] };
  const b = io(backend);
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad,
    a.dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(a.dataFormat));
  const last = info.dataFormat === 'channelsLast';
  const xv = b.readSync(x.dataId);
  const dyv = b.readSync(dy.dataId);
  const [H, W, C, O] = [info.inHeight, info.inWidth, info.inChannels, info.outChannels];
  const [OH, OW] = [info.outHeight, info.outWidth];
  const xAt = last ? (n: number, r: number, c: number, i: number) => ((n * H + r) * W + c) * C + i
    : (n: number, r: number, c: number, i: number) => ((n * C + i) * H + r) * W + c;
  const dyAt = last ? (n: number, r: number, c: number, o: number) => ((n * OH + r) * OW + c) * O + o
    : (n: number, r: number, c: number, o: number) => ((n * O + o) * OH + r) * OW + c;
  const { top, left } = info.padInfo;
  const dw = new Float32Array(info.filterHeight * info.filterWidth * C * O);  // [fh, fw, in, out]
  for (let wr = 0; wr < info.filterHeight; wr++) {
    const yr0 = Math.max(0, Math.ceil((top - wr) / info.strideHeight));
    const yr1 = Math.min(OH, (H + top - wr) / info.strideHeight);
    for (let wc = 0; wc < info.filterWidth; wc++) {
      const yc0 = Math.max(0, Math.ceil((left - wc) / info.strideWidth));
      const yc1 = Math.min(OW, (W + left - wc) / info.strideWidth);
      for (let i = 0; i < C; i++) {
        for (let o = 0; o < O; o++) {
          let sum = 0;
          for (let n = 0; n < info.batchSize; n++) {
            for (let yr = yr0; yr < yr1; yr++) {
              const xr = wr + yr * info.strideHeight - top;
              for (let yc = yc0; yc < yc1; yc++) sum += xv[xAt(n, xr, wc + yc * info.strideWidth - left, i)] * dyv[dyAt(n, yr, yc, o)];
            }
          }
          dw[((wr * info.filterWidth + wc) * C + i) * O + o] = sum;
        }
      }
    }
  }
  return b.makeOutput(info.filterShape, 'float32', undefined, dw);
}

/**
 * The kernels tf.js's WASM backend (4.22) lacks for training standard recurrent models, found by
 * fitting a tf.sequential of each standard layer on 'wasm' (tests/unit/backend.test.mjs):
 * UnsortedSegmentSum (tf.layers.embedding's gradient) and Conv2DBackpropFilter (conv1d/conv2d).
 */
export const WASM_EXTRA_KERNELS: readonly string[] = ['UnsortedSegmentSum', 'Conv2DBackpropFilter'];

const FUNCS: Record<string, (a: KernelArgs) => tf.TensorInfo> = { UnsortedSegmentSum: unsortedSegmentSum, Conv2DBackpropFilter: conv2DBackpropFilter };

/**
 * Register {@link WASM_EXTRA_KERNELS} for the 'wasm' backend, each only if tf.js does not have it
 * already (a later tf.js that adds one keeps its own). Idempotent. Returns the names registered now.
 */
export function registerWasmKernels(): string[] {
  const added: string[] = [];
  for (const name of WASM_EXTRA_KERNELS) {
    if (tf.getKernel(name, 'wasm')) continue;
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: FUNCS[name] as unknown as tf.KernelFunc });
    added.push(name);
  }
  return added;
}

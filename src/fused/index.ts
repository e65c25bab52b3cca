/**
 * Fused recurrent layers: one layer's whole sequence (all T steps) as a single tf.js op, computed in
 * WebAssembly with SIMD (asm/recurrent.ts), with a hand-written BPTT backward plugged in through
 * `tf.customGrad`, so `tf.grads`, `tf.variableGrads` and training go through it unchanged.
 *
 * The kernels and their memory arena: ./kernels.ts. A batch large enough is cut into shards computed
 * at once on this thread and on helper threads (./threads.ts; one per further core or whole CPU of
 * the container's quota, ./quota.ts; set by {@link setFusedThreads} or RNN_LAB_FUSED_THREADS), and the
 * shards' weight gradients are summed.
 *
 * @example
 * ```ts
 * const { hs, hT, cT } = fusedSequence('lstm', x, kernel, recurrentKernel, bias, h0, c0);
 * const grads = tf.grads((k) => tf.sum(fusedSequence('lstm', x, k, rk, b, h0, c0).hT))([kernel]);
 * // A padded batch: row 0 has 3 real steps, row 1 all T = 5; hs[0, 3:] is 0, hT[0] is h after step 3.
 * const ragged = fusedSequence('gru', x2, k2, rk2, b2, null, null, { lengths: [3, 5] });
 * ```
 */
import { allFull, checkLengths } from '../lengths';
import type { Lengths } from '../lengths';
import * as tf from '@tensorflow/tfjs';
import { cellDefaults } from '../family';
import type { CellKind, CellOptions } from '../family';
import { cellFamily, findCell, hasRecurrentBias, readsOption } from '../cells';
import {
  Arena, Call, Dims, FusedUnsupportedError, GATES, Module, instantiate, nodeLoad, nodeWasmPath, outRows, RETURNS,
  hasCell as kernelHasCell, hasRecurrentBias as kernelHasRecurrentBias,
} from './kernels';
import type { BackwardOut, ForwardIn } from './kernels';
import { Helper } from './threads';
import { defaultFusedThreads, MAX_THREADS } from './quota';
import type { ThreadsChoice } from './quota';
import { gradientDepth, isTapeOn } from '../internals';
import { checkOptions } from '../options';
import { shapeText } from '../inputs';

export { FusedUnsupportedError };

/** Options of {@link fusedSequence}: the cell options, plus GRU resetAfter's recurrent bias. */
export interface FusedOptions extends CellOptions {
  /** GRU with resetAfter: b_hh [G·n]. Required then, not allowed otherwise. */
  recurrentBias?: tf.Tensor;
  /**
   * Which outputs to compute: 'all' (default: hs, hT and cT), 'sequence' (hs only) or 'last' (hT and
   * cT only). Asking only for what is used saves copying [batch, T, n] arrays in and out of tf.js.
   */
  returns?: 'all' | 'sequence' | 'last';
  /**
   * Per-row sequence lengths L_b (1 ≤ L_b ≤ T; src/lengths.ts), in any order: steps t ≥ L_b are
   * padding — their output is 0 and the state is held, so hT (and cT) are the states after step L_b;
   * gradients flow from hT (cT) into step L_b, and dx at padded steps is 0 (PyTorch's packed
   * sequences). The kernels skip the padded steps: rows are sorted by length inside, and step t
   * computes only the rows that have it. Omitted, or every L_b = T: the unmasked path, bit for bit.
   */
  lengths?: Lengths;
  /**
   * Recurrent dropout's mask m [batch, n] (Gal & Ghahramani 2016; see RecurrentLayerOptions.recurrentDropout):
   * h_{t−1} ⊙ m feeds the recurrent matmul at every step, the state update keeps h_{t−1}; taken as given
   * (e.g. 0 or 1/(1 − p)) and not differentiated. Omitted: no recurrent dropout.
   */
  recurrentMask?: tf.Tensor;
}

/** What {@link fusedSequence} returns (what `options.returns` asked for). */
export interface FusedResult {
  /** Every h_t, [batch, T, n] (returns 'all' or 'sequence'). */
  hs: tf.Tensor3D;
  /** The last h, [batch, n] (returns 'all' or 'last'). */
  hT: tf.Tensor2D;
  /** The last c (LSTM; returns 'all' or 'last'), [batch, n]. */
  cT?: tf.Tensor2D;
}

// ---- the kernels on this thread, and the helper threads

let arena: Arena | undefined;
let loadError: string | undefined;
/** Whether helper threads can load the kernels (Node.js). */
let helpersPossible = false;

/**
 * Load the kernels from given bytes (browsers; a relaxed-SIMD build is used only if it validates).
 * In Node.js there is no need: the first call loads the build from disk synchronously.
 */
export function loadFusedWasm(bytes: BufferSource, relaxedBytes?: BufferSource): void {
  const useRelaxed = relaxedBytes !== undefined && WebAssembly.validate(relaxedBytes);
  const chosen = useRelaxed ? relaxedBytes! : bytes;
  arena = new Arena(instantiate(chosen, '(bytes)'));
  helpersPossible = typeof process !== 'undefined' && !!process.versions?.node;
  loadError = undefined;
  stopHelpers();
}

function getArena(): Arena {
  if (arena) return arena;
  if (loadError) throw new FusedUnsupportedError(loadError);
  try {
    if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available');
    if (typeof process === 'undefined' || !process.versions?.node) {
      throw new Error('not in Node.js: call loadFusedWasm(bytes) first');
    }
    arena = new Arena(nodeLoad(nodeWasmPath()));
    helpersPossible = true;
    return arena;
  } catch (e) {
    loadError = `fused kernels unavailable: ${(e as Error).message}`;
    throw new FusedUnsupportedError(loadError);
  }
}

function getModule(): Module {
  return getArena().mod;
}

/** How the batch is shared out: the least work worth a split, and the fewest rows per shard. */
const threading = {
  /** Multiply-adds of a forward (T·b·G·n·(m+n)) below which a call stays on this thread. */
  minWork: Number(envOf('RNN_LAB_FUSED_MIN_WORK') ?? 2 ** 21),
  /** Fewest batch rows per shard. */
  minRows: Number(envOf('RNN_LAB_FUSED_MIN_ROWS') ?? 4),
};
/**
 * Threads in all (this one included) and why: chosen on first need (./quota.ts), not at import, so a
 * bad RNN_LAB_FUSED_THREADS is an error of the first call that uses the kernels (or of initBackend),
 * not of loading the library.
 */
let threadChoice: ThreadsChoice | undefined;
let helpers: Helper[] = [];
let helperError: string | undefined;

function envOf(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

/**
 * The fused kernels' thread count (this one included) and the reason for it: setFusedThreads, else
 * RNN_LAB_FUSED_THREADS, else the cgroup CPU quota, else one per core up to 8 (./quota.ts).
 * Throws a RangeError naming RNN_LAB_FUSED_THREADS when it is not an integer 1..64.
 */
export function fusedThreads(): ThreadsChoice {
  threadChoice ??= defaultFusedThreads();
  return { ...threadChoice };
}

function stopHelpers(): void {
  for (const h of helpers) void h.terminate();
  helpers = [];
}

/**
 * Set how many threads the fused kernels use (this one included; 1 = no helper threads), the smallest
 * call they split (`minWork`, in multiply-adds of its forward) and the fewest batch rows per thread
 * (`minRows`). Defaults: RNN_LAB_FUSED_THREADS (an integer 1..64; another value is an error), else the
 * container's CPU quota rounded down (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us`; 1.5 CPUs → 1 thread),
 * else one thread per core up to 8; 2²¹ multiply-adds (RNN_LAB_FUSED_MIN_WORK); 4 rows
 * (RNN_LAB_FUSED_MIN_ROWS). {@link fusedInfo} reports the count and why (`threads`, `threadsReason`).
 * @example setFusedThreads(1)   // everything on the calling thread
 */
export function setFusedThreads(threads: number, options: { minWork?: number; minRows?: number } = {}): void {
  checkOptions('setFusedThreads', options, ['minWork', 'minRows']);
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new RangeError(`setFusedThreads: threads must be an integer in 1..${MAX_THREADS}; got ${threads}`);
  if (options.minWork !== undefined && !(options.minWork >= 0)) throw new RangeError(`setFusedThreads: options.minWork must be a number ≥ 0; got ${options.minWork}`);
  if (options.minRows !== undefined && !(Number.isInteger(options.minRows) && options.minRows >= 1)) {
    throw new RangeError(`setFusedThreads: options.minRows must be an integer ≥ 1; got ${options.minRows}`);
  }
  threadChoice = { threads, reason: `setFusedThreads(${threads})` };
  if (options.minWork !== undefined) threading.minWork = options.minWork;
  if (options.minRows !== undefined) threading.minRows = options.minRows;
  if (helpers.length > threads - 1) {
    for (const h of helpers.splice(threads - 1)) void h.terminate();
  }
}

/**
 * After JavaScript was stopped in the middle of a fused call (the course kernel's second Interrupt), a
 * helper thread may still hold the request it was sent, and would refuse the next one: wait out each
 * such request. Returns what was done, or undefined when no helper was mid-call.
 */
export function settleFusedHelpers(): string | undefined {
  const pending = helpers.filter((h) => h.pending);
  for (const h of pending) h.settle();
  return pending.length > 0 ? `${pending.length} fused-kernel helper thread${pending.length === 1 ? '' : 's'} left mid-call, now settled` : undefined;
}

/** The helper threads for `k` shards (k − 1 of them), started on first need; fewer if they cannot start. */
function helpersFor(k: number): Helper[] {
  while (helpers.length < k - 1 && !helperError) {
    try {
      const path = require('path') as typeof import('path');
      // The helpers get the compiled module itself: the code V8 optimizes is shared, not recompiled
      // (a fresh compile runs unoptimized for the first dozens of calls).
      helpers.push(Helper.spawn(path.join(__dirname, 'worker.js'), arena!.mod.module));
    } catch (e) {
      helperError = (e as Error).message;   // e.g. no worker_threads: stay on one thread from now on
    }
  }
  return helpers.slice(0, k - 1);
}

/**
 * The call's batch shards, one per thread: contiguous rows, whole 4-row blocks where the batch allows.
 * Shard 0 is this thread's, prepared on `a` now (so an unsupported size fails before anything is on
 * the tape); each other shard gets its helper.
 */
function shardsOf(a: Arena, d: Dims, keep: boolean, lengths: Int32Array | null): Shard[] {
  const steps = lengths ? lengths.reduce((s, L) => s + L, 0) : d.T * d.b;   // real steps of the batch
  const work = steps * GATES[d.kind] * d.n * (d.m + d.n);
  let k = Math.min(fusedThreads().threads, Math.floor(d.b / threading.minRows));
  if (work < threading.minWork || !helpersPossible) k = 1;
  const pool = k > 1 ? helpersFor(k) : [];
  k = pool.length + 1;
  // Whole 4-row blocks per shard (the GEMM's micro-kernel height) where that keeps k shards.
  let per = Math.ceil(d.b / k);
  if (Math.ceil(d.b / (Math.ceil(per / 4) * 4)) === k) per = Math.ceil(per / 4) * 4;
  const shards: Shard[] = [];
  for (let b0 = 0; b0 < d.b; b0 += per) {
    const b1 = Math.min(d.b, b0 + per);
    shards.push({ b0, b1, dims: { ...d, b: b1 - b0 }, helper: shards.length > 0 ? pool[shards.length - 1] : undefined });
  }
  if (lengths) dealRows(shards, lengths);
  shards[0].local = a.prepare(shards[0].dims, keep);
  return shards;
}

/**
 * A ragged batch's rows among the shards (sizes kept): sorted by length, longest first, and dealt out
 * in blocks of 4 back and forth (0, 1, …, k−1, k−1, …, 0, 0, 1, …), so each shard gets about as many real
 * steps and its rows arrive longest first, as the kernels want them (each step computes a prefix of the
 * rows).
 */
function dealRows(shards: Shard[], lengths: Int32Array): void {
  const order = Array.from(lengths.keys()).sort((i, j) => lengths[j] - lengths[i] || i - j);
  const lists: number[][] = shards.map(() => []);
  const k = shards.length;
  let s = 0, dir = 1;
  const advance = () => {
    s += dir;
    if (s === k) { s = k - 1; dir = -1; }
    if (s < 0) { s = 0; dir = 1; }
  };
  // Blocks of 4 rows (the GEMM micro-kernel's height): a shard's active rows at a step are then whole
  // blocks but for one tail, where single rows dealt in turn leave a part-filled block in every shard.
  for (let i = 0; i < order.length; ) {
    while (lists[s].length >= shards[s].b1 - shards[s].b0) advance();
    const room = shards[s].b1 - shards[s].b0 - lists[s].length;
    for (let j = 0; j < Math.min(4, room) && i < order.length; j++) lists[s].push(order[i++]);
    advance();
  }
  shards.forEach((sh, i) => {
    sh.rows = Int32Array.from(lists[i]);
    sh.lengths = sh.rows.map((r) => lengths[r]);
  });
}

/** Whether the fused kernels load here (without throwing). */
export function fusedAvailable(): boolean {
  try {
    getModule();
    return true;
  } catch {
    return false;
  }
}

/**
 * Which build is loaded, the wasm memory of every thread's arena (bytes), the threading settings and
 * the helpers started. `threads` is the thread count (this one included) and `threadsReason` why, e.g.
 * `'RNN_LAB_FUSED_THREADS=2'`, `'cgroup v2 cpu.max 150000 100000 → 1.5 CPUs'`, `'availableParallelism 2'`
 * or `'setFusedThreads(1)'`. `kernelMs`: milliseconds this thread has spent in fused-kernel forward and
 * backward calls since the library loaded (waiting for helper threads included), so a caller can take the
 * share of a run's time spent outside the recurrent kernels (`npm run bench` does). Throws FusedUnsupportedError where the kernels do not load, and a RangeError
 * for a bad RNN_LAB_FUSED_THREADS.
 * @example fusedInfo().threads   // 1 in a pod with a 1.5-CPU quota
 */
export function fusedInfo(): {
  path: string; relaxedSimd: boolean; memoryBytes: number; threads: number; threadsReason: string; minWork: number; minRows: number;
  helperThreads: number; helperError?: string; kernelMs: number;
} {
  const a = getArena();
  const bytes = a.memoryBytes() + helpers.reduce((s, h) => s + h.memoryBytes(), 0);
  const { threads, reason } = fusedThreads();
  return { path: a.mod.path, relaxedSimd: a.mod.relaxed, memoryBytes: bytes, threads, threadsReason: reason, ...threading, helperThreads: helpers.length,
    ...(helperError ? { helperError } : {}), kernelMs };
}

/** The kernels' flags for a configuration (the family's CellFamily.fused.flags), or −1 when they cannot compute it. */
function flagsOf(kind: CellKind, o: FusedOptions): number {
  return cellFamily(kind, 'fused').fused?.flags(o) ?? -1;
}

/** Nested gradient tapes: the hand-written backward is not itself differentiable. */
function nestedTapes(): boolean {
  return gradientDepth() > 1;
}

function shapeStr(t: tf.Tensor | undefined): string {
  return t ? shapeText(t.shape) : 'undefined';
}

/**
 * Why the fused path cannot run this configuration, or null when it can. Check this (or catch
 * {@link FusedUnsupportedError}) and fall back to the tf.js ops path.
 */
export function fusedSupport(kind: CellKind, options: FusedOptions = {}, x?: tf.Tensor): string | null {
  const family = findCell(kind);
  if (!family) return `fused: unknown cell kind '${kind}'`;
  if (!family.fused) return `fused: the '${kind}' cell has no fused kernel (its CellFamily has no fused entry); it runs the reference step loop`;
  const flags = flagsOf(kind, options);
  if (flags < 0) {
    return options.recurrentActivation !== undefined && (!readsOption(family, 'recurrentActivation') || !['sigmoid', 'hardSigmoid'].includes(options.recurrentActivation))
      ? `fused: unsupported recurrentActivation '${options.recurrentActivation}' for ${kind}`
      : `fused: unsupported activation '${options.activation}'`;
  }
  if (readsOption(family, 'update') && options.update !== undefined && !['z-keeps-old', 'z-takes-new'].includes(options.update)) {
    return `fused: unsupported GRU update '${options.update}'`;
  }
  if (x && x.dtype !== 'float32') return `fused: x must be float32; got ${x.dtype}`;
  if (nestedTapes()) return 'fused: higher-order gradients (nested tf.grads) need the tf.js ops path';
  if (x && x.rank !== 3) return `fused: x must be [batch, time, features]; got ${shapeStr(x)}`;
  try {
    getModule();
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

/** One batch shard of a call: its rows, its sizes, and where its saved activations are. */
interface Shard {
  b0: number;
  b1: number;
  /** Ragged calls: the caller's rows this shard computes (in place of b0..b1), longest first, and their lengths. */
  rows?: Int32Array;
  lengths?: Int32Array;
  dims: Dims;
  /** This thread's call (shard 0) … */
  local?: Call;
  /** … or a helper and the token of its call. */
  helper?: Helper;
  token?: object;
}

/**
 * One recurrent layer direction over a whole sequence, fused: x [b, T, m] with kernel [m, G·n],
 * recurrentKernel [n, G·n], bias [G·n] (gate order and layout as the library stores them), initial
 * states h0 (and c0 for the LSTM) [b, n] (zeros if omitted). Differentiable with respect to every
 * tensor input via the hand-written BPTT. With `options.lengths` (a ragged batch, padded at the end:
 * PyTorch's packed-sequence semantics, see {@link FusedOptions.lengths}) the kernels compute only the real
 * steps. Throws {@link FusedUnsupportedError} when it cannot run; bad lengths are a RangeError naming
 * `options.lengths` and the row (src/lengths.ts checkLengths).
 */
export function fusedSequence(kind: CellKind, x: tf.Tensor, kernel: tf.Tensor, recurrentKernel: tf.Tensor, bias: tf.Tensor,
  h0?: tf.Tensor | null, c0?: tf.Tensor | null, options: FusedOptions = {}): FusedResult {
  checkOptions('fusedSequence', options, ['activation', 'resetAfter', 'update', 'recurrentActivation', 'recurrentBias', 'returns', 'lengths', 'recurrentMask']);
  const why = fusedSupport(kind, options, x);
  if (why) throw new FusedUnsupportedError(why);
  // Lengths all T are no lengths: the unmasked path, bit for bit.
  let lengths = options.lengths == null ? null : checkLengths('fusedSequence', 'options.lengths', options.lengths, x.shape[0]!, x.shape[1]!);
  if (lengths && allFull(lengths, x.shape[1]!)) lengths = null;
  const a = getArena();
  const family = cellFamily(kind, 'fusedSequence');
  const [b, T, mIn] = x.shape as [number, number, number];
  const G = family.gates.length;
  const n = recurrentKernel.shape[0];
  const Gn = G * n;
  const hasC = family.hasCell;
  const resetAfter = hasRecurrentBias(family, cellDefaults(options));
  const bad = (what: string, t: tf.Tensor | undefined, want: string) => new Error(`fusedSequence(${kind}): ${what} must be ${want}; got ${shapeStr(t)}`);
  if (T < 1 || b < 1) throw new Error(`fusedSequence(${kind}): x needs at least one batch row and one step; got ${shapeStr(x)}`);
  if (kernel.rank !== 2 || kernel.shape[0] !== mIn || kernel.shape[1] !== Gn) throw bad('kernel', kernel, `[${mIn}, ${Gn}]`);
  if (recurrentKernel.rank !== 2 || recurrentKernel.shape[1] !== Gn) throw bad('recurrentKernel', recurrentKernel, `[${n}, ${Gn}]`);
  if (bias.rank !== 1 || bias.shape[0] !== Gn) throw bad('bias', bias, `[${Gn}]`);
  if (h0 && (h0.rank !== 2 || h0.shape[0] !== b || h0.shape[1] !== n)) throw bad('h0', h0, `[${b}, ${n}]`);
  if (c0 && !hasC) throw new Error(`fusedSequence(${kind}): c0 is for the LSTM only`);
  if (c0 && (c0.rank !== 2 || c0.shape[0] !== b || c0.shape[1] !== n)) throw bad('c0', c0, `[${b}, ${n}]`);
  const rb = options.recurrentBias;
  if (resetAfter && (!rb || rb.rank !== 1 || rb.shape[0] !== Gn)) throw bad('options.recurrentBias (GRU resetAfter)', rb, `[${Gn}]`);
  if (!resetAfter && rb) throw new Error(`fusedSequence(${kind}): options.recurrentBias is for the GRU with resetAfter only`);
  const rm = options.recurrentMask;
  if (rm !== undefined && (!(rm instanceof tf.Tensor) || rm.rank !== 2 || rm.shape[0] !== b || rm.shape[1] !== n)) throw bad('options.recurrentMask', rm instanceof tf.Tensor ? rm : undefined, `[${b}, ${n}]`);

  const returns = options.returns ?? 'all';
  if (!(returns in RETURNS)) throw new Error(`fusedSequence(${kind}): options.returns must be 'all', 'sequence' or 'last'; got '${returns}'`);
  const dims: Dims = { kind, code: family.fused!.code, flags: flagsOf(kind, options), T, b, m: mIn, n, returns: RETURNS[returns], ragged: lengths !== null, ...(rm ? { masked: true } : {}) };
  const mask = rm ? data(rm) : null;                                                   // [b, n] recurrent dropout, a constant
  const keep = isTapeOn();
  const shards = shardsOf(a, dims, keep, lengths);

  return tf.tidy(() => {
    const inputs: tf.Tensor[] = [x, kernel, recurrentKernel, bias, h0 ?? tf.zeros([b, n])];
    if (hasC) inputs.push(c0 ?? tf.zeros([b, n]));
    if (resetAfter) inputs.push(rb!);
    const fn = (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      args.pop();   // tf's save(): the activations stay in the arenas instead
      const value = tf.tensor3d(runForward(a, dims, shards, (args as tf.Tensor[]).map(data), keep, mask), [b, outRows(dims), n]);   // [b, rows, n] (Dims.returns)
      const gradFunc = (dy: tf.Tensor) => gradTensors(dims, runBackward(a, dims, shards, data(dy)));
      return { value, gradFunc };
    };
    const op = tf.customGrad(fn as unknown as Parameters<typeof tf.customGrad>[0]);
    const y = op(...inputs);
    // (A slice on the WASM backend copies its whole input: only 'all' slices a [b, T+1, n] tensor.)
    if (returns === 'sequence') return { hs: y } as unknown as tf.TensorContainer;       // [b, T, n]
    const out: Partial<FusedResult> = {};
    // y: [b, 1(+1), n], or [b, T(+1), n], or ragged [b, T+1(+1), n] with each row's own last h (and c) after h_1..h_T
    const at = returns === 'last' ? 0 : lengths ? T : T - 1;
    if (returns === 'all') out.hs = tf.slice(y, [0, 0, 0], [b, T, n]) as tf.Tensor3D;
    out.hT = tf.reshape(tf.slice(y, [0, at, 0], [b, 1, n]), [b, n]) as tf.Tensor2D;
    if (hasC) out.cT = tf.reshape(tf.slice(y, [0, at + 1, 0], [b, 1, n]), [b, n]) as tf.Tensor2D;
    return out as unknown as tf.TensorContainer;
  }) as unknown as FusedResult;
}

function data(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** The sub-array of batch rows [b0, b1) of a batch-major array with `per` floats per row. */
const rowsOf = (arr: Float32Array, per: number, s: { b0: number; b1: number }) => arr.subarray(s.b0 * per, s.b1 * per);

/** A shard's rows of a batch-major array: a view for a contiguous shard, a gathered copy for a ragged one. */
function shardRows(arr: Float32Array, per: number, s: Shard): Float32Array {
  if (!s.rows) return rowsOf(arr, per, s);
  const out = new Float32Array(s.rows.length * per);
  s.rows.forEach((r, i) => out.set(arr.subarray(r * per, (r + 1) * per), i * per));
  return out;
}

/** Where a shard writes its rows of a batch-major result: a view, or a buffer that {@link scatterRows} puts in place. */
function shardOut(arr: Float32Array, per: number, s: Shard): Float32Array {
  return s.rows ? new Float32Array(s.rows.length * per) : rowsOf(arr, per, s);
}

function scatterRows(src: Float32Array, arr: Float32Array, per: number, s: Shard): void {
  if (s.rows) s.rows.forEach((r, i) => arr.set(src.subarray(i * per, (i + 1) * per), r * per));
}

/**
 * The forward of every shard, on arrays: `arrays` = x, K, U, Bx, h0 (then c0 for the LSTM, then Bh for
 * the GRU with resetAfter), batch-major as the tensors are. Returns the output [b, rows, n] (Dims.returns).
 */
function runForward(a: Arena, dims: Dims, shards: Shard[], arrays: Float32Array[], keep: boolean, mask: Float32Array | null = null): Float32Array {
  const t0 = performance.now();
  try {
    return forwardShards(a, dims, shards, arrays, keep, mask);
  } finally {
    kernelMs += performance.now() - t0;
  }
}

/** Milliseconds this thread spent in fused-kernel calls (see {@link fusedInfo}). */
let kernelMs = 0;

function forwardShards(a: Arena, dims: Dims, shards: Shard[], arrays: Float32Array[], keep: boolean, mask: Float32Array | null): Float32Array {
  const { T, b, m, n } = dims;
  const hasC = kernelHasCell(dims);
  const [x, K, U, Bx, h0] = arrays;
  const c0 = hasC ? arrays[5] : undefined;
  const Bh = kernelHasRecurrentBias(dims) ? arrays[hasC ? 6 : 5] : undefined;
  const rows = outRows(dims);
  const out = new Float32Array(b * rows * n);
  const inputsOf = (s: Shard): ForwardIn => {
    const inp: ForwardIn = { x: shardRows(x, T * m, s), K, U, Bx, h0: shardRows(h0, n, s) };
    if (Bh) inp.Bh = Bh;
    if (c0) inp.c0 = shardRows(c0, n, s);
    if (s.lengths) inp.L = s.lengths;
    if (mask) inp.M = shardRows(mask, n, s);                          // the shard's rows, in its order
    return inp;
  };
  try {
    // The helpers start first and work while this thread computes shard 0.
    for (let i = 1; i < shards.length; i++) shards[i].token = shards[i].helper!.startForward(shards[i].dims, keep, inputsOf(shards[i]));
    const own = shardOut(out, rows * n, shards[0]);
    a.forward(shards[0].local!, inputsOf(shards[0]), own);
    scatterRows(own, out, rows * n, shards[0]);
    for (let i = 1; i < shards.length; i++) {
      const part = shardOut(out, rows * n, shards[i]);
      shards[i].helper!.finishForward(part);
      scatterRows(part, out, rows * n, shards[i]);
    }
  } finally {
    for (const s of shards) s.helper?.settle();
  }
  return out;
}

/** The weight gradients of a backward, written into given arrays (each the size of its weight). */
export interface WeightGrads { dK: Float32Array; dU: Float32Array; dB: Float32Array; dBh?: Float32Array }

/**
 * The backward of every shard, on arrays: g is the output's gradient [b, rows, n]. The weight
 * gradients are summed over the shards into `into` when given (overwritten, not added to), else into
 * new arrays.
 */
function runBackward(a: Arena, dims: Dims, shards: Shard[], g: Float32Array, into?: WeightGrads): BackwardOut {
  const t0 = performance.now();
  try {
    return backwardShards(a, dims, shards, g, into);
  } finally {
    kernelMs += performance.now() - t0;
  }
}

function backwardShards(a: Arena, dims: Dims, shards: Shard[], g: Float32Array, into?: WeightGrads): BackwardOut {
  const { T, b, m, n } = dims;
  const Gn = GATES[dims.kind] * n;
  const hasC = kernelHasCell(dims);
  const resetAfter = kernelHasRecurrentBias(dims);
  const rows = outRows(dims);
  const full = {
    dx: new Float32Array(b * T * m), dh0: new Float32Array(b * n), dc0: hasC ? new Float32Array(b * n) : undefined,
    dK: into?.dK ?? new Float32Array(m * Gn), dU: into?.dU ?? new Float32Array(n * Gn), dB: into?.dB ?? new Float32Array(Gn),
    dBh: resetAfter ? into?.dBh ?? new Float32Array(Gn) : undefined,
  };
  const rowParts = (s: Shard) => ({ dx: shardOut(full.dx, T * m, s), dh0: shardOut(full.dh0, n, s), dc0: full.dc0 ? shardOut(full.dc0, n, s) : undefined });
  const scatterParts = (p: ReturnType<typeof rowParts>, s: Shard) => {
    scatterRows(p.dx, full.dx, T * m, s);
    scatterRows(p.dh0, full.dh0, n, s);
    if (p.dc0) scatterRows(p.dc0, full.dc0!, n, s);
  };
  try {
    for (let i = 1; i < shards.length; i++) shards[i].helper!.startBackward(shards[i].token!, shards[i].dims, shardRows(g, rows * n, shards[i]));
    const own = rowParts(shards[0]);
    const out: BackwardOut = { ...own, dK: full.dK, dU: full.dU, dB: full.dB, dBh: full.dBh } as BackwardOut;
    a.backward(shards[0].local!, shardRows(g, rows * n, shards[0]), out);
    scatterParts(own, shards[0]);
    const sums = { dK: full.dK, dU: full.dU, dB: full.dB, dBh: full.dBh };
    for (let i = 1; i < shards.length; i++) {
      const part = rowParts(shards[i]);
      shards[i].helper!.finishBackward(part, sums);
      scatterParts(part, shards[i]);
    }
  } finally {
    for (const s of shards) s.helper?.settle();
  }
  return full;
}

/** A backward's arrays as the op's input gradients, in the op's input order. */
function gradTensors(dims: Dims, full: BackwardOut): tf.Tensor[] {
  const { T, b, m, n } = dims;
  const Gn = GATES[dims.kind] * n;
  const grads: tf.Tensor[] = [
    tf.tensor3d(full.dx, [b, T, m]),
    tf.tensor2d(full.dK, [m, Gn]),
    tf.tensor2d(full.dU, [n, Gn]),
    tf.tensor1d(full.dB),
    tf.tensor2d(full.dh0, [b, n]),
  ];
  if (full.dc0) grads.push(tf.tensor2d(full.dc0, [b, n]));
  if (full.dBh) grads.push(tf.tensor1d(full.dBh));
  return grads;
}

/**
 * One layer direction's fused call on plain arrays, for callers that drive the kernels without tf.js
 * (the fused training step, ./train-step.ts): sized and checked when made, then one forward and one
 * backward. The batch is sharded over the threads as {@link fusedSequence} does. Internal.
 */
export class ArrayCall {
  readonly dims: Dims;
  private readonly arena: Arena;
  private readonly shards: Shard[];

  /**
   * @param options the layer's cell options (activation, resetAfter, update, recurrentActivation)
   * @param returns 'sequence' ([b, T, n]) or 'last' ([b, 1(+1), n]: h then c for the LSTM)
   * @param lengths the rows' lengths (null: every row has T steps)
   * @param mask recurrent dropout's mask [b, n] (h_{t−1} ⊙ M in the recurrent matmul, as {@link FusedOptions.recurrentMask}); null: none
   */
  constructor(kind: CellKind, options: CellOptions, size: { b: number; T: number; m: number; n: number }, returns: 'sequence' | 'last', lengths: Int32Array | null,
    private readonly mask: Float32Array | null = null) {
    const why = fusedSupport(kind, options);
    if (why) throw new FusedUnsupportedError(why);
    if (mask && mask.length !== size.b * size.n) throw new Error(`ArrayCall: the recurrent mask must have ${size.b}×${size.n} entries; got ${mask.length}`);
    this.arena = getArena();
    const family = cellFamily(kind, 'ArrayCall');
    this.dims = { kind, code: family.fused!.code, flags: flagsOf(kind, options), ...size, returns: RETURNS[returns], ragged: lengths !== null, ...(mask ? { masked: true } : {}) };
    this.shards = shardsOf(this.arena, this.dims, true, lengths);
  }

  /** Rows per batch entry of the output. */
  get rows(): number {
    return outRows(this.dims);
  }

  /** x [b, T, m], K [m, G·n], U [n, G·n], Bx [G·n], h0 [b, n], then c0 (LSTM), then Bh (GRU resetAfter) → the output [b, rows, n]. */
  forward(arrays: Float32Array[]): Float32Array {
    return runForward(this.arena, this.dims, this.shards, arrays, true, this.mask);
  }

  /** g [b, rows, n], the output's gradient → dx [b, T, m], dh0 (and dc0) [b, n]; the weight gradients go into `into`. */
  backward(g: Float32Array, into: WeightGrads): BackwardOut {
    return runBackward(this.arena, this.dims, this.shards, g, into);
  }
}

/**
 * `count` float32 arrays of `size` elements in a kernel instance of their own, for the fused training
 * step's weights, gradient and optimizer slots, and the optimizer updates on them (asm/optimizer.ts:
 * tf.js 4.22's, op for op in float32). The memory is grown once, here, so the views stay valid; it goes
 * with this object. Array 0 is θ, 1 the gradient, 2… the optimizer's slots. Internal.
 */
export class UpdateArrays {
  readonly arrays: Float32Array[];
  private readonly at: number[];
  private readonly e: Arena['mod']['exports'];

  constructor(readonly size: number, count: number) {
    const arena = new Arena(instantiate(getArena().mod.module, '(optimizer)'));
    const stride = Math.ceil(size / 16) * 16;
    const f = arena.reserve(stride * count);
    const o = arena.mod.base;
    this.e = arena.mod.exports;
    this.at = Array.from({ length: count }, (_, i) => (o + i * stride) * 4);
    this.arrays = this.at.map((p) => new Float32Array(f.buffer, p, size));
  }

  /** θ ← c·g + θ (tf.train.sgd; c = −lr). */
  sgd(c: number): void {
    this.e.sgdUpdate(this.size, this.at[0], this.at[1], c);
  }

  /** a ← m·a + g; θ ← c·a + θ (tf.train.momentum; slot 2 is a). */
  momentum(m: number, c: number): void {
    this.e.momentumUpdate(this.size, this.at[0], this.at[1], this.at[2], m, c);
  }

  /** s ← s·ρ + g²·(1 − ρ); θ ← θ − g·lr / √(s + ε) (tf.train.rmsprop, momentum 0; slot 2 is s). */
  rmsprop(rho: number, omr: number, lr: number, eps: number): void {
    this.e.rmspropUpdate(this.size, this.at[0], this.at[1], this.at[2], rho, omr, lr, eps);
  }

  /** tf.train.adam's update (slots 2 and 3 are m and v; c1, c2 = 1 − β^t; nlr = −lr). */
  adam(b1: number, omb1: number, b2: number, omb2: number, c1: number, c2: number, eps: number, nlr: number): void {
    this.e.adamUpdate(this.size, this.at[0], this.at[1], this.at[2], this.at[3], b1, omb1, b2, omb2, c1, c2, eps, nlr);
  }
}

/** The head's GEMMs run on an instance (and arena) of their own, so they never evict a layer's saved activations. */
let headArena: Arena | undefined;

/**
 * C = A·B for the fused training step's dense head, with the kernels' packed GEMM: 'nn' A [M, K], B [K, N];
 * 'tn' A stored [K, M] (Aᵀ is used); 'nt' B stored [N, K] (Bᵀ is used). Returns C [M, N]. Internal.
 */
export function headMatmul(A: Float32Array, M: number, K: number, B: Float32Array, N: number, mode: 'nn' | 'tn' | 'nt'): Float32Array {
  headArena ??= new Arena(instantiate(getArena().mod.module, '(head)'));
  const hm = headArena.mod;
  const e = hm.exports;
  const pad = (f: number) => Math.ceil(f / 16) * 16;
  // B packed in 8-column panels (asm/gemm.ts packedFloats), with room to spare.
  const aAt = 0, bAt = aAt + pad(M * K), pAt = bAt + pad(K * N), cAt = pAt + pad(Math.ceil(N / 16) * 16 * K + 64);
  const f = headArena.reserve(cAt + pad(M * N)), o = hm.base;
  f.set(A, o + aAt);
  f.set(B, o + bAt);
  const P = (at: number) => (o + at) * 4;
  const [ars, aks] = mode === 'tn' ? [1, M] : [K, 1];
  const [ks, js] = mode === 'nt' ? [1, K] : [N, 1];
  e.packB(P(bAt), ks, js, K, N, P(pAt));
  e.gemm(M, N, K, P(aAt), ars, aks, P(pAt), P(cAt), N, 0);
  return f.slice(o + cAt, o + cAt + M * N);
}

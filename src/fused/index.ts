/**
 * Fused recurrent layers: one layer's whole sequence (all T steps) as a single tf.js op, computed in
 * WebAssembly with SIMD (asm/recurrent.ts), with a hand-written BPTT backward plugged in through
 * `tf.customGrad`, so `tf.grads`, `tf.variableGrads` and training go through it unchanged.
 *
 * The wasm module keeps one linear-memory arena that grows to the largest call seen and is reused:
 * each call lays out its inputs, saved activations and work buffers in it. The activations a
 * backward needs stay in the arena; only when another fused call needs the arena first (stacked or
 * bidirectional layers) are they copied out to a JS array, and copied back for the backward.
 *
 * @example
 * ```ts
 * const { hs, hT, cT } = fusedSequence('lstm', x, kernel, recurrentKernel, bias, h0, c0);
 * const grads = tf.grads((k) => tf.sum(fusedSequence('lstm', x, k, rk, b, h0, c0).hT))([kernel]);
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { CellKind, CellOptions } from '../family';

/** Options of {@link fusedSequence}: the cell options, plus GRU resetAfter's recurrent bias. */
export interface FusedOptions extends CellOptions {
  /** GRU with resetAfter: b_hh [G·n]. Required then, not allowed otherwise. */
  recurrentBias?: tf.Tensor;
}

/** What {@link fusedSequence} returns. */
export interface FusedResult {
  /** Every h_t, [batch, T, n]. */
  hs: tf.Tensor3D;
  /** The last h, [batch, n]. */
  hT: tf.Tensor2D;
  /** The last c (LSTM), [batch, n]. */
  cT?: tf.Tensor2D;
}

/** Thrown by {@link fusedSequence} for a configuration it does not handle; fall back to the tf.js ops path. */
export class FusedUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FusedUnsupportedError';
  }
}

interface Exports {
  memory: WebAssembly.Memory;
  arenaBase(): number;
  relaxedSimd(): number;
  check(kind: number, flags: number, T: number, b: number, m: number, n: number): number;
  forwardWorkFloats(kind: number, flags: number, T: number, b: number, m: number, n: number): number;
  backwardWorkFloats(kind: number, flags: number, T: number, b: number, m: number, n: number): number;
  swapAxes(src: number, dst: number, A: number, B: number, w: number): void;
  packOutput(H: number, C: number, T: number, b: number, n: number, dst: number): void;
  unpackGrad(src: number, hasC: number, T: number, b: number, n: number, DH: number): void;
  forward(kind: number, flags: number, T: number, b: number, m: number, n: number, X: number, K: number, U: number,
    Bx: number, Bh: number, H: number, C: number, Gs: number, S: number, W: number): void;
  backward(kind: number, flags: number, T: number, b: number, m: number, n: number, X: number, K: number, U: number,
    H: number, C: number, Gs: number, S: number, DH: number, dX: number, dK: number, dU: number, dB: number,
    dBh: number, dC0: number, W: number): void;
}

const KIND_CODE: Record<CellKind, number> = { rnn: 0, lstm: 1, gru: 2 };
const GATES: Record<CellKind, number> = { rnn: 1, lstm: 4, gru: 3 };
const ACT_CODE: Record<string, number> = { tanh: 0, relu: 1, sigmoid: 2, linear: 3 };
const RESET_AFTER = 4;
const Z_TAKES_NEW = 8;
const MAX_BYTES = 2 ** 31;   // stay well inside wasm32's 4 GiB

interface Module {
  exports: Exports;
  path: string;
  relaxed: boolean;
  /** Arena start, in floats. */
  base: number;
  f32: Float32Array;
}

let mod: Module | undefined;
let loadError: string | undefined;

function instantiate(bytes: BufferSource, where: string): Module {
  const m = new WebAssembly.Module(bytes);
  const inst = new WebAssembly.Instance(m, { env: { abort: () => { throw new Error('fused: wasm abort'); } } });
  const exports = inst.exports as unknown as Exports;
  return { exports, path: where, relaxed: exports.relaxedSimd() === 1, base: exports.arenaBase() / 4, f32: new Float32Array(exports.memory.buffer) };
}

/**
 * Load the kernels from given bytes (browsers; a relaxed-SIMD build is used only if it validates).
 * In Node.js there is no need: the first call loads recurrent.wasm from disk synchronously.
 */
export function loadFusedWasm(bytes: BufferSource, relaxedBytes?: BufferSource): void {
  const useRelaxed = relaxedBytes !== undefined && WebAssembly.validate(relaxedBytes);
  mod = instantiate(useRelaxed ? relaxedBytes! : bytes, '(bytes)');
  loadError = undefined;
  occupant = null;
}

function nodeLoad(): Module {
  /* eslint-disable @typescript-eslint/no-var-requires */
  const fs = require('fs') as typeof import('fs');
  const path = require('path') as typeof import('path');
  const dirs = [__dirname, path.join(__dirname, '..', '..', 'src', 'fused')];
  const find = (file: string) => dirs.map((d) => path.join(d, file)).find((p) => fs.existsSync(p));
  const plain = find('recurrent.wasm');
  if (!plain) throw new Error(`recurrent.wasm not found in ${dirs.join(' or ')}; run \`npm run build:wasm\``);
  // Relaxed SIMD (f32x4.relaxed_madd → a hardware FMA) is used when this engine validates it (V8 ≥ 11.4,
  // Node ≥ 22). RNN_LAB_FUSED_RELAXED=0 never uses it; =force first turns on V8's flag for it (Node 20's
  // V8 11.3 has it behind --experimental-wasm-relaxed-simd).
  const mode = process.env.RNN_LAB_FUSED_RELAXED ?? 'auto';
  const relaxed = mode === '0' ? undefined : find('recurrent-relaxed.wasm');
  if (relaxed) {
    const bytes = fs.readFileSync(relaxed);
    if (!WebAssembly.validate(bytes) && mode === 'force') {
      try {
        (require('v8') as typeof import('v8')).setFlagsFromString('--experimental-wasm-relaxed-simd');
      } catch {
        /* an engine without the flag: plain SIMD below */
      }
    }
    if (WebAssembly.validate(bytes)) return instantiate(bytes, relaxed);
  }
  return instantiate(fs.readFileSync(plain), plain);
}

function getModule(): Module {
  if (mod) return mod;
  if (loadError) throw new FusedUnsupportedError(loadError);
  try {
    if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available');
    if (typeof process === 'undefined' || !process.versions?.node) {
      throw new Error('not in Node.js: call loadFusedWasm(bytes) first');
    }
    mod = nodeLoad();
    return mod;
  } catch (e) {
    loadError = `fused kernels unavailable: ${(e as Error).message}`;
    throw new FusedUnsupportedError(loadError);
  }
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

/** Which build is loaded and how big its memory is (for tests and diagnostics). */
export function fusedInfo(): { path: string; relaxedSimd: boolean; memoryBytes: number } {
  const m = getModule();
  return { path: m.path, relaxedSimd: m.relaxed, memoryBytes: m.exports.memory.buffer.byteLength };
}

function flagsOf(kind: CellKind, o: FusedOptions): number {
  if (kind === 'rnn') return ACT_CODE[o.activation ?? 'tanh'] ?? -1;
  if (kind === 'gru') return (o.resetAfter ? RESET_AFTER : 0) | ((o.update ?? 'z-keeps-old') === 'z-takes-new' ? Z_TAKES_NEW : 0);
  return 0;
}

// ---- arena layout (in floats, relative to the arena base)

interface Dims { kind: CellKind; code: number; flags: number; T: number; b: number; m: number; n: number }

interface Layout {
  X: number; K: number; U: number; Bx: number; Bh: number; H: number; C: number; Gs: number; S: number;
  /** End of what the backward needs from the forward: [0, saved) is copied out on eviction. */
  saved: number;
  fwdWork: number; fwdEnd: number;
  DH: number; dX: number; dK: number; dU: number; dB: number; dBh: number; dC0: number; bwdWork: number;
  /** Staging for permutations in and out (≥ the largest of x, dy, dx, output). */
  stage: number;
  total: number;
}

const pad16 = (f: number) => Math.ceil(f / 16) * 16;

function layoutOf(e: Exports, d: Dims): Layout {
  const { T, b, m, n } = d;
  const Gn = GATES[d.kind] * n;
  const rows = T * b;
  let at = 0;
  const take = (f: number) => { const p = at; at += pad16(f); return p; };
  const X = take(rows * m), K = take(m * Gn), U = take(n * Gn), Bx = take(Gn);
  const Bh = take(d.kind === 'gru' && d.flags & RESET_AFTER ? Gn : 0);
  const H = take((T + 1) * b * n);
  const C = take(d.kind === 'lstm' ? (T + 1) * b * n : 0);
  const Gs = take(rows * Gn);
  const S = take(d.kind === 'rnn' ? 0 : rows * n);
  const saved = at;
  // The forward's work and the backward's buffers overlap: they are never live together.
  const fwdWork = take(e.forwardWorkFloats(d.code, d.flags, T, b, m, n));
  const fwdEnd = at;
  at = saved;
  const DH = take((T + 2) * b * n), dX = take(rows * m), dK = take(m * Gn), dU = take(n * Gn), dB = take(Gn), dBh = take(Gn), dC0 = take(b * n);
  const bwdWork = take(e.backwardWorkFloats(d.code, d.flags, T, b, m, n));
  at = Math.max(at, fwdEnd);
  const stage = take(Math.max(rows * m, (T + 1) * b * n));
  return { X, K, U, Bx, Bh, H, C, Gs, S, saved, fwdWork, fwdEnd, DH, dX, dK, dU, dB, dBh, dC0, bwdWork, stage, total: at };
}

/** One forward call whose backward may still come. */
interface Call {
  dims: Dims;
  layout: Layout;
  /** Where the saved activations are: in the arena, copied out, or gone (backward done / not needed). */
  state: 'arena' | 'evicted' | 'done';
  copy: Float32Array | null;
}

/** The call whose saved activations are in the arena now. */
let occupant: Call | null = null;

function ensure(m: Module, floats: number): void {
  const need = (m.base + floats) * 4;
  if (need > MAX_BYTES) throw new FusedUnsupportedError(`fused: the sequence needs ${(need / 2 ** 20).toFixed(0)} MiB of wasm memory (limit ${MAX_BYTES / 2 ** 20} MiB)`);
  const mem = m.exports.memory;
  if (need > mem.buffer.byteLength) {
    // Grow once to the need (+1/8 headroom so slowly varying shapes don't grow it every call).
    const want = Math.min(MAX_BYTES, need + (need >> 3));
    try {
      mem.grow(Math.ceil((want - mem.buffer.byteLength) / 65536));
    } catch (e) {
      throw new FusedUnsupportedError(`fused: could not grow the wasm memory to ${(want / 2 ** 20).toFixed(0)} MiB (${(e as Error).message})`);
    }
  }
  if (m.f32.buffer !== mem.buffer) m.f32 = new Float32Array(mem.buffer);
}

/** Make the arena ours: copy out the occupant's saved activations if its backward may still come. */
function claim(m: Module, call: Call | null): void {
  if (occupant && occupant !== call && occupant.state === 'arena') {
    occupant.copy = m.f32.slice(m.base, m.base + occupant.layout.saved);
    occupant.state = 'evicted';
  }
  occupant = call;
}

/** Nested gradient tapes: the hand-written backward is not itself differentiable. */
function nestedTapes(): boolean {
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state;
  return (state?.gradientDepth ?? 0) > 1;
}

function isTapeOn(): boolean {
  const engine = tf.engine() as unknown as { isTapeOn?: () => boolean };
  return typeof engine.isTapeOn === 'function' ? engine.isTapeOn() : true;
}

function shapeStr(t: tf.Tensor | undefined): string {
  return t ? `[${t.shape.join(', ')}]` : 'undefined';
}

/**
 * Why the fused path cannot run this configuration, or null when it can. Check this (or catch
 * {@link FusedUnsupportedError}) and fall back to the tf.js ops path.
 */
export function fusedSupport(kind: CellKind, options: FusedOptions = {}, x?: tf.Tensor): string | null {
  if (!(kind in KIND_CODE)) return `fused: unknown cell kind '${kind}'`;
  const flags = flagsOf(kind, options);
  if (flags < 0) return `fused: unsupported activation '${options.activation}'`;
  if (kind === 'gru' && options.update !== undefined && !['z-keeps-old', 'z-takes-new'].includes(options.update)) {
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

/**
 * One recurrent layer direction over a whole sequence, fused: x [b, T, m] with kernel [m, G·n],
 * recurrentKernel [n, G·n], bias [G·n] (gate order and layout as the library stores them), initial
 * states h0 (and c0 for the LSTM) [b, n] (zeros if omitted). Differentiable with respect to every
 * tensor input via the hand-written BPTT. Throws {@link FusedUnsupportedError} when it cannot run.
 */
export function fusedSequence(kind: CellKind, x: tf.Tensor, kernel: tf.Tensor, recurrentKernel: tf.Tensor, bias: tf.Tensor,
  h0?: tf.Tensor | null, c0?: tf.Tensor | null, options: FusedOptions = {}): FusedResult {
  const why = fusedSupport(kind, options, x);
  if (why) throw new FusedUnsupportedError(why);
  const m = getModule();
  const [b, T, mIn] = x.shape as [number, number, number];
  const G = GATES[kind];
  const n = recurrentKernel.shape[0];
  const Gn = G * n;
  const resetAfter = kind === 'gru' && !!options.resetAfter;
  const bad = (what: string, t: tf.Tensor | undefined, want: string) => new Error(`fusedSequence(${kind}): ${what} must be ${want}; got ${shapeStr(t)}`);
  if (T < 1 || b < 1) throw new Error(`fusedSequence(${kind}): x needs at least one batch row and one step; got ${shapeStr(x)}`);
  if (kernel.rank !== 2 || kernel.shape[0] !== mIn || kernel.shape[1] !== Gn) throw bad('kernel', kernel, `[${mIn}, ${Gn}]`);
  if (recurrentKernel.rank !== 2 || recurrentKernel.shape[1] !== Gn) throw bad('recurrentKernel', recurrentKernel, `[${n}, ${Gn}]`);
  if (bias.rank !== 1 || bias.shape[0] !== Gn) throw bad('bias', bias, `[${Gn}]`);
  if (h0 && (h0.rank !== 2 || h0.shape[0] !== b || h0.shape[1] !== n)) throw bad('h0', h0, `[${b}, ${n}]`);
  if (c0 && kind !== 'lstm') throw new Error(`fusedSequence(${kind}): c0 is for the LSTM only`);
  if (c0 && (c0.rank !== 2 || c0.shape[0] !== b || c0.shape[1] !== n)) throw bad('c0', c0, `[${b}, ${n}]`);
  const rb = options.recurrentBias;
  if (resetAfter && (!rb || rb.rank !== 1 || rb.shape[0] !== Gn)) throw bad('options.recurrentBias (GRU resetAfter)', rb, `[${Gn}]`);
  if (!resetAfter && rb) throw new Error(`fusedSequence(${kind}): options.recurrentBias is for the GRU with resetAfter only`);

  const dims: Dims = { kind, code: KIND_CODE[kind], flags: flagsOf(kind, options), T, b, m: mIn, n };
  const code = m.exports.check(dims.code, dims.flags, T, b, mIn, n);
  if (code !== 0) throw new FusedUnsupportedError(`fused: configuration rejected by the kernels (code ${code})`);
  const layout = layoutOf(m.exports, dims);
  ensure(m, layout.total);   // fail (as unsupported) before anything is recorded on the tape
  const keep = isTapeOn();
  const hasC = kind === 'lstm';

  return tf.tidy(() => {
    const inputs: tf.Tensor[] = [x, kernel, recurrentKernel, bias, h0 ?? tf.zeros([b, n])];
    if (hasC) inputs.push(c0 ?? tf.zeros([b, n]));
    if (resetAfter) inputs.push(rb!);
    const fn = (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      args.pop();   // tf's save(): the activations stay in the arena instead
      const call: Call = { dims, layout, state: keep ? 'arena' : 'done', copy: null };
      const value = runForward(m, call, args as tf.Tensor[], hasC, resetAfter);
      if (!keep) claim(m, null);
      const gradFunc = (dy: tf.Tensor) => runBackward(m, call, dy, hasC, resetAfter);
      return { value, gradFunc };
    };
    const op = tf.customGrad(fn as unknown as Parameters<typeof tf.customGrad>[0]);
    const packed = op(...inputs);                                        // [b, T(+1), n]
    const hs = tf.slice(packed, [0, 0, 0], [b, T, n]) as tf.Tensor3D;
    const hT = tf.reshape(tf.slice(packed, [0, T - 1, 0], [b, 1, n]), [b, n]) as tf.Tensor2D;
    const out: FusedResult = { hs, hT };
    if (hasC) out.cT = tf.reshape(tf.slice(packed, [0, T, 0], [b, 1, n]), [b, n]) as tf.Tensor2D;
    return out as unknown as tf.TensorContainer;
  }) as unknown as FusedResult;
}

function data(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

function runForward(m: Module, call: Call, args: tf.Tensor[], hasC: boolean, resetAfter: boolean): tf.Tensor {
  const { code, flags, T, b, m: mIn, n } = call.dims;
  const L = call.layout;
  const [x, kernel, rk, bias, h0] = args;
  const c0 = hasC ? args[5] : undefined;
  const rb = resetAfter ? args[hasC ? 6 : 5] : undefined;
  claim(m, call);
  ensure(m, L.total);
  const f = m.f32;
  const o = m.base;
  const e = m.exports;
  const P = (fl: number) => (o + fl) * 4;   // float offset → byte pointer
  if (b === 1 || T === 1) f.set(data(x), o + L.X);
  else {
    f.set(data(x), o + L.stage);
    e.swapAxes(P(L.stage), P(L.X), b, T, mIn);                          // [b, T, m] → [T, b, m]
  }
  f.set(data(kernel), o + L.K);
  f.set(data(rk), o + L.U);
  f.set(data(bias), o + L.Bx);
  if (rb) f.set(data(rb), o + L.Bh);
  f.set(data(h0), o + L.H);
  if (c0) f.set(data(c0), o + L.C);
  e.forward(code, flags, T, b, mIn, n, P(L.X), P(L.K), P(L.U), P(L.Bx), P(L.Bh), P(L.H), P(L.C), P(L.Gs), P(L.S), P(L.fwdWork));
  e.packOutput(P(L.H), hasC ? P(L.C) : 0, T, b, n, P(L.stage));
  const rows = T + (hasC ? 1 : 0);
  return tf.tensor3d(f.slice(o + L.stage, o + L.stage + b * rows * n), [b, rows, n]);
}

function runBackward(m: Module, call: Call, dy: tf.Tensor, hasC: boolean, resetAfter: boolean): tf.Tensor[] {
  if (call.state === 'done') throw new Error('fusedSequence: backward called twice for one forward (or its activations were not kept)');
  const { code, flags, T, b, m: mIn, n } = call.dims;
  const L = call.layout;
  const G = GATES[call.dims.kind];
  const Gn = G * n;
  claim(m, call);
  ensure(m, L.total);
  const f = m.f32;
  const o = m.base;
  const e = m.exports;
  const P = (fl: number) => (o + fl) * 4;
  if (call.state === 'evicted') {
    f.set(call.copy!, o);
    call.copy = null;
  }
  call.state = 'done';
  f.set(data(dy), o + L.stage);
  e.unpackGrad(P(L.stage), hasC ? 1 : 0, T, b, n, P(L.DH));
  e.backward(code, flags, T, b, mIn, n, P(L.X), P(L.K), P(L.U), P(L.H), P(L.C), P(L.Gs), P(L.S),
    P(L.DH), P(L.dX), P(L.dK), P(L.dU), P(L.dB), P(L.dBh), P(L.dC0), P(L.bwdWork));
  occupant = null;
  const slice = (at: number, len: number) => f.slice(o + at, o + at + len);
  let dx: Float32Array;
  if (b === 1 || T === 1) dx = slice(L.dX, T * b * mIn);
  else {
    e.swapAxes(P(L.dX), P(L.stage), T, b, mIn);                          // [T, b, m] → [b, T, m]
    dx = slice(L.stage, T * b * mIn);
  }
  const grads: tf.Tensor[] = [
    tf.tensor3d(dx, [b, T, mIn]),
    tf.tensor2d(slice(L.dK, mIn * Gn), [mIn, Gn]),
    tf.tensor2d(slice(L.dU, n * Gn), [n, Gn]),
    tf.tensor1d(slice(L.dB, Gn)),
    tf.tensor2d(slice(L.DH, b * n), [b, n]),
  ];
  if (hasC) grads.push(tf.tensor2d(slice(L.dC0, b * n), [b, n]));
  if (resetAfter) grads.push(tf.tensor1d(slice(L.dBh, Gn)));
  return grads;
}

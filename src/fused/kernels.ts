/**
 * The fused kernels' WebAssembly module and its memory arena, without tf.js: used on the main thread
 * (src/fused/index.ts) and in each worker thread (src/fused/worker.ts), each with its own instance.
 *
 * One {@link Arena} owns one instance's linear memory. It grows to the largest call seen and is
 * reused: each call lays out its inputs, saved activations and work buffers in it. The activations a
 * backward needs stay in the arena; only when another call needs the arena first (stacked or
 * bidirectional layers) are they copied out to a JS array, and copied back for the backward.
 *
 * Arrays passed in and out are batch-major like the tensors ([b, T, m] inputs, [b, T(+1), n] packed
 * outputs), so a batch shard is a contiguous sub-array. Kernels: asm/recurrent.ts.
 */
import type { CellKind } from '../family';

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
    Bx: number, Bh: number, H: number, C: number, Gs: number, S: number, W: number, M: number, MS: number): void;
  backward(kind: number, flags: number, T: number, b: number, m: number, n: number, X: number, K: number, U: number,
    H: number, C: number, Gs: number, S: number, DH: number, dX: number, dK: number, dU: number, dB: number,
    dBh: number, dC0: number, W: number, M: number, MS: number): void;
  packB(src: number, ks: number, js: number, K: number, N: number, dst: number): void;
  gemm(M: number, N: number, K: number, A: number, ars: number, aks: number, Bp: number, C: number, ldc: number, beta: number): void;
  // Ragged batches (Ls: i32 lengths, rows sorted longest first; packed layout, asm/layout.ts).
  checkLengths(Ls: number, b: number, T: number): number;
  packInput(src: number, dst: number, T: number, b: number, w: number, Ls: number): void;
  unpackInputGrad(src: number, dst: number, T: number, b: number, w: number, Ls: number): void;
  packOutputLengths(H: number, C: number, T: number, b: number, n: number, Ls: number, returns: number, dst: number): void;
  unpackGradLengths(src: number, hasC: number, T: number, b: number, n: number, Ls: number, returns: number, DH: number): void;
  forwardLengths(kind: number, flags: number, T: number, b: number, m: number, n: number, Ls: number, X: number, K: number, U: number,
    Bx: number, Bh: number, H: number, C: number, Gs: number, S: number, W: number, M: number, MS: number): void;
  backwardLengths(kind: number, flags: number, T: number, b: number, m: number, n: number, Ls: number, X: number, K: number, U: number,
    H: number, C: number, Gs: number, S: number, DH: number, dX: number, dK: number, dU: number, dB: number,
    dBh: number, dC0: number, W: number, M: number, MS: number): void;
  // The fused training step's optimizer updates (asm/optimizer.ts); pointers to float32 arrays of n elements.
  sgdUpdate(n: number, th: number, g: number, c: number): void;
  momentumUpdate(n: number, th: number, g: number, acc: number, m: number, c: number): void;
  rmspropUpdate(n: number, th: number, g: number, ms: number, rho: number, omr: number, lr: number, eps: number): void;
  adamUpdate(n: number, th: number, g: number, m1: number, m2: number, b1: number, omb1: number, b2: number, omb2: number,
    c1: number, c2: number, eps: number, nlr: number): void;
}

export const KIND_CODE: Record<CellKind, number> = { rnn: 0, lstm: 1, gru: 2 };
export const KIND_OF_CODE: CellKind[] = ['rnn', 'lstm', 'gru'];
export const GATES: Record<CellKind, number> = { rnn: 1, lstm: 4, gru: 3 };
export const ACT_CODE: Record<string, number> = { tanh: 0, relu: 1, sigmoid: 2, linear: 3 };
export const RESET_AFTER = 4;
export const Z_TAKES_NEW = 8;
/** LSTM/GRU gates: tf.js's hard sigmoid clip(0.2·a + 0.5, 0, 1) instead of σ. */
export const HARD_SIGMOID = 16;
const MAX_BYTES = 2 ** 31;   // stay well inside wasm32's 4 GiB

/** Thrown for a configuration or size the kernels do not handle; fall back to the tf.js ops path. */
export class FusedUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FusedUnsupportedError';
  }
}

/** One instantiated kernel module. */
export interface Module {
  /** The compiled module: helper threads instantiate the same one, sharing its optimized code. */
  module: WebAssembly.Module;
  exports: Exports;
  /** Where the bytes came from (a path, or '(bytes)'). */
  path: string;
  relaxed: boolean;
  /** Arena start, in floats. */
  base: number;
  f32: Float32Array;
}

export function instantiate(bytes: BufferSource | WebAssembly.Module, where: string): Module {
  const m = bytes instanceof WebAssembly.Module ? bytes : new WebAssembly.Module(bytes);
  const inst = new WebAssembly.Instance(m, { env: { abort: () => { throw new Error('fused: wasm abort'); } } });
  const exports = inst.exports as unknown as Exports;
  return { module: m, exports, path: where, relaxed: exports.relaxedSimd() === 1, base: exports.arenaBase() / 4, f32: new Float32Array(exports.memory.buffer) };
}

/**
 * The path of the build to load in Node.js: the relaxed-SIMD build (f32x4.relaxed_madd, a hardware
 * FMA: 15–35% faster here) when the engine validates it, else plain SIMD. Node 20's V8 11.3 has relaxed
 * SIMD behind --experimental-wasm-relaxed-simd, a flag V8 reads when it validates a module, so it is
 * turned on here first. RNN_LAB_FUSED_RELAXED=0 never uses the relaxed build.
 */
export function nodeWasmPath(): string {
  /* eslint-disable @typescript-eslint/no-var-requires */
  const fs = require('fs') as typeof import('fs');
  const path = require('path') as typeof import('path');
  const dirs = [__dirname, path.join(__dirname, '..', '..', 'src', 'fused')];
  const find = (file: string) => dirs.map((d) => path.join(d, file)).find((p) => fs.existsSync(p));
  const plain = find('recurrent.wasm');
  if (!plain) throw new Error(`recurrent.wasm not found in ${dirs.join(' or ')}; run \`npm run build:wasm\``);
  const relaxed = process.env.RNN_LAB_FUSED_RELAXED === '0' ? undefined : find('recurrent-relaxed.wasm');
  if (relaxed) {
    const bytes = fs.readFileSync(relaxed);
    if (!WebAssembly.validate(bytes)) {
      try {
        (require('v8') as typeof import('v8')).setFlagsFromString('--experimental-wasm-relaxed-simd');
      } catch {
        /* an engine without the flag: plain SIMD */
      }
    }
    if (WebAssembly.validate(bytes)) return relaxed;
  }
  return plain;
}

export function nodeLoad(file = nodeWasmPath()): Module {
  const fs = require('fs') as typeof import('fs');
  return instantiate(fs.readFileSync(file), file);
}

/** Which outputs a call returns (and takes gradients of): see {@link outFloats}. */
export const RETURNS = { all: 0, sequence: 1, last: 2 } as const;

/** A call's sizes and options, as the kernels take them. */
export interface Dims {
  kind: CellKind;
  code: number;
  flags: number;
  T: number;
  b: number;
  m: number;
  n: number;
  /** RETURNS.all: [b, T(+1), n], h_1..h_T then c_T (LSTM); sequence: [b, T, n]; last: [b, 1(+1), n], h_T then c_T. */
  returns: number;
  /**
   * Per-sequence lengths (ForwardIn.L, rows sorted longest first): the kernels skip padded steps, and
   * RETURNS.all is [b, T+1(+1), n], h_1..h_T (0 at padded steps), then each row's own last h (and c).
   */
  ragged: boolean;
  /** Recurrent dropout: the call has a mask M [b, n] (ForwardIn.M), h_{t-1} ⊙ M in the recurrent matmuls. */
  masked?: boolean;
}

export const hasCell = (d: Dims) => d.kind === 'lstm';
export const hasRecurrentBias = (d: Dims) => d.kind === 'gru' && (d.flags & RESET_AFTER) !== 0;
/** Rows per batch entry of the output (see Dims.returns). */
export function outRows(d: Dims): number {
  const c = hasCell(d) ? 1 : 0;
  return d.returns === RETURNS.sequence ? d.T : d.returns === RETURNS.last ? 1 + c : d.T + c + (d.ragged ? 1 : 0);
}
/** Floats of the output (and of its gradient). */
export const outFloats = (d: Dims) => d.b * outRows(d) * d.n;

/** The forward's inputs (batch-major). Bh only for the GRU with resetAfter, c0 only for the LSTM. */
export interface ForwardIn {
  x: Float32Array; K: Float32Array; U: Float32Array; Bx: Float32Array; Bh?: Float32Array; h0: Float32Array; c0?: Float32Array;
  /** Dims.ragged: the rows' lengths, longest first. */
  L?: Int32Array;
  /** Dims.masked: recurrent dropout's mask [b, n], rows in the call's order (as h0). */
  M?: Float32Array;
}

/** The backward's outputs (batch-major): ∂L/∂ of every forward input. */
export interface BackwardOut {
  dx: Float32Array; dK: Float32Array; dU: Float32Array; dB: Float32Array; dBh?: Float32Array; dh0: Float32Array; dc0?: Float32Array;
}

/** Float counts of every forward input and backward output, in order (for laying them out in a buffer). */
export function ioSizes(d: Dims): { name: keyof ForwardIn; dname: keyof BackwardOut; size: number }[] {
  const Gn = GATES[d.kind] * d.n;
  const list: { name: keyof ForwardIn; dname: keyof BackwardOut; size: number }[] = [
    { name: 'x', dname: 'dx', size: d.b * d.T * d.m },
    { name: 'K', dname: 'dK', size: d.m * Gn },
    { name: 'U', dname: 'dU', size: d.n * Gn },
    { name: 'Bx', dname: 'dB', size: Gn },
    { name: 'h0', dname: 'dh0', size: d.b * d.n },
  ];
  if (hasRecurrentBias(d)) list.push({ name: 'Bh', dname: 'dBh', size: Gn });
  if (hasCell(d)) list.push({ name: 'c0', dname: 'dc0', size: d.b * d.n });
  return list;
}

// ---- arena layout (in floats, relative to the arena base)

interface Layout {
  X: number; K: number; U: number; Bx: number; Bh: number; H: number; C: number; Gs: number; S: number;
  /** Dims.ragged: the lengths (i32). */
  Ls: number;
  /** Dims.masked: the mask [b, n] (kept for the backward) and a [b, n] scratch for h_{t-1} ⊙ M. */
  M: number; MS: number;
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
  const Bh = take(hasRecurrentBias(d) ? Gn : 0);
  const H = take((T + 1) * b * n);
  const C = take(hasCell(d) ? (T + 1) * b * n : 0);
  const Gs = take(rows * Gn);
  const S = take(d.kind === 'rnn' ? 0 : rows * n);
  const Ls = take(d.ragged ? b : 0);
  const M = take(d.masked ? b * n : 0), MS = take(d.masked ? b * n : 0);
  const saved = at;
  // The forward's work and the backward's buffers overlap: they are never live together.
  const fwdWork = take(e.forwardWorkFloats(d.code, d.flags, T, b, m, n));
  const fwdEnd = at;
  at = saved;
  const DH = take((T + 2) * b * n), dX = take(rows * m), dK = take(m * Gn), dU = take(n * Gn), dB = take(Gn), dBh = take(Gn), dC0 = take(b * n);
  const bwdWork = take(e.backwardWorkFloats(d.code, d.flags, T, b, m, n));
  at = Math.max(at, fwdEnd);
  const stage = take(Math.max(rows * m, (T + (d.ragged ? 2 : 1)) * b * n));
  return { X, K, U, Bx, Bh, H, C, Gs, S, Ls, M, MS, saved, fwdWork, fwdEnd, DH, dX, dK, dU, dB, dBh, dC0, bwdWork, stage, total: at };
}

/** One forward call on one arena whose backward may still come. */
export interface Call {
  dims: Dims;
  layout: Layout;
  /** Where the saved activations are: in the arena, copied out, or gone (backward done / not needed). */
  state: 'arena' | 'evicted' | 'done';
  copy: Float32Array | null;
  /** Dims.ragged: the lengths, written to the arena again for the backward. */
  lengths?: Int32Array;
}

/** One module instance's memory, reused by every call. Not thread-safe: one per thread. */
export class Arena {
  /** The call whose saved activations are in the arena now. */
  private occupant: Call | null = null;

  constructor(readonly mod: Module) {}

  /** A new call (checked and sized; the memory is grown now, so failures come before any work). */
  prepare(dims: Dims, keep: boolean): Call {
    const e = this.mod.exports;
    const code = e.check(dims.code, dims.flags, dims.T, dims.b, dims.m, dims.n);
    if (code !== 0) throw new FusedUnsupportedError(`fused: configuration rejected by the kernels (code ${code})`);
    const layout = layoutOf(e, dims);
    this.ensure(layout.total);
    return { dims, layout, state: keep ? 'arena' : 'done', copy: null };
  }

  /** Write a ragged call's lengths into the arena (checked by the kernels: sorted longest first, 1..T). */
  private writeLengths(call: Call): number {
    const { b, T } = call.dims;
    const at = (this.mod.base + call.layout.Ls) * 4;
    const L = call.lengths;
    if (!L || L.length !== b) throw new Error(`fused: a ragged call needs ${b} lengths; got ${L ? L.length : 'none'}`);
    new Int32Array(this.mod.exports.memory.buffer, at, b).set(L);
    if (this.mod.exports.checkLengths(at, b, T) !== 0) throw new Error(`fused: lengths must be sorted longest first, each 1..${T}; got [${Array.from(L).join(', ')}]`);
    return at;
  }

  memoryBytes(): number {
    return this.mod.exports.memory.buffer.byteLength;
  }

  /**
   * Grow the memory to hold `floats` past the arena base (a FusedUnsupportedError past 2 GiB) and return
   * the module's current float view (the head's GEMMs use an arena of their own as scratch this way).
   */
  reserve(floats: number): Float32Array {
    this.ensure(floats);
    return this.mod.f32;
  }

  private ensure(floats: number): void {
    const m = this.mod;
    const need = (m.base + floats) * 4;
    if (need > MAX_BYTES) throw new FusedUnsupportedError(`fused: the sequence needs ${(need / 2 ** 20).toFixed(0)} MiB of wasm memory (limit ${MAX_BYTES / 2 ** 20} MiB)`);
    const mem = m.exports.memory;
    if (need > mem.buffer.byteLength) {
      // Grow once to the need (+1/8 headroom so slowly varying shapes don't grow it every call).
      const want = Math.min(MAX_BYTES, need + (need >> 3));
      try {
        mem.grow(Math.ceil((want - mem.buffer.byteLength) / 65536));
      } catch (err) {
        throw new FusedUnsupportedError(`fused: could not grow the wasm memory to ${(want / 2 ** 20).toFixed(0)} MiB (${(err as Error).message})`);
      }
    }
    if (m.f32.buffer !== mem.buffer) m.f32 = new Float32Array(mem.buffer);
  }

  /** Make the arena the call's: copy out the occupant's saved activations if its backward may still come. */
  private claim(call: Call | null): void {
    const o = this.occupant;
    if (o && o !== call && o.state === 'arena') {
      o.copy = this.mod.f32.slice(this.mod.base, this.mod.base + o.layout.saved);
      o.state = 'evicted';
    }
    this.occupant = call;
  }

  /** Forget a call whose backward will never come (its copy, if any, is dropped with it). */
  release(call: Call): void {
    call.state = 'done';
    call.copy = null;
    if (this.occupant === call) this.occupant = null;
  }

  /** The forward of a prepared call; the output (Dims.returns) goes to `out`. */
  forward(call: Call, inp: ForwardIn, out: Float32Array): void {
    const { code, flags, T, b, m: mIn, n } = call.dims;
    const L = call.layout;
    const keep = call.state === 'arena';
    this.claim(call);
    this.ensure(L.total);
    const f = this.mod.f32;
    const o = this.mod.base;
    const e = this.mod.exports;
    const P = (fl: number) => (o + fl) * 4;   // float offset → byte pointer
    if (call.dims.ragged) {
      call.lengths = inp.L;
      this.forwardRagged(call, inp, out);
      if (!keep) this.claim(null);
      return;
    }
    if (b === 1 || T === 1) f.set(inp.x, o + L.X);
    else {
      f.set(inp.x, o + L.stage);
      e.swapAxes(P(L.stage), P(L.X), b, T, mIn);                          // [b, T, m] → [T, b, m]
    }
    this.writeWeights(call, inp);
    e.forward(code, flags, T, b, mIn, n, P(L.X), P(L.K), P(L.U), P(L.Bx), P(L.Bh), P(L.H), P(L.C), P(L.Gs), P(L.S), P(L.fwdWork), ...this.maskPointers(call));
    const hasC = hasCell(call.dims);
    if (call.dims.returns === RETURNS.last) {
      // h_T (and c_T) are the last time-major blocks: [b, n] each, interleaved per batch row.
      const w = hasC ? 2 : 1;
      const hT = o + L.H + T * b * n, cT = o + L.C + T * b * n;
      for (let i = 0; i < b; i++) {
        out.set(f.subarray(hT + i * n, hT + (i + 1) * n), i * w * n);
        if (hasC) out.set(f.subarray(cT + i * n, cT + (i + 1) * n), (i * w + 1) * n);
      }
    } else {
      e.packOutput(P(L.H), hasC && call.dims.returns === RETURNS.all ? P(L.C) : 0, T, b, n, P(L.stage));
      out.set(f.subarray(o + L.stage, o + L.stage + outFloats(call.dims)));
    }
    if (!keep) this.claim(null);
  }

  /** Copy a call's weights and initial states into the kernel's memory (the same for ragged and full calls). */
  private writeWeights(call: Call, inp: ForwardIn): void {
    const L = call.layout;
    const f = this.mod.f32;
    const o = this.mod.base;
    f.set(inp.K, o + L.K);                                                  // [m, G·n]
    f.set(inp.U, o + L.U);                                                  // [n, G·n]
    f.set(inp.Bx, o + L.Bx);                                                // [G·n]
    if (inp.Bh) f.set(inp.Bh, o + L.Bh);                                    // [G·n] GRU resetAfter
    f.set(inp.h0, o + L.H);                                                 // [b, n]
    if (inp.c0) f.set(inp.c0, o + L.C);                                     // [b, n] LSTM
    if (call.dims.masked) {
      if (!inp.M || inp.M.length !== call.dims.b * call.dims.n) throw new Error(`fused: a masked call needs a mask of ${call.dims.b}×${call.dims.n}; got ${inp.M ? inp.M.length : 'none'}`);
      f.set(inp.M, o + L.M);                                                // [b, n] recurrent dropout
    }
  }

  /** The mask and scratch pointers of a call (0, 0 without recurrent dropout). */
  private maskPointers(call: Call): [number, number] {
    if (!call.dims.masked) return [0, 0];
    const o = this.mod.base;
    return [(o + call.layout.M) * 4, (o + call.layout.MS) * 4];
  }

  /** A ragged call's forward (Dims.ragged): packed layout in, the output with each row's last h (and c) out. */
  private forwardRagged(call: Call, inp: ForwardIn, out: Float32Array): void {
    const { code, flags, T, b, m: mIn, n, returns } = call.dims;
    const L = call.layout;
    const f = this.mod.f32;
    const o = this.mod.base;
    const e = this.mod.exports;
    const P = (fl: number) => (o + fl) * 4;
    const Ls = this.writeLengths(call);
    f.set(inp.x, o + L.stage);
    e.packInput(P(L.stage), P(L.X), T, b, mIn, Ls);                      // [b, T, m] → packed [N, m]
    this.writeWeights(call, inp);
    e.forwardLengths(code, flags, T, b, mIn, n, Ls, P(L.X), P(L.K), P(L.U), P(L.Bx), P(L.Bh), P(L.H), P(L.C), P(L.Gs), P(L.S), P(L.fwdWork), ...this.maskPointers(call));
    e.packOutputLengths(P(L.H), hasCell(call.dims) && returns !== RETURNS.sequence ? P(L.C) : 0, T, b, n, Ls, returns, P(L.stage));
    out.set(f.subarray(o + L.stage, o + L.stage + outFloats(call.dims)));
  }

  /** The backward of a call whose forward kept its activations; dy is the output's gradient. */
  backward(call: Call, dy: Float32Array, out: BackwardOut): void {
    if (call.state === 'done') throw new Error('fusedSequence: backward called twice for one forward (or its activations were not kept)');
    const { code, flags, T, b, m: mIn, n } = call.dims;
    const L = call.layout;
    const Gn = GATES[call.dims.kind] * n;
    this.claim(call);
    this.ensure(L.total);
    const f = this.mod.f32;
    const o = this.mod.base;
    const e = this.mod.exports;
    const P = (fl: number) => (o + fl) * 4;
    if (call.state === 'evicted') {
      f.set(call.copy!, o);
      call.copy = null;
    }
    call.state = 'done';
    const hasC = hasCell(call.dims);
    if (call.dims.ragged) {
      const Ls = this.writeLengths(call);
      f.set(dy, o + L.stage);
      e.unpackGradLengths(P(L.stage), hasC && call.dims.returns !== RETURNS.sequence ? 1 : 0, T, b, n, Ls, call.dims.returns, P(L.DH));
      e.backwardLengths(code, flags, T, b, mIn, n, Ls, P(L.X), P(L.K), P(L.U), P(L.H), P(L.C), P(L.Gs), P(L.S),
        P(L.DH), P(L.dX), P(L.dK), P(L.dU), P(L.dB), P(L.dBh), P(L.dC0), P(L.bwdWork), ...this.maskPointers(call));
      e.unpackInputGrad(P(L.dX), P(L.stage), T, b, mIn, Ls);             // packed [N, m] → [b, T, m], 0 at padding
    } else if (call.dims.returns === RETURNS.last) {
      // ∂L/∂h_T into DH[T], ∂L/∂c_T into DH[T+1], zeros elsewhere.
      const w = hasC ? 2 : 1;
      f.fill(0, o + L.DH, o + L.DH + (T + 2) * b * n);
      const dT = o + L.DH + T * b * n, dC = dT + b * n;
      for (let i = 0; i < b; i++) {
        f.set(dy.subarray(i * w * n, (i * w + 1) * n), dT + i * n);
        if (hasC) f.set(dy.subarray((i * w + 1) * n, (i * w + 2) * n), dC + i * n);
      }
    } else {
      f.set(dy, o + L.stage);
      e.unpackGrad(P(L.stage), hasC && call.dims.returns === RETURNS.all ? 1 : 0, T, b, n, P(L.DH));
    }
    if (!call.dims.ragged) {
      e.backward(code, flags, T, b, mIn, n, P(L.X), P(L.K), P(L.U), P(L.H), P(L.C), P(L.Gs), P(L.S),
        P(L.DH), P(L.dX), P(L.dK), P(L.dU), P(L.dB), P(L.dBh), P(L.dC0), P(L.bwdWork), ...this.maskPointers(call));
    }
    this.occupant = null;
    const view = (at: number, len: number) => f.subarray(o + at, o + at + len);
    if (call.dims.ragged) out.dx.set(view(L.stage, T * b * mIn));
    else if (b === 1 || T === 1) out.dx.set(view(L.dX, T * b * mIn));
    else {
      e.swapAxes(P(L.dX), P(L.stage), T, b, mIn);                          // [T, b, m] → [b, T, m]
      out.dx.set(view(L.stage, T * b * mIn));
    }
    out.dK.set(view(L.dK, mIn * Gn));
    out.dU.set(view(L.dU, n * Gn));
    out.dB.set(view(L.dB, Gn));
    out.dh0.set(view(L.DH, b * n));
    if (out.dc0) out.dc0.set(view(L.dC0, b * n));
    if (out.dBh) out.dBh.set(view(L.dBh, Gn));
  }
}

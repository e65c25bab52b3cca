/**
 * Data parallelism for the fused kernels over worker_threads: a batch is cut into contiguous shards,
 * the main thread computes the first and each helper thread one other, and the weight gradients of
 * the shards are summed once per backward. Each helper has its own kernel instance and arena (the
 * activations of its shard stay there between forward and backward, as on the main thread).
 *
 * The calls are synchronous, as tf.js ops are: requests and answers go through a SharedArrayBuffer
 * with Atomics.wait/notify (Node.js allows the main thread to wait), and bulk data through a second,
 * growable SharedArrayBuffer. No tf.js in the helpers: they only run kernels (src/fused/worker.ts).
 */
import type { BackwardOut, Dims, ForwardIn } from './kernels';
import { FusedUnsupportedError, ioSizes, outFloats } from './kernels';

// ---- the control block (Int32Array over a SharedArrayBuffer), shared with worker.ts
export const C = {
  REQ: 0,        // request sequence number (main increments, then notifies)
  RESP: 1,       // answered sequence number (helper sets, then notifies)
  OP: 2,
  STATUS: 3,     // 0 ok, 1 error, 2 unsupported (message on the port)
  ID: 4,
  KIND: 5, FLAGS: 6, T: 7, B: 8, M: 9, N: 10,
  KEEP: 11,
  NDROP: 12,
  VALUE: 13,     // INFO's answer: the helper's wasm memory in 64 KiB pages
  READY: 14,     // 1 once the helper has loaded its kernels, 2 if it failed
  RETURNS: 15,
  RAGGED: 16,    // 1: the call has per-sequence lengths (Dims.ragged; the lengths travel as data 'L')
  DROPS: 17,     // ids whose backward will never come
  SIZE: 64,
} as const;
export const OP = { FORWARD: 1, BACKWARD: 2, BUFFER: 3, INFO: 4 } as const;
const MAX_DROPS = C.SIZE - C.DROPS;

/**
 * Wait until ctl[i] !== value: spin for up to `spinMs` first, then sleep in Atomics.wait. Spinning
 * matters on virtual machines, where waking a sleeping thread (and its idle virtual CPU) has been
 * measured here to take from 0.1 to several milliseconds, as long as a whole small step.
 */
export function waitWhile(ctl: Int32Array, i: number, value: number, spinMs: number, sleepMs = Infinity): void {
  const t0 = performance.now();
  do {
    for (let k = 0; k < 256; k++) if (Atomics.load(ctl, i) !== value) return;
  } while (performance.now() - t0 <= spinMs);
  Atomics.wait(ctl, i, value, sleepMs);
}

const pad16 = (f: number) => Math.ceil(f / 16) * 16;

/** Where each forward input (and backward output) sits in the data buffer, and where the rest starts. */
export function ioOffsets(d: Dims): { at: Record<string, number>; size: Record<string, number>; end: number } {
  const at: Record<string, number> = {};
  const size: Record<string, number> = {};
  let p = 0;
  for (const s of ioSizes(d)) {
    at[s.name] = at[s.dname] = p;
    size[s.name] = size[s.dname] = s.size;
    p += pad16(s.size);
  }
  if (d.ragged) {
    // The lengths (as floats: exact for any length a buffer can hold), input only.
    at.L = p;
    size.L = d.b;
    p += pad16(d.b);
  }
  if (d.masked) {
    // Recurrent dropout's mask [b, n], input only.
    at.M = p;
    size.M = d.b * d.n;
    p += pad16(d.b * d.n);
  }
  return { at, size, end: p };
}

/** Floats of the data buffer one call needs: inputs and output (forward), dy and all gradients (backward). */
export function dataFloats(d: Dims): number {
  const io = ioOffsets(d);
  return io.end + pad16(outFloats(d));
}

function writeDims(ctl: Int32Array, d: Dims): void {
  ctl[C.KIND] = d.code;
  ctl[C.FLAGS] = d.flags;
  ctl[C.T] = d.T;
  ctl[C.B] = d.b;
  ctl[C.M] = d.m;
  ctl[C.N] = d.n;
  ctl[C.RETURNS] = d.returns;
  ctl[C.RAGGED] = (d.ragged ? 1 : 0) | (d.masked ? 2 : 0);   // bit 1: recurrent dropout's mask travels as data 'M'
}

export function readDims(ctl: Int32Array, kinds: Dims['kind'][]): Dims {
  return { kind: kinds[ctl[C.KIND]], code: ctl[C.KIND], flags: ctl[C.FLAGS], T: ctl[C.T], b: ctl[C.B], m: ctl[C.M], n: ctl[C.N], returns: ctl[C.RETURNS], ragged: (ctl[C.RAGGED] & 1) === 1, masked: (ctl[C.RAGGED] & 2) !== 0 };
}

/** How long the main thread waits for a helper before it gives up (a helper that died never answers). */
const TIMEOUT_MS = 10 * 60 * 1000;

/** One helper thread. */
export class Helper {
  private seq = 0;
  private nextId = 1;
  private data: Float32Array;
  private readonly drops: number[] = [];
  private readonly registry = new FinalizationRegistry<number>((id) => this.drops.push(id));
  /** A request is out and not yet answered. */
  private busy = false;
  /** Where the request out has its data (for reading its answer). */
  private io: ReturnType<typeof ioOffsets> | null = null;

  private constructor(private readonly worker: import('worker_threads').Worker, private readonly ctl: Int32Array,
    private readonly port: import('worker_threads').MessagePort, data: SharedArrayBuffer) {
    this.data = new Float32Array(data);
  }

  /** Start a helper and wait until its kernels are loaded; throws when it cannot start. */
  static spawn(workerFile: string, wasm: WebAssembly.Module): Helper {
    const wt = require('worker_threads') as typeof import('worker_threads');
    const ctlBuf = new SharedArrayBuffer(C.SIZE * 4);
    const ctl = new Int32Array(ctlBuf);
    const data = new SharedArrayBuffer(1 << 20);
    const { port1, port2 } = new wt.MessageChannel();
    const worker = new wt.Worker(workerFile, { workerData: { ctl: ctlBuf, data, port: port2, wasm }, transferList: [port2] });
    worker.unref();          // an idle helper never keeps the process alive
    port1.unref();
    const t0 = Date.now();
    while (Atomics.load(ctl, C.READY) === 0) {
      Atomics.wait(ctl, C.READY, 0, 1000);
      if (Date.now() - t0 > 60_000) {
        void worker.terminate();
        throw new Error('fused: a helper thread did not start within 60 s');
      }
    }
    if (ctl[C.READY] !== 1) {
      const msg = wt.receiveMessageOnPort(port1)?.message;
      void worker.terminate();
      throw new Error(`fused: a helper thread could not load the kernels: ${msg ?? 'unknown error'}`);
    }
    return new Helper(worker, ctl, port1, data);
  }

  /** A token for a call whose activations the helper keeps; when it is garbage-collected unused, the helper drops them. */
  private token(id: number): object {
    const t = { id };
    this.registry.register(t, id, t);
    return t;
  }

  private post(op: number): void {
    if (this.busy) throw new Error('fused: a helper got a request before answering the previous one');
    const ctl = this.ctl;
    const k = Math.min(this.drops.length, MAX_DROPS);
    for (let i = 0; i < k; i++) ctl[C.DROPS + i] = this.drops[i];
    this.drops.splice(0, k);
    ctl[C.NDROP] = k;
    ctl[C.OP] = op;
    this.seq = (this.seq + 1) | 0;
    this.busy = true;
    Atomics.store(ctl, C.REQ, this.seq);
    Atomics.notify(ctl, C.REQ);
  }

  /** Wait for the answer to the request out; throw the helper's error, if any. */
  private wait(): void {
    const ctl = this.ctl;
    const t0 = Date.now();
    // The helper works on a shard the size of this thread's, so its answer is usually near: spin first.
    for (let r = Atomics.load(ctl, C.RESP); r !== this.seq; r = Atomics.load(ctl, C.RESP)) {
      waitWhile(ctl, C.RESP, r, 5, 1000);
      if (Date.now() - t0 > TIMEOUT_MS) throw new Error('fused: a helper thread stopped answering');
    }
    this.busy = false;
    const status = ctl[C.STATUS];
    if (status !== 0) {
      const wt = require('worker_threads') as typeof import('worker_threads');
      const msg = String(wt.receiveMessageOnPort(this.port)?.message ?? 'unknown error');
      if (status === 2) throw new FusedUnsupportedError(msg);
      throw new Error(`fused helper thread: ${msg}`);
    }
  }

  /** Make the data buffer hold `floats` (a new buffer is handed over; the old one is dropped). */
  private reserve(floats: number): void {
    if (this.data.length >= floats) return;
    const sab = new SharedArrayBuffer(Math.ceil((floats + (floats >> 3)) * 4 / 65536) * 65536);
    this.port.postMessage(sab);
    this.data = new Float32Array(sab);
    this.post(OP.BUFFER);
    this.wait();
  }

  /** Send a forward; the helper runs it while the caller computes its own shard. Returns the call's token. */
  startForward(d: Dims, keep: boolean, inp: ForwardIn): object {
    this.reserve(dataFloats(d));
    const io = (this.io = ioOffsets(d));
    for (const [name, arr] of Object.entries(inp)) if (arr) this.data.set(arr as Float32Array, io.at[name]);
    writeDims(this.ctl, d);
    const id = this.nextId++;
    this.ctl[C.ID] = id;
    this.ctl[C.KEEP] = keep ? 1 : 0;
    this.post(OP.FORWARD);
    return this.token(id);
  }

  /** Wait for the forward sent last and copy its output to `out`. */
  finishForward(out: Float32Array): void {
    this.wait();
    const io = this.io!;
    out.set(this.data.subarray(io.end, io.end + out.length));
  }

  /** Send the backward of a forward (by its token); dy is the gradient of the shard's output. */
  startBackward(token: object, d: Dims, dy: Float32Array): void {
    this.reserve(dataFloats(d));
    const io = (this.io = ioOffsets(d));
    this.data.set(dy, io.end);
    writeDims(this.ctl, d);
    this.ctl[C.ID] = (token as { id: number }).id;
    this.registry.unregister(token);
    this.post(OP.BACKWARD);
  }

  /**
   * Wait for the backward sent last: the per-row gradients are copied to `rows` (the shard's parts)
   * and the weight gradients added to `sums`.
   */
  finishBackward(rows: Pick<BackwardOut, 'dx' | 'dh0' | 'dc0'>, sums: Pick<BackwardOut, 'dK' | 'dU' | 'dB' | 'dBh'>): void {
    this.wait();
    const io = this.io!;
    const view = (name: string) => this.data.subarray(io.at[name], io.at[name] + io.size[name]);
    for (const [name, arr] of Object.entries(rows)) if (arr) (arr as Float32Array).set(view(name));
    for (const [name, arr] of Object.entries(sums)) {
      if (!arr) continue;
      const a = arr as Float32Array;
      const v = view(name);
      for (let i = 0; i < a.length; i++) a[i] += v[i];
    }
  }

  /** The helper's wasm memory in bytes. */
  memoryBytes(): number {
    this.post(OP.INFO);
    this.wait();
    return this.ctl[C.VALUE] * 65536;
  }

  /** Whether a request is out and not yet answered. */
  get pending(): boolean {
    return this.busy;
  }

  /** Wait out a request still out (after an error on the caller's side), ignoring its result. */
  settle(): void {
    if (!this.busy) return;
    try {
      this.wait();
    } catch {
      /* the caller is already failing */
    }
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * A helper thread of the fused kernels (started by src/fused/threads.ts): its own kernel instance and
 * arena; it waits on the control block, runs one shard's forward or backward, answers, and waits again.
 * Saved activations of the calls whose backward may still come are kept by id.
 */
import { receiveMessageOnPort, workerData } from 'worker_threads';
import type { MessagePort } from 'worker_threads';
import { Arena, Call, FusedUnsupportedError, KIND_OF_CODE, hasCell, hasRecurrentBias, instantiate, outFloats } from './kernels';
import type { BackwardOut, ForwardIn } from './kernels';
import { C, OP, ioOffsets, readDims, waitWhile } from './threads';

const { ctl: ctlBuf, data: dataBuf, port, wasm } = workerData as { ctl: SharedArrayBuffer; data: SharedArrayBuffer; port: MessagePort; wasm: WebAssembly.Module };
const ctl = new Int32Array(ctlBuf);
let data = new Float32Array(dataBuf);
const calls = new Map<number, Call>();
let arena: Arena;

try {
  arena = new Arena(instantiate(wasm, '(shared module)'));
  Atomics.store(ctl, C.READY, 1);
} catch (e) {
  port.postMessage((e as Error).message);
  Atomics.store(ctl, C.READY, 2);
}
Atomics.notify(ctl, C.READY);

function handle(op: number): void {
  for (let i = 0; i < ctl[C.NDROP]; i++) {
    const c = calls.get(ctl[C.DROPS + i]);
    if (c) {
      arena.release(c);
      calls.delete(ctl[C.DROPS + i]);
    }
  }
  if (op === OP.BUFFER) {
    data = new Float32Array(receiveMessageOnPort(port)!.message as SharedArrayBuffer);
    return;
  }
  if (op === OP.INFO) {
    ctl[C.VALUE] = arena.memoryBytes() / 65536;
    return;
  }
  const d = readDims(ctl, KIND_OF_CODE);
  const io = ioOffsets(d);
  const view = (name: string) => data.subarray(io.at[name], io.at[name] + io.size[name]);
  const id = ctl[C.ID];
  if (op === OP.FORWARD) {
    const keep = ctl[C.KEEP] === 1;
    const call = arena.prepare(d, keep);
    const inp: ForwardIn = { x: view('x'), K: view('K'), U: view('U'), Bx: view('Bx'), h0: view('h0') };
    if (hasRecurrentBias(d)) inp.Bh = view('Bh');
    if (hasCell(d)) inp.c0 = view('c0');
    if (d.ragged) inp.L = Int32Array.from(view('L'));
    if (d.masked) inp.M = view('M');
    arena.forward(call, inp, data.subarray(io.end, io.end + outFloats(d)));
    if (keep) calls.set(id, call);
    return;
  }
  if (op === OP.BACKWARD) {
    const call = calls.get(id);
    if (!call) throw new Error(`no saved activations for call ${id}`);
    calls.delete(id);
    const dy = data.subarray(io.end, io.end + outFloats(d));      // after every output's place
    const out: BackwardOut = { dx: view('dx'), dK: view('dK'), dU: view('dU'), dB: view('dB'), dh0: view('dh0') };
    if (hasRecurrentBias(d)) out.dBh = view('dBh');
    if (hasCell(d)) out.dc0 = view('dc0');
    arena.backward(call, dy, out);
    return;
  }
  throw new Error(`unknown request ${op}`);
}

let seen = 0;
while (ctl[C.READY] === 1) {
  // Spin briefly for the next request (a backward often follows its forward closely), then sleep:
  // a longer spin slows the main thread where the two virtual CPUs share a physical core.
  waitWhile(ctl, C.REQ, seen, 1);
  const seq = Atomics.load(ctl, C.REQ);
  if (seq === seen) continue;
  seen = seq;
  try {
    handle(ctl[C.OP]);
    ctl[C.STATUS] = 0;
  } catch (e) {
    ctl[C.STATUS] = e instanceof FusedUnsupportedError ? 2 : 1;
    port.postMessage((e as Error).message);
  }
  Atomics.store(ctl, C.RESP, seq);
  Atomics.notify(ctl, C.RESP);
}

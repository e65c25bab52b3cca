/**
 * Interrupt: how the kernel's ■ button reaches a library call that is running.
 *
 * Jupyter interrupts a kernel with SIGINT. Node runs a SIGINT handler only when the event loop is free,
 * so a synchronous loop (decode, sampleText) would never see it, and tslab's own answer (rejecting the
 * cell's promise) leaves the awaited work running in the background. The course kernel
 * (scripts/kernel/) therefore keeps a small shared counter: a relay thread bumps it the moment
 * Interrupt is pressed, even while JavaScript is busy, and long library calls read it between steps
 * with `Atomics.load` (a few nanoseconds). A call that sees it stops cleanly after the step it is in:
 * `train` returns its result with `stopped: 'interrupted'`; calls whose result would be incomplete
 * (`decode`, `generate`, `sampleText`, diagnostics) throw {@link KeyboardInterrupt}.
 *
 * Outside the course kernel (plain Node, tests, other kernels) there is no hub and only an
 * `AbortSignal` stops a call.
 *
 * Semantics follow IPython's: an interrupted cell ends with a `KeyboardInterrupt` error, so "Run All"
 * stops there. When `train` was what stopped, the cell's declarations are kept (`const r = await
 * train(…)` gives `r` to the next cell); a cell that ends by a thrown error loses its declarations, as
 * every failing cell does in tslab.
 */

/** The `globalThis` key under which the course kernel publishes its {@link KernelHub}. */
export const KERNEL_HUB_KEY = Symbol.for('rnn-lab.kernel');

/** What the course kernel shares with the library (one per process; see scripts/kernel/). */
export interface KernelHub {
  /**
   * `Int32Array` over a `SharedArrayBuffer`:
   * - `[0]` interrupts requested so far: bumped by the kernel's relay thread when Interrupt is pressed;
   * - `[1]` interruptible library calls running now: the relay thread reads it to decide between a
   *   graceful stop (the library is running: only bump `[0]`) and tslab's own interrupt (it is not).
   * - `[2]` the value of `[0]` when the cell now running began (the kernel sets it per cell). A press
   *   during a cell stops every library call of that cell, also those started after it, so a loop of
   *   calls (`for (const seed of seeds) await train(…)`) stops too; presses from earlier cells do not count.
   */
  state: Int32Array;
  /**
   * Called when a call stopped because of an interrupt but returned normally (train), so the kernel can
   * still report the cell as interrupted (`KeyboardInterrupt`) and abort the cells queued after it.
   * Also called, once, when Interrupt was pressed while a call ran but the call ended without acting
   * on it (it was in its last step, or it failed with another error): the ■ must not be lost.
   * Never called for a call that threw {@link KeyboardInterrupt} (the kernel sees that error).
   */
  onInterrupted?(what: string, message: string): void;
  /**
   * Set by the library when it loads: repair tf.js's engine after a cell was stopped in the middle of a
   * tf.js call (see src/internals.ts `recoverEngine`) and, when JavaScript was `terminated` there (not
   * only the cell's promise rejected: then the calls go on and end by themselves), free what the calls
   * cut short had made ({@link abandonRunningCalls}); returns what it did, if anything.
   */
  recover?(terminated: boolean): string | undefined;
  /**
   * Publish a Jupyter `display_data` (or, with `update`, an `update_display_data` for
   * `transient.display_id`) to the cell whose code called it: the library's figures and tables go here.
   */
  display?(content: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: { display_id?: string } }, update?: boolean): void;
  /**
   * The execution the calling code belongs to (its async context: work an earlier cell left running
   * reports that cell's), with the frontend's cell id where the execute request carried one
   * (`metadata.cellId`, sent by JupyterLab and Notebook 7; not by the classic Notebook or nbclient).
   */
  cell?(): CellRef | undefined;
  /**
   * Whether the cell `cellId` ran again after execution `since` (its outputs were replaced) or the
   * frontend reported it deleted (`metadata.deletedCells`).
   */
  cellGone?(cellId: string, since: number): boolean;
}

/** One execution of a cell, as the course kernel knows it; see {@link KernelHub.cell}. */
export interface CellRef {
  /** The execution count of the request whose code is running. */
  execution: number;
  /** The frontend's id of the cell, when the request carried one. */
  cellId?: string;
  /**
   * A fingerprint of the request's code: where no cell id is sent, the same code run again is most
   * likely the same cell (whose outputs the frontend has just cleared).
   */
  code?: string;
}

/** Index of the interrupt counter in {@link KernelHub.state}. */
export const INTERRUPTS = 0;
/** Index of the running-calls counter in {@link KernelHub.state}. */
export const RUNNING = 1;
/** Index of the interrupt count at which the current cell began, in {@link KernelHub.state}. */
export const CELL_START = 2;

/** The hub of the course kernel this process runs in, or undefined outside it. */
export function kernelHub(): KernelHub | undefined {
  const hub = (globalThis as Record<symbol, unknown>)[KERNEL_HUB_KEY] as KernelHub | undefined;
  return hub && hub.state instanceof Int32Array ? hub : undefined;
}

/**
 * Thrown by a library call stopped by the kernel's Interrupt whose result would be incomplete
 * (`decode`, `generate`, `sampleText`, multi-step diagnostics). Named as Python's, which Jupyter tools
 * recognise; the course kernel reports it as the cell's `ename`.
 */
export class KeyboardInterrupt extends Error {
  /** What the call had produced when it stopped (e.g. the text sampled so far), when that is useful. */
  readonly partial?: unknown;
  constructor(message: string, partial?: unknown) {
    super(message);
    this.name = 'KeyboardInterrupt';
    if (partial !== undefined) this.partial = partial;
  }
}

/** A running library call that can be stopped by Interrupt or by an `AbortSignal`. */
export interface Interruptible {
  /** Why the call should stop now: `'interrupt'` (the kernel's ■), `'signal'` (options.signal), or null. */
  readonly reason: 'interrupt' | 'signal' | null;
  /**
   * Throw {@link KeyboardInterrupt} (or the signal's reason) when the call should stop; `done` says how
   * far it got (a function: it is called only when stopping, so a per-step check builds no string).
   */
  throwIfStopped(done: string | (() => string), partial?: unknown): void;
  /** Tell the kernel the call ended early but returned normally (train): the cell is reported as interrupted. */
  reportReturned(message: string): void;
  /**
   * What to free if JavaScript is stopped in the middle of this call (the kernel's second Interrupt
   * terminates a synchronous cell; no `finally` runs then), and what the user should know about the
   * state it leaves (`note`, e.g. 'the model may hold a partly applied step').
   */
  onAbandon(release: () => void, note?: string): void;
  /**
   * Leave: must run in a `finally`. An interrupt that came while the call ran and was neither thrown
   * nor reported is reported here (`onInterrupted`), so the kernel still stops the cell.
   */
  end(): void;
}

/**
 * Enter an interruptible call named `what` (e.g. `'train'`). Interrupts requested since the current cell
 * began count (`state[2]`; with a hub too short to hold it, those since this moment). Use as
 * ```ts
 * const op = interruptible('decode', options.signal);
 * try { for (…) { op.throwIfStopped(`${t}/${T} steps`); … } } finally { op.end(); }
 * ```
 */
export function interruptible(what: string, signal?: AbortSignal): Interruptible {
  if (typeof what !== 'string' || what === '') throw new TypeError(`interruptible: what must be the call's name, a non-empty string (e.g. 'myLoop'); got ${what === '' ? "''" : typeof what}`);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`interruptible(${JSON.stringify(what)}): signal must be an AbortSignal (new AbortController().signal) or undefined; got ${signal === null ? 'null' : typeof signal}`);
  }
  const hub = kernelHub();
  const start = !hub ? 0 : Atomics.load(hub.state, hub.state.length > CELL_START ? CELL_START : INTERRUPTS);
  if (hub) Atomics.add(hub.state, RUNNING, 1);
  let ended = false;
  const call: LiveCall = { what };
  live.add(call);
  const interrupted = () => hub !== undefined && Atomics.load(hub.state, INTERRUPTS) !== start;
  /** Mark the current interrupt as made known to the kernel; false if it already was (by this call or one inside it). */
  const tell = () => {
    const now = Atomics.load(hub!.state, INTERRUPTS);
    if (toldAt.get(hub!.state) === now) return false;
    toldAt.set(hub!.state, now);
    return true;
  };
  return {
    get reason() {
      if (interrupted()) return 'interrupt';
      if (signal?.aborted) return 'signal';
      return null;
    },
    throwIfStopped(done: string | (() => string), partial?: unknown) {
      const r = this.reason;
      if (r === null) return;
      const text = typeof done === 'function' ? done() : done;
      if (r === 'interrupt') {
        tell();
        throw new KeyboardInterrupt(`${what} interrupted after ${text}`, partial);
      }
      throw signal!.reason ?? new Error(`${what} aborted after ${text}`);
    },
    reportReturned(message: string) {
      if (interrupted() && tell()) hub!.onInterrupted?.(what, message);
    },
    onAbandon(release: () => void, note?: string) {
      call.release = release;
      call.note = note;
    },
    end() {
      if (ended) return;
      ended = true;
      live.delete(call);
      if (!hub) return;
      // Never below 0: the kernel resets the count when a cell begins (a call stopped by tslab's own
      // interrupt never ends), and a call of an earlier cell may end after that.
      for (let v = Atomics.load(hub.state, RUNNING); v > 0; v = Atomics.load(hub.state, RUNNING)) {
        if (Atomics.compareExchange(hub.state, RUNNING, v, v - 1) === v) break;
      }
      if (interrupted() && tell()) hub.onInterrupted?.(what, `${what} ended before the interrupt could stop it`);
    },
  };
}

/** A call between {@link interruptible} and its `end()`. */
interface LiveCall { what: string; release?: () => void; note?: string }
const live = new Set<LiveCall>();

/**
 * For the kernel, after it stopped JavaScript in the middle of a cell: the calls that were running
 * will never reach their `finally`; free what each registered with `onAbandon` and forget them.
 * Returns one line per call cut, e.g. `train was cut mid-step: the model may hold a partly applied step`.
 */
export function abandonRunningCalls(): string[] {
  const lines: string[] = [];
  for (const call of [...live].reverse()) {              // innermost first
    try { call.release?.(); } catch { /* it was half-made: free what can be freed */ }
    lines.push(`${call.what} was cut mid-step${call.note ? `: ${call.note}` : ''}`);
  }
  live.clear();
  return lines;
}

/**
 * The interrupt count at which the kernel was last told of an interrupt (a KeyboardInterrupt thrown or
 * onInterrupted called), so that calls nested in one another tell it once per press.
 */
const toldAt = new WeakMap<Int32Array, number>();

/**
 * A test of whether Interrupt has been pressed since this moment, for something that outlives the call
 * that made it (a live figure). Unlike {@link interruptible} it does not count as a running call, so
 * the kernel still interrupts the cell its own way when no library call is running.
 */
export function interruptWatch(): () => boolean {
  const hub = kernelHub();
  if (!hub) return () => false;
  const start = Atomics.load(hub.state, INTERRUPTS);
  return () => Atomics.load(hub.state, INTERRUPTS) !== start;
}

/**
 * How far a run through a model's recurrent layers got, for an interrupt's message: `37/500 steps`,
 * with the layer (`of layer rnn_l1 (2/2)`) when there are several and the direction when it runs backward.
 */
export function stepProgress(t: number, T: number, d: number, layer?: { name: string; index: number; count: number }): string {
  const where = layer && layer.count > 1 ? ` of layer ${layer.name} (${layer.index + 1}/${layer.count})` : '';
  return `${t}/${T} steps${where}${d === 1 ? ' (backward direction)' : ''}`;
}

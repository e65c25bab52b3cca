/**
 * The cell registry: kind → {@link CellFamily}, the one description of each cell type. Layers,
 * builders, parameter counts, weight layouts (lecture, Keras, PyTorch), Keras import, diagnostics and
 * the fused dispatch look a family up here instead of switching on the kind. Adding a cell type is one
 * family file plus one `registerCell` call (tests/unit/cell-registry.test.mjs adds a minimal gated unit).
 */
import * as tf from '@tensorflow/tfjs';
import { BlockActivation, CellFamily, CellKind, CellOptions, RnnActivation, StepResult, StepWeights, cellDefaults } from './family';
import { shapeText } from './inputs';
import { RNN_FAMILY } from './rnn';
import { LSTM_FAMILY } from './lstm';
import { GRU_FAMILY } from './gru';
import { GATES, KIND_OF_CODE } from './fused/kernels';
import { checkOptions } from './options';
import { describe } from './describe';

const registry = new Map<string, CellFamily>();
/** The library's own cells: never replaced (a registered kind may be registered again, e.g. a re-run cell). */
const BUILTIN_KINDS: readonly string[] = ['rnn', 'lstm', 'gru'];
const hooks: ((family: CellFamily) => void)[] = [];

const FAMILY_KEYS = ['kind', 'gates', 'hasCell', 'activations', 'options', 'recurrentBias', 'forgetGate', 'keras', 'pytorch', 'fused', 'prepare', 'step', 'recurrentMask'];
const CELL_OPTION_KEYS: readonly (keyof CellOptions)[] = ['activation', 'resetAfter', 'update', 'recurrentActivation'];
const BLOCK_ACTIVATIONS: readonly BlockActivation[] = ['gate', 'activation', 'tanh'];
const RNN_ACTIVATIONS: readonly RnnActivation[] = ['tanh', 'relu', 'sigmoid', 'linear'];

/** Throw unless `order` names each of the family's gates once. */
function checkOrder(where: string, what: string, order: unknown, gates: readonly string[]): void {
  if (!Array.isArray(order) || order.length !== gates.length || [...order].sort().join() !== [...gates].sort().join()) {
    throw new Error(`${where}: ${what} must list the gates ${gates.join(', ')} once each, in that layout's order; got ${Array.isArray(order) ? JSON.stringify(order) : describe(order)}`);
  }
}

/** Check a descriptor's facts against each other (and against the fused kernels' ABI), naming what is wrong. */
function checkFamily(f: CellFamily): void {
  const where = 'registerCell';
  if (typeof f !== 'object' || f === null) throw new TypeError(`${where}: family must be a CellFamily object; got ${describe(f)}`);
  checkOptions(where, f, FAMILY_KEYS, 'family');
  const kind = f.kind as unknown;
  if (typeof kind !== 'string' || !/^[a-z][a-z0-9_]*$/.test(kind)) {
    throw new Error(`${where}: family.kind must be a lower-case name like 'mgu' (it names the layer class 'Lab' + KIND); got ${describe(kind)}`);
  }
  const who = `${where}(${kind})`;
  if (BUILTIN_KINDS.includes(kind) && registry.has(kind)) throw new Error(`${who}: '${kind}' is a built-in cell of the library and cannot be replaced; choose another kind`);
  const gates = f.gates;
  if (!Array.isArray(gates) || gates.length === 0 || new Set(gates).size !== gates.length || gates.some((g) => typeof g !== 'string' || g === '')) {
    throw new Error(`${who}: family.gates must be distinct gate names in storage order, e.g. ['f', 'h']; got ${describe(gates)}`);
  }
  if (typeof f.hasCell !== 'boolean') throw new Error(`${who}: family.hasCell must be a boolean (whether the state has a cell c); got ${describe(f.hasCell)}`);
  const acts = f.activations ?? {};
  checkOrder(who, 'the keys of family.activations', Object.keys(acts), gates);
  for (const [g, a] of Object.entries(acts)) {
    if (!BLOCK_ACTIVATIONS.includes(a)) throw new Error(`${who}: family.activations.${g} must be one of ${BLOCK_ACTIVATIONS.join(', ')}; got ${describe(a)}`);
  }
  if (!Array.isArray(f.options) || f.options.some((o) => !CELL_OPTION_KEYS.includes(o))) {
    throw new Error(`${who}: family.options must list CellOptions keys (${CELL_OPTION_KEYS.join(', ')}); got ${describe(f.options)}`);
  }
  const usesGate = Object.values(acts).includes('gate');
  if (usesGate !== f.options.includes('recurrentActivation')) {
    throw new Error(`${who}: family.options must include 'recurrentActivation' exactly when a gate's activation is 'gate'`);
  }
  if (Object.values(acts).includes('activation') !== f.options.includes('activation')) {
    throw new Error(`${who}: family.options must include 'activation' exactly when a block's activation is 'activation'`);
  }
  if (f.forgetGate !== undefined && !gates.includes(f.forgetGate)) throw new Error(`${who}: family.forgetGate must be one of the gates ${gates.join(', ')}; got ${describe(f.forgetGate)}`);
  if (f.keras) checkOrder(who, 'family.keras.order', f.keras.order, gates);
  if (f.pytorch) {
    checkOrder(who, 'family.pytorch.order', f.pytorch.order, gates);
    if (f.pytorch.activations?.some((a) => !RNN_ACTIVATIONS.includes(a))) throw new Error(`${who}: family.pytorch.activations must be among ${RNN_ACTIVATIONS.join(', ')}; got ${describe(f.pytorch.activations)}`);
  }
  if (f.fused) {
    // The kernels implement fixed cells by code: a descriptor can only point at the one that computes it.
    const code = f.fused.code;
    if (KIND_OF_CODE[code] !== kind || GATES[kind] !== gates.length || typeof f.fused.flags !== 'function') {
      throw new Error(`${who}: family.fused.code ${describe(code)} is not this cell's kernel (the fused kernels implement ${KIND_OF_CODE.map((k, i) => `${i} = ${k}`).join(', ')}); leave family.fused undefined to run the reference step`);
    }
  }
  if (typeof f.prepare !== 'function' || typeof f.step !== 'function') throw new Error(`${who}: family.prepare and family.step must be functions (see CellFamily)`);
  // The built-ins are tested against their equations; running them here would start a tf.js backend at import.
  if (!BUILTIN_KINDS.includes(kind)) trySteps(who, f);
}

/**
 * Run the family's prepare and step once on a batch of 2 with n = 3 (zeros) and check what comes back,
 * so that a step returning the wrong width, or no c for a cell with a cell state, is refused here,
 * naming the cell, rather than failing later in a head layer or a gradient.
 */
function trySteps(who: string, f: CellFamily): void {
  const batch = 2, n = 3, G = f.gates.length;
  const o = cellDefaults({});
  tf.tidy(() => {
    const w: StepWeights = { recurrentKernel: tf.zeros([n, G * n]) as tf.Tensor2D };
    if (f.recurrentBias?.(o)) w.recurrentBias = tf.zeros([G * n]) as tf.Tensor1D;
    const prev = { h: tf.zeros([batch, n]) as tf.Tensor2D, ...(f.hasCell ? { c: tf.zeros([batch, n]) as tf.Tensor2D } : {}) };
    let r: StepResult;
    try {
      r = f.step(tf.zeros([batch, G * n]) as tf.Tensor2D, prev, f.prepare(w, n), o);
    } catch (e) {
      throw new Error(`${who}: family.prepare/step threw on a batch of ${batch} with n = ${n} (xp [batch, G·n] = [${batch}, ${G * n}], zeros): ${(e as Error).message}`);
    }
    const shape = (t: unknown) => (t instanceof tf.Tensor ? shapeText(t.shape) : describe(t));
    const want = shapeText([batch, n]);
    if (!(r?.h instanceof tf.Tensor) || r.h.shape.join() !== [batch, n].join()) {
      throw new Error(`${who}: family.step must return h of shape [batch, n] (${want} for a batch of ${batch}, n = ${n}); got ${shape(r?.h)}`);
    }
    if (f.hasCell && (!(r.c instanceof tf.Tensor) || r.c.shape.join() !== [batch, n].join())) {
      throw new Error(`${who}: family.hasCell is true, so family.step must return c of shape [batch, n] (${want}); got ${shape(r.c)}`);
    }
    if (!f.hasCell && r.c !== undefined) throw new Error(`${who}: family.step returned c but family.hasCell is false; set hasCell: true or return { h, gates } only`);
    if (r.gates === null || typeof r.gates !== 'object') throw new Error(`${who}: family.step must return gates, an object of [batch, n] gate activations (may be empty); got ${describe(r.gates)}`);
  });
}

/**
 * Register a cell family, so that layers (`new (layerClass(kind))(options)`), the builders
 * (`buildModel(kind, spec)`), countParams, the weight helpers, save/load and the fused dispatch know it.
 * The descriptor is checked (gates, activations, orders, options; a fused code must be the kernels'
 * code for this kind) and must have a new kind. A cell without `fused` runs the reference step loop.
 *
 * Registering a kind again replaces its family (a notebook cell run twice); layers made before keep
 * the family they were made with. The built-in kinds cannot be replaced. A saved model of a registered
 * cell loads only in a process that registered the same kind first.
 *
 * @example
 * ```ts
 * // The minimal gated unit (Zhou et al. 2016): f = σ(W_xf x + W_hf h + b_f),
 * // h̃ = tanh(W_xh x + W_hh (f⊙h) + b_h), h' = (1 − f)⊙h + f⊙h̃.
 * registerCell({
 *   kind: 'mgu', gates: ['f', 'h'], hasCell: false, activations: { f: 'gate', h: 'tanh' },
 *   options: ['recurrentActivation'],
 *   prepare: (w, n) => ({ ...w, Whf: w.recurrentKernel.slice([0, 0], [n, n]), Whh: w.recurrentKernel.slice([0, n], [n, n]) }),
 *   step: (xp, prev, w, o) => {
 *     const [xf, xh] = tf.split(xp, 2, 1);                                            // [batch, n] each
 *     const f = gateActivate(tf.add(xf, tf.matMul(prev.h, w.Whf!)), o.recurrentActivation);    // [batch, n]
 *     const hTilde = tf.tanh(tf.add(xh, tf.matMul(tf.mul(f, prev.h), w.Whh!)));       // [batch, n]
 *     const h = tf.add(tf.mul(tf.sub(1, f), prev.h), tf.mul(f, hTilde));              // [batch, n]
 *     return { h, gates: { f, hTilde } };
 *   },
 * });
 * const model = buildModel('mgu', { inputSize: 3, hiddenSize: 8, outputSize: 1 });
 * ```
 * @throws naming the field when the descriptor is inconsistent, or when the kind is taken
 */
export function registerCell(family: CellFamily): CellFamily {
  checkFamily(family);
  registry.set(family.kind, family);
  for (const hook of hooks) hook(family);
  return family;
}

/** The registered kinds, built-ins first. */
export function cellKinds(): CellKind[] {
  return [...registry.keys()];
}

/** The family of a kind, or undefined. */
export function findCell(kind: unknown): CellFamily | undefined {
  return typeof kind === 'string' ? registry.get(kind) : undefined;
}

/**
 * The family of a registered kind.
 *
 * @throws RangeError naming `where` and the known kinds when `kind` is not registered
 */
export function cellFamily(kind: CellKind, where = 'cellFamily'): CellFamily {
  const f = findCell(kind);
  if (!f) throw new RangeError(`${where}: unknown cell kind ${describe(kind)}; registered: ${cellKinds().map((k) => `'${k}'`).join(', ')} (add one with registerCell)`);
  return f;
}

/** Run `hook` for every family registered so far and every one registered later (layers.ts makes their layer classes). */
export function onCellRegistered(hook: (family: CellFamily) => void): void {
  hooks.push(hook);
  for (const f of registry.values()) hook(f);
}

/** Whether the family's equations read option `key`. */
export function readsOption(family: CellFamily, key: keyof CellOptions): boolean {
  return family.options.includes(key);
}

/**
 * Refuse a value other than the default for an option the family's equations do not read (it would
 * change nothing, silently); the default itself is accepted, so a saved config, which lists every
 * option, loads. Used by the layers, the builders (through them) and countParams.
 *
 * @throws RangeError naming `where`, the option, the cells that read it and the value given
 */
export function checkUnreadOptions(where: string, family: CellFamily, given: CellOptions & { unitForgetBias?: boolean }): void {
  const defaults = { ...cellDefaults({}), unitForgetBias: true };
  const reads = (f: CellFamily, key: keyof typeof defaults) => (key === 'unitForgetBias' ? f.forgetGate !== undefined : readsOption(f, key));
  for (const key of ['activation', 'resetAfter', 'update', 'unitForgetBias'] as const) {
    const value = given[key];
    if (value === undefined || reads(family, key) || value === defaults[key]) continue;
    const readers = [...registry.values()].filter((f) => reads(f, key)).map((f) => `'${f.kind}'`);
    throw new RangeError(`${where}: option ${key} is read only by ${readers.join(', ')} cells; the '${family.kind}' cell's equations do not use it, so ${describe(value)} would change nothing (leave it out)`);
  }
}

/** Whether a layer of this family with these options keeps a second bias block b_hh. */
export function hasRecurrentBias(family: CellFamily, o: Required<CellOptions>): boolean {
  return family.recurrentBias?.(o) ?? false;
}

/** A family's gate order in a layout. Throws naming the cell when it has no such layout. */
export function gateOrder(family: CellFamily, layout: 'lecture' | 'keras' | 'pytorch', where: string): readonly string[] {
  if (layout === 'lecture') return family.gates;
  const order = layout === 'keras' ? family.keras?.order : family.pytorch?.order;
  if (!order) throw new Error(`${where}: the '${family.kind}' cell has no ${layout === 'keras' ? 'Keras/tf.layers' : 'PyTorch'} equivalent (its CellFamily has no ${layout} entry)`);
  return order;
}

/**
 * Parameters of one layer direction, by the one formula every family follows: G blocks of
 * n·m (input kernel) + n² (recurrent kernel) + B·n (B = 1 bias, or 2 with a recurrent bias), plus a
 * learned initial h0 (and c0) of n each.
 */
export function directionParams(family: CellFamily, n: number, m: number, o: Required<CellOptions>, learnedState: boolean): number {
  const G = family.gates.length;
  const biases = (hasRecurrentBias(family, o) ? 2 : 1) * n;
  const init = learnedState ? (family.hasCell ? 2 * n : n) : 0;
  return G * (n * m + n * n + biases) + init;
}

// The built-in families, in kind-code order.
registerCell(RNN_FAMILY);
registerCell(LSTM_FAMILY);
registerCell(GRU_FAMILY);

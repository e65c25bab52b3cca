/**
 * The fused training step (issue 20): one optimizer step of a builder model in one call on plain
 * arrays — forward through every recurrent layer (the fused kernels, ./index.ts ArrayCall), the dense
 * head and the loss, BPTT, the global gradient norm, clipping and the optimizer update — instead of a
 * tf.js op per tensor per stage (at hidden 64 those ops took about half of each step).
 *
 * The weights live in one flat Float32Array θ between steps, in the order of `model.trainableWeights`;
 * the gradient g and the optimizer's slots are flat arrays of the same layout (in wasm memory beside the
 * update kernels, ./index.ts UpdateArrays), so clipping is one loop and the update one kernel call.
 * After every step θ is written back to the model's tf.js variables ({@link FusedTrainStep.sync}), so
 * whatever user code sees between steps (a callback, an Interrupt, an abort, a save) holds the weights
 * of the last finished step.
 *
 * Numerics follow the tf.js path it replaces, not a new definition: the losses of ../losses.ts
 * (clipped probabilities and their zero gradient outside the clip, means over real steps), the
 * optimizers of tf.js 4.22 (tfjs-core/src/optimizers: sgd, momentum 0.9, rmsprop with decay 0.9 and
 * ε = 1e-7, adam with β1 0.9, β2 0.999, ε = 1e-7 and tf.js's bias correction), and ../train.ts's
 * clipping (value, then global norm). Sums are taken in float64; results are stored as float32. The
 * optimizer updates (asm/optimizer.ts) run op for op in float32 as tf.js's do, so they equal tf.train's
 * bit for bit.
 *
 * Covered: builder models (buildRNN/LSTM/GRU/buildModel) with feature or token inputs (an embedding,
 * with or without padId), topology 'many-to-one' or 'many-to-many', any number of layers, uni- or
 * bidirectional, zero initial states, every layer on the fused kernels, dropout (the layers' `dropout` and
 * `recurrentDropout`, the builder's LabDropout before the head: masks drawn by the layers' own methods,
 * RecurrentLayer.drawDropoutArrays and LabDropout.nextMask, so the same streams, order and calls as the
 * tf.js step; input masks applied on the flat arrays and to their gradients, recurrent masks handed to
 * the kernels), a dense head (linear, sigmoid or softmax), the losses 'mse', 'crossEntropy' (softmax head) and 'binaryCrossEntropy' (sigmoid head), by
 * name or as lossFunction makes them, lengths, no truncated BPTT. {@link FusedTrainStep.create} says why
 * anything else runs the tf.js path. The data's values (token ids included) are train's to check, once,
 * before the first step.
 */
import * as tf from '@tensorflow/tfjs';
import type { CellOptions } from '../family';
import { specOf } from '../build';
import { allFull } from '../lengths';
import type { RecurrentLayer } from '../layers';
import type { LabDropout } from '../dropout';
import { builtinLossOf } from '../losses';
import type { LossSpec } from '../losses';
import { trainingDisabled } from '../no-training';
import { ArrayCall, UpdateArrays, fusedSupport, headMatmul } from './index';
import type { WeightGrads } from './index';

/** The optimizers {@link FusedTrainStep} runs, by train's names, and the slots (arrays the size of θ) each keeps. */
const SLOTS = { sgd: 0, momentum: 1, rmsprop: 1, adam: 2 } as const;

/** The optimizers {@link FusedTrainStep} runs, by train's names (train checks options.optimizer first). */
export type StepOptimizerName = keyof typeof SLOTS;

/** What train asks of a step. */
export interface FusedStepOptions {
  optimizer: StepOptimizerName;
  learningRate: number;
  loss: LossSpec;
  clipNorm?: number;
  clipValue?: number;
  tbptt?: number;
}

/** One recurrent layer of the plan: the layer, its cell options for the kernels, and θ views per direction. */
interface LayerPlan {
  layer: RecurrentLayer;
  options: CellOptions;
  /** Feature size of the layer's input. */
  m: number;
  n: number;
  dirs: number;
  /** Whether the layer returns its whole sequence (else its last h). */
  sequence: boolean;
  /** Per direction, the offsets of kernel [m, G·n], recurrent_kernel [n, G·n], bias [G·n], recurrent_bias [G·n] in θ. */
  at: { K: number; U: number; B: number; Bh?: number }[];
}

interface Plan {
  /** The builder's LabDropout between the top recurrent layer and the head (spec.dropout > 0). */
  headDropout?: LabDropout;
  /** Token inputs: the embedding table [V, e] in θ, and the id that pads rows (the layers then run each row for its own length). */
  embedding?: { at: number; V: number; e: number; padId?: number };
  layers: LayerPlan[];
  head: { W: number; b: number; F: number; k: number; activation: 'linear' | 'sigmoid' | 'softmax' };
  perStep: boolean;
  loss: 'mse' | 'crossEntropy' | 'binaryCrossEntropy';
  /** model.trainableWeights: each one's offset and size in θ. */
  weights: { variable: tf.LayerVariable; at: number; size: number; name: string }[];
  size: number;
}

/** The plan of a model, or why the fused step cannot train it (a sentence). */
function planOf(model: tf.LayersModel, o: FusedStepOptions): Plan | string {
  let spec: ReturnType<typeof specOf>;
  try {
    spec = specOf(model);
  } catch {
    return 'the model was not made by a builder (buildRNN, buildLSTM, buildGRU, buildModel)';
  }
  const topology = (spec.topology as string | undefined) ?? 'many-to-one';
  if (topology !== 'many-to-one' && topology !== 'many-to-many') return `topology '${topology}' (the fused step covers many-to-one and many-to-many)`;
  if (o.tbptt !== undefined) return 'truncated BPTT (options.tbptt) runs the tf.js step loop';
  // A name, or a function lossFunction(name) made (on probabilities): the built-in losses.
  const builtin = typeof o.loss === 'string' ? { name: o.loss, fromLogits: false } : builtinLossOf(o.loss);
  if (!builtin) return 'a custom loss function (the fused step has the built-in losses only)';
  if (builtin.fromLogits) return `lossFunction('${builtin.name}', true), a loss on logits (the fused step has the built-in losses on the head's outputs)`;
  const lossName = builtin.name;
  const layers = model.layers;
  const head = layers[layers.length - 1] as unknown as { getConfig(): Record<string, unknown>; getClassName(): string; trainableWeights: tf.LayerVariable[] };
  const act = head.getConfig().activation as string;
  if (head.getClassName() !== 'Dense' || !['linear', 'sigmoid', 'softmax'].includes(act) || head.getConfig().useBias === false) return 'the output layer is not a dense head with a bias and a linear, sigmoid or softmax activation';
  if (lossName === 'crossEntropy' && act !== 'softmax') return `loss 'crossEntropy' with a '${act}' head`;
  if (lossName === 'binaryCrossEntropy' && act !== 'sigmoid') return `loss 'binaryCrossEntropy' with a '${act}' head`;
  const tokens = spec.vocabSize !== undefined;
  // The builders' dropout before the head (spec.dropout > 0): a LabDropout named 'dropout'.
  const beforeHead = layers[layers.length - 2];
  const headDropout = beforeHead.getClassName() === 'LabDropout' ? beforeHead as unknown as LabDropout : undefined;
  const middle = layers.slice(tokens ? 2 : 1, headDropout ? -2 : -1) as unknown as RecurrentLayer[];
  if (tokens && layers[1].getClassName() !== 'LabEmbedding') return 'token inputs without the builder\'s embedding layer';
  if (layers[0].getClassName() !== 'InputLayer' || middle.length === 0 || middle.some((l) => typeof (l as { variablesOf?: unknown }).variablesOf !== 'function')) {
    return 'the model is not input → recurrent layers → dense head';
  }
  const plan: Plan = { ...(headDropout && headDropout.rate > 0 ? { headDropout } : {}), layers: [], head: { W: 0, b: 0, F: 0, k: 0, activation: act as Plan['head']['activation'] }, perStep: topology === 'many-to-many', loss: lossName, weights: [], size: 0 };
  // θ's layout: model.trainableWeights in order.
  const offset = new Map<tf.LayerVariable, number>();
  for (const w of model.trainableWeights) {
    const size = (w.shape as number[]).reduce((a, d) => a * d, 1);
    offset.set(w, plan.size);
    plan.weights.push({ variable: w, at: plan.size, size, name: w.originalName ?? w.name });
    plan.size += size;
  }
  const where = (w: tf.LayerVariable | undefined) => (w ? offset.get(w) : undefined);
  if (tokens) {
    const emb = layers[1] as unknown as { trainableWeights: tf.LayerVariable[]; vocabSize: number; embeddingSize: number; padId?: number; trainable: boolean };
    const at = where(emb.trainableWeights[0]);
    if (at === undefined || !emb.trainable) return 'the embedding is frozen (trainable = false)';
    plan.embedding = { at, V: emb.vocabSize, e: emb.embeddingSize, ...(emb.padId !== undefined ? { padId: emb.padId } : {}) };
  }
  for (const layer of middle) {
    if (layer.impl !== 'fused') return `layer '${layer.name}' runs impl '${layer.impl}'`;
    if (layer.initialStateMode !== 'zeros') return `layer '${layer.name}' has a learned initial state`;
    if (layer.goBackwards || layer.returnState) return `layer '${layer.name}' reads backwards or returns its state`;
    if (!layer.trainable) return `layer '${layer.name}' is frozen (trainable = false)`;
    const options = layer.kernelOptions();
    const why = fusedSupport(layer.kind, options);
    if (why) return `layer '${layer.name}': ${why}`;
    const at: LayerPlan['at'] = [];
    for (let d = 0; d < layer.directions; d++) {
      const v = layer.variablesOf(d);
      const K = where(v.kernel), U = where(v.recurrent_kernel), B = where(v.bias), Bh = where(v.recurrent_bias);
      if (K === undefined || U === undefined || B === undefined || (v.recurrent_bias && Bh === undefined)) return `layer '${layer.name}' has a weight that is not trainable`;
      at.push({ K, U, B, ...(Bh !== undefined ? { Bh } : {}) });
    }
    plan.layers.push({ layer, options, m: layer.inputSize!, n: layer.units, dirs: layer.directions, sequence: layer.returnSequences, at });
  }
  const [W, bias] = head.trainableWeights;
  const hw = where(W), hb = where(bias);
  if (hw === undefined || hb === undefined || !head.trainableWeights.length) return 'the head is frozen';
  plan.head = { W: hw, b: hb, F: W.shape[0] as number, k: W.shape[1] as number, activation: plan.head.activation };
  const counted = plan.layers.reduce((s, l) => s + l.at.length * (l.at[0].Bh !== undefined ? 4 : 3), tokens ? 3 : 2);
  if (counted !== plan.weights.length) return 'the model has trainable weights outside its recurrent layers and head';
  return plan;
}

/** What one step reports (train's StepLog fields). */
export interface FusedStepResult {
  /** The batch's mean loss (float64 sum of float32 terms). */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Global norm of what was applied. */
  clippedNorm: number;
  clipped: boolean;
  /**
   * False when the loss or the norm was not finite: no update; θ went back to the weights before the
   * last applied update (where the last finite loss was measured), as train's tf.js path restores them.
   */
  applied: boolean;
  /** Per-weight gradient norms (before clipping), by short name. */
  paramNorms: Record<string, number>;
}

/**
 * One batch: x [b, T, m] features, or [b, T] token ids for a token model; targets y ([b, k] or [b, T, k];
 * class ids [b] or [b, T] for crossEntropy); the rows' lengths (null: every row has T steps), which also
 * select the scored steps of per-step targets. A token model with a padId runs each row to its first
 * padId, as its embedding's mask makes the tf.js path do.
 */
export interface StepBatch {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  b: number;
  T: number;
  lengths: Int32Array | null;
}

/** The model's step, with its weights in θ between steps. Make with {@link FusedTrainStep.create}. */
export class FusedTrainStep {
  private readonly theta: Float32Array;
  private readonly grad: Float32Array;
  private readonly slots: Float32Array[];
  /** θ before the last applied update: the weights at which the last finite loss was measured. */
  private readonly lastGood: Float32Array;
  /** tf.js Adam's accumulated β1^t and β2^t (float32 scalars there). */
  private accBeta1 = Math.fround(0.9);
  private accBeta2 = Math.fround(0.999);

  /** θ, g and the slots, in wasm memory beside the optimizer's update kernels. */
  private readonly mem: UpdateArrays;

  private constructor(private readonly plan: Plan, private readonly o: FusedStepOptions) {
    this.mem = new UpdateArrays(plan.size, 2 + SLOTS[o.optimizer]);
    [this.theta, this.grad, ...this.slots] = this.mem.arrays;
    this.lastGood = new Float32Array(plan.size);
    this.load();
  }

  /** The step for a model, or why it cannot be made (a sentence). */
  static create(model: tf.LayersModel, options: FusedStepOptions): FusedTrainStep | string {
    const p = planOf(model, options);
    if (typeof p === 'string') return p;
    return new FusedTrainStep(p, options);
  }

  /** ‖g‖, summed weight by weight in float64; each weight's own norm goes into `perWeight` when given. */
  private gradNorm(perWeight?: Record<string, number>): number {
    const g = this.grad;
    let sq = 0;
    for (const w of this.plan.weights) {
      let s = 0;
      const end = w.at + w.size;                                           // (hoisted: 3× faster than w.at + w.size per element)
      for (let i = w.at; i < end; i++) {
        const v = g[i];
        s += v * v;
      }
      if (perWeight) perWeight[w.name] = Math.sqrt(s);
      sq += s;
    }
    return Math.sqrt(sq);
  }

  /** θ ← the model's tf.js variables. */
  load(): void {
    for (const w of this.plan.weights) this.theta.set(w.variable.read().dataSync() as Float32Array, w.at);
    this.lastGood.set(this.theta);
  }

  /** The model's tf.js variables ← θ. */
  sync(): void {
    tf.tidy(() => {
      for (const w of this.plan.weights) w.variable.write(tf.tensor(this.theta.slice(w.at, w.at + w.size), w.variable.shape as number[]));
    });
  }

  /** One optimizer step on a batch. */
  step(batch: StepBatch): FusedStepResult {
    const g = this.grad;
    const lossValue = this.forwardBackward(batch);
    const paramNorms: Record<string, number> = {};
    const norm = this.gradNorm(paramNorms);
    if (!Number.isFinite(lossValue) || !Number.isFinite(norm)) {
      // As train's tf.js path: back to the weights at which the last finite loss was measured.
      this.theta.set(this.lastGood);
      return { loss: lossValue, gradNorm: norm, clippedNorm: norm, clipped: false, applied: false, paramNorms };
    }
    // Clipping as ../train.ts clipWith: by value first, then by the global norm after it.
    let clipped = false;
    let normBefore = norm;
    const { clipValue, clipNorm } = this.o;
    if (clipValue !== undefined) {
      for (let i = 0; i < g.length; i++) g[i] = g[i] > clipValue ? clipValue : g[i] < -clipValue ? -clipValue : g[i];
      normBefore = this.gradNorm();
    }
    if (clipNorm !== undefined && normBefore > clipNorm) {
      const scale = clipNorm / normBefore;
      for (let i = 0; i < g.length; i++) g[i] *= scale;
      clipped = true;
    }
    let clippedNorm = norm;
    if (clipValue !== undefined || clipped) {
      // Summed as `norm` was, weight by weight: a clipping that changed nothing gives the same bits, and
      // is not called clipped (one flat sum differs from the per-weight sums in the last bits).
      clippedNorm = clipped ? this.gradNorm() : normBefore;
      clipped = clipped || clippedNorm < norm;
    }
    // RNN_LAB_NO_TRAINING=1 (../no-training.ts): the step is computed and reported, θ stays where it was.
    this.lastGood.set(this.theta);
    if (!trainingDisabled()) this.update();
    return { loss: lossValue, gradNorm: norm, clippedNorm, clipped, applied: true, paramNorms };
  }

  /**
   * θ ← optimizer(θ, g), as tf.js 4.22's optimizers compute it: op for op in float32 (asm/optimizer.ts),
   * with tf.js's float32 scalars for the constants (Math.fround below), so θ and the slots are tf.train's
   * bit for bit.
   */
  private update(): void {
    const f = Math.fround, lr = this.o.learningRate;
    switch (this.o.optimizer) {
      case 'sgd':
        this.mem.sgd(f(-lr));
        break;
      case 'momentum':
        this.mem.momentum(f(0.9), f(-lr));
        break;
      case 'rmsprop':
        // tf.train.rmsprop(lr): decay 0.9, momentum 0 (its moment slot is then just this step's move).
        this.mem.rmsprop(f(0.9), f(1 - 0.9), f(lr), f(1e-7));
        break;
      case 'adam': {
        // tf.js's accBeta variables are float32, and 1 − accBeta is a float32 op.
        this.mem.adam(f(0.9), f(1 - 0.9), f(0.999), f(1 - 0.999), f(1 - this.accBeta1), f(1 - this.accBeta2), f(1e-7), f(-lr));
        this.accBeta1 = f(this.accBeta1 * f(0.9));
        this.accBeta2 = f(this.accBeta2 * f(0.999));
        break;
      }
    }
  }

  /** Forward, loss and backward of a batch: g ← ∂L/∂θ; returns L. */
  private forwardBackward(batch: StepBatch): number {
    const { b, T } = batch;
    const th = this.theta, g = this.grad;
    const view = (at: number, size: number) => th.subarray(at, at + size);
    const gview = (at: number, size: number) => g.subarray(at, at + size);
    const emb = this.plan.embedding;
    // The layers' lengths: a padId model's rows end at their first padId (its embedding's mask).
    let lengths = emb?.padId !== undefined ? padLengths(batch.x, b, T, emb.padId) : batch.lengths;
    if (lengths && allFull(lengths, T)) lengths = null;
    // ---- forward: embedding, then the recurrent layers
    let input: Float32Array;                                               // [b, T, m]
    if (emb) {
      input = new Float32Array(b * T * emb.e);
      const E = view(emb.at, emb.V * emb.e);                               // [V, e]
      for (let i = 0; i < b * T; i++) input.set(E.subarray(batch.x[i] * emb.e, (batch.x[i] + 1) * emb.e), i * emb.e);
    } else input = batch.x as Float32Array;
    const trace: ArrayCall[][] = [];
    // Dropout masks, drawn as the tf.js path draws them in a training call (the layers' own streams and
    // counters, RecurrentLayer.drawDropoutArrays, LabDropout.nextMask), so both paths drop the same units.
    const inputMasks: (Float32Array[] | undefined)[] = [];
    for (const L of this.plan.layers) {
      const { n, m, dirs, sequence } = L;
      const G = L.layer.gateCount;
      const masks = L.layer.drawDropoutArrays(b, T);                       // per direction: input [b, T, m], recurrent [b, n]
      inputMasks.push(masks?.input);
      const calls: ArrayCall[] = [];
      const outs: Float32Array[] = [];
      for (let d = 0; d < dirs; d++) {
        const at = L.at[d];
        const call = new ArrayCall(L.layer.kind, L.options, { b, T, m, n }, sequence ? 'sequence' : 'last', lengths, masks?.recurrent?.[d] ?? null);
        const xd = masks?.input ? times(input, masks.input[d]) : input;    // [b, T, m] input dropout, in time order (as the layer applies it)
        const xin = d === 1 ? reverseRows(xd, b, T, m, lengths) : xd;      // [b, T, m], in processing order
        const arrays = [xin, view(at.K, m * G * n), view(at.U, n * G * n), view(at.B, G * n), new Float32Array(b * n)];
        if (L.layer.family.hasCell) arrays.push(new Float32Array(b * n));
        if (at.Bh !== undefined) arrays.push(view(at.Bh, G * n));
        outs.push(call.forward(arrays));                                   // [b, T, n] or [b, 1(+1), n]
        calls.push(call);
      }
      trace.push(calls);
      input = sequence ? joinSequences(outs, b, T, n, lengths) : joinLast(outs, b, n, calls[0].rows);   // [b, T, dirs·n] or [b, dirs·n]
    }
    // ---- dropout before the head (LabDropout: every unit of the top layer's output, [b, T, F] or [b, F])
    const headMask = this.plan.headDropout?.nextMask(input.length) ?? null;
    if (headMask) input = times(input, headMask);
    // ---- head and loss
    const { W, b: hb, F, k, activation } = this.plan.head;
    const R = this.plan.perStep ? b * T : b;                              // rows of the head
    const Z = headMatmul(input, R, F, view(W, F * k), k, 'nn');            // [R, k] = H·W
    const bias = view(hb, k);
    for (let r = 0; r < R; r++) for (let j = 0; j < k; j++) Z[r * k + j] += bias[j];
    const scored = batch.lengths;                                           // the loss's real steps (train's mask)
    const real = (r: number) => !scored || !this.plan.perStep || r % T < scored[Math.floor(r / T)];
    const { loss, dZ } = lossAndGrad(this.plan.loss, activation, Z, batch.y, R, k, real);
    // ---- backward: head
    const gW = gview(W, F * k), gb = gview(hb, k);
    gW.set(headMatmul(input, F, R, dZ, k, 'tn'));                          // [F, k] = Hᵀ·dZ
    gb.fill(0);
    for (let r = 0; r < R; r++) for (let j = 0; j < k; j++) gb[j] += dZ[r * k + j];
    let dOut = headMatmul(dZ, R, k, view(W, F * k), F, 'nt');              // [R, F] = dZ·Wᵀ
    if (headMask) for (let i = 0; i < dOut.length; i++) dOut[i] *= headMask[i];   // through the dropout's product
    // ---- backward: recurrent layers, last first
    for (let l = this.plan.layers.length - 1; l >= 0; l--) {
      const L = this.plan.layers[l];
      const { n, m, dirs, sequence } = L;
      const G = L.layer.gateCount;
      const calls = trace[l];
      const dIn = l > 0 || emb ? new Float32Array(b * T * m) : null;       // [b, T, m]
      for (let d = 0; d < dirs; d++) {
        const at = L.at[d];
        const call = calls[d];
        const gOut = sequence ? splitSequence(dOut, b, T, n, dirs, d, lengths) : splitLast(dOut, b, n, dirs, d, call.rows);
        const into: WeightGrads = { dK: gview(at.K, m * G * n), dU: gview(at.U, n * G * n), dB: gview(at.B, G * n) };
        if (at.Bh !== undefined) into.dBh = gview(at.Bh, G * n);
        const r = call.backward(gOut, into);
        if (dIn) {
          const dx = d === 1 ? reverseRows(r.dx, b, T, m, lengths) : r.dx;
          const mask = inputMasks[l]?.[d];
          // Through input dropout's product: dx ⊙ mask (a float32 product, then the directions' float32 sum, as tf.js).
          if (mask) for (let i = 0; i < dx.length; i++) dIn[i] += Math.fround(dx[i] * mask[i]);
          else for (let i = 0; i < dx.length; i++) dIn[i] += dx[i];
        }
      }
      if (dIn) dOut = dIn;
    }
    if (emb) {
      // ∂L/∂E[id] sums ∂L/∂x over the steps that read row id (0 at padded steps: the kernels give dx = 0 there).
      const dE = gview(emb.at, emb.V * emb.e);                             // [V, e]
      dE.fill(0);
      for (let i = 0; i < b * T; i++) {
        const o = batch.x[i] * emb.e;
        for (let j = 0; j < emb.e; j++) dE[o + j] += dOut[i * emb.e + j];
      }
    }
    return loss;
  }
}

/** x ⊙ mask, elementwise (float32 products, as tf.mul). */
function times(x: Float32Array, mask: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * mask[i];
  return out;
}

/** Each row's length as its first padId (ids [b, T]; at least 1: train refused all-padding rows). */
function padLengths(ids: ArrayLike<number>, b: number, T: number, padId: number): Int32Array {
  const out = new Int32Array(b);
  for (let r = 0; r < b; r++) {
    let L = 0;
    while (L < T && ids[r * T + L] !== padId) L++;
    out[r] = Math.max(1, L);
  }
  return out;
}

/**
 * Each row reversed in time within its own length (steps k < L_b go to L_b − 1 − k; padding stays):
 * the input of a backward direction, and its outputs back to time order (its own inverse). [b, T, w]
 */
function reverseRows(x: Float32Array, b: number, T: number, w: number, lengths: Int32Array | null): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < b; r++) {
    const L = lengths ? lengths[r] : T;
    for (let t = 0; t < T; t++) {
      const s = t < L ? L - 1 - t : t;
      out.set(x.subarray((r * T + s) * w, (r * T + s + 1) * w), (r * T + t) * w);
    }
  }
  return out;
}

/** Directions' sequences [b, T, n] each (processing order) → the layer's output [b, T, dirs·n] in time order. */
function joinSequences(outs: Float32Array[], b: number, T: number, n: number, lengths: Int32Array | null): Float32Array {
  if (outs.length === 1) return outs[0];
  const back = reverseRows(outs[1], b, T, n, lengths);
  const out = new Float32Array(b * T * 2 * n);
  for (let i = 0; i < b * T; i++) {
    out.set(outs[0].subarray(i * n, (i + 1) * n), i * 2 * n);
    out.set(back.subarray(i * n, (i + 1) * n), i * 2 * n + n);
  }
  return out;
}

/** Directions' last outputs [b, rows, n] each (h first) → [b, dirs·n]. */
function joinLast(outs: Float32Array[], b: number, n: number, rows: number): Float32Array {
  const D = outs.length;
  const out = new Float32Array(b * D * n);
  for (let r = 0; r < b; r++) for (let d = 0; d < D; d++) out.set(outs[d].subarray(r * rows * n, r * rows * n + n), (r * D + d) * n);
  return out;
}

/** The gradient of direction d's sequence [b, T, n] (processing order) from the layer's [b, T, dirs·n]. */
function splitSequence(dOut: Float32Array, b: number, T: number, n: number, dirs: number, d: number, lengths: Int32Array | null): Float32Array {
  if (dirs === 1) return dOut;
  const part = new Float32Array(b * T * n);
  for (let i = 0; i < b * T; i++) part.set(dOut.subarray((i * 2 + d) * n, (i * 2 + d + 1) * n), i * n);
  return d === 1 ? reverseRows(part, b, T, n, lengths) : part;
}

/** The gradient of direction d's last output [b, rows, n] (h; c gets 0) from the layer's [b, dirs·n]. */
function splitLast(dOut: Float32Array, b: number, n: number, dirs: number, d: number, rows: number): Float32Array {
  const part = new Float32Array(b * rows * n);
  for (let r = 0; r < b; r++) part.set(dOut.subarray((r * dirs + d) * n, (r * dirs + d + 1) * n), r * rows * n);
  return part;
}

/**
 * The loss of a batch and ∂L/∂Z for the head's pre-activations Z [R, k], as ../losses.ts defines it
 * (a mean over the real rows' terms; probabilities clipped, with a zero gradient where clipped).
 */
function lossAndGrad(loss: Plan['loss'], activation: Plan['head']['activation'], Z: Float32Array, y: ArrayLike<number>, R: number, k: number,
  real: (r: number) => boolean): { loss: number; dZ: Float32Array } {
  const P = new Float32Array(R * k);                                       // [R, k] the head's outputs
  for (let r = 0; r < R; r++) {
    const z = Z.subarray(r * k, (r + 1) * k), p = P.subarray(r * k, (r + 1) * k);
    if (activation === 'linear') p.set(z);
    else if (activation === 'sigmoid') for (let j = 0; j < k; j++) p[j] = 1 / (1 + Math.exp(-z[j]));
    else {
      let max = -Infinity;
      for (let j = 0; j < k; j++) max = Math.max(max, z[j]);
      let s = 0;
      for (let j = 0; j < k; j++) s += (p[j] = Math.exp(z[j] - max));
      for (let j = 0; j < k; j++) p[j] /= s;
    }
  }
  let rowsReal = 0;
  for (let r = 0; r < R; r++) if (real(r)) rowsReal++;
  const dP = new Float32Array(R * k);                                      // [R, k] ∂L/∂P
  let total = 0;
  if (loss === 'crossEntropy') {
    for (let r = 0; r < R; r++) {
      if (!real(r)) continue;
      const c = y[r];
      const pc = P[r * k + c];
      const q = Math.min(Math.max(pc, 1e-12), 1);
      total -= Math.log(Math.fround(q));
      if (pc >= 1e-12 && pc <= 1) dP[r * k + c] = -1 / pc / rowsReal;
    }
    total = Math.fround(Math.fround(total) / rowsReal);
  } else {
    const count = rowsReal * k;
    for (let r = 0; r < R; r++) {
      if (!real(r)) continue;
      for (let j = 0; j < k; j++) {
        const i = r * k + j;
        const p = P[i], t = y[i];
        if (loss === 'mse') {
          total += (p - t) * (p - t);
          dP[i] = (2 * (p - t)) / count;
        } else {
          const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
          const fq = Math.fround(q);
          total -= t * Math.log(fq) + (1 - t) * Math.log(Math.fround(1 - fq));
          if (p >= 1e-7 && p <= 1 - 1e-7) dP[i] = -(t / fq - (1 - t) / Math.fround(1 - fq)) / count;
        }
      }
    }
    // tf.js sums the terms in float32: a sum beyond float32's range is Infinity there, so here too.
    total = Math.fround(Math.fround(total) / count);
  }
  // Through the activation.
  const dZ = new Float32Array(R * k);
  for (let r = 0; r < R; r++) {
    const o = r * k;
    if (activation === 'linear') for (let j = 0; j < k; j++) dZ[o + j] = dP[o + j];
    else if (activation === 'sigmoid') for (let j = 0; j < k; j++) dZ[o + j] = dP[o + j] * P[o + j] * (1 - P[o + j]);
    else {
      let s = 0;
      for (let j = 0; j < k; j++) s += dP[o + j] * P[o + j];
      for (let j = 0; j < k; j++) dZ[o + j] = P[o + j] * (dP[o + j] - s);
    }
  }
  return { loss: total, dZ };
}

/**
 * Save and load models in tf.js's layers-model format (model.json + binary weight files), without
 * tfjs-node.
 *
 * A save writes only what it creates: `model.json`, one `weights-<id>.bin` and, while it runs, a
 * journal `.rnn-lab-save.json`. Nothing else in the folder is touched. The order makes a crash at
 * any point harmless:
 *   1. journal: the new weights file's name, and the previous save's weights files (to remove later);
 *   2. the new weights under a fresh name (atomic: temp file, fsync, rename) — the old model.json
 *      still points to the old weights, so the old model loads;
 *   3. model.json (atomic) — the commit point: from here the new model loads;
 *   4. the previous rnn-lab weights files, then the journal, are removed.
 * A save interrupted before step 3 leaves the old model (or, in a fresh folder, no model.json and a
 * journal, which loadModel reports as an interrupted save); the next save removes the leftovers the
 * journal lists. A `model.json` that rnn-lab did not write (no `rnnLab` key) is never overwritten
 * unless asked.
 *
 * Loading follows the tf.js layers-model format completely: every weightsManifest group, every shard
 * (concatenated in order within a group), weights matched to the model's by name.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import * as tf from '@tensorflow/tfjs';
import './layers';  // registers LabRNN, LabLSTM, LabGRU for deserialization
import { checkOptions } from './options';
import { describe } from './describe';
import { shapeText } from './inputs';
import { writeFileAtomic, fsyncDir } from './files';
import { guardModel } from './guard';
import type { StoredSpec } from './builders';

/** The key rnn-lab adds to model.json; tf.js ignores keys it does not know. */
const MARKER_KEY = 'rnnLab';
const SAVED_BY = 'rnn-lab saveModel';
/** Present only while a save runs (or after one was interrupted). */
export const SAVE_JOURNAL = '.rnn-lab-save.json';

/** Options of {@link saveModel}. */
export interface SaveModelOptions {
  /**
   * Replace a `model.json` in `dir` that rnn-lab did not write (a tf.js or Keras-converted model).
   * Its weight files are left in place: they are not rnn-lab's to remove. Default false: an error.
   */
  overwrite?: boolean;
}

interface Marker { savedBy: string; weights: string[] }
interface Journal { savedBy: string; pending: string[]; obsolete: string[] }

// Test hook: called after each step of a save, so a test can stop the process there (a crash).
let stepHook: ((step: 'journal' | 'weights' | 'model.json' | 'obsolete') => void) | undefined;
/** @internal For tests only: `fn(step)` runs after each save step ('journal', 'weights', 'model.json', 'obsolete'). */
export function _setSaveStepHook(fn: typeof stepHook): void { stepHook = fn; }

/** A bare file name (no folder part), as rnn-lab writes them. Anything else in a marker or journal is not acted on. */
function isBareName(f: unknown): f is string {
  return typeof f === 'string' && f.length > 0 && f === path.basename(f) && f !== '.' && f !== '..';
}

function readJson(file: string): unknown {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return undefined; }
}

/** What is at dir/model.json: absent, rnn-lab's (with the weights files it wrote), or someone else's. */
function existingModel(jsonPath: string): { exists: boolean; ours: boolean; weights: string[]; referenced: Set<string> } {
  if (!fs.existsSync(jsonPath)) return { exists: false, ours: false, weights: [], referenced: new Set() };
  const json = readJson(jsonPath) as Record<string, any> | undefined;
  const marker = json?.[MARKER_KEY] as Marker | undefined;
  const referenced = new Set<string>();
  if (Array.isArray(json?.weightsManifest)) {
    for (const g of json!.weightsManifest) for (const p of g?.paths ?? []) if (typeof p === 'string') referenced.add(path.normalize(p));
  }
  if (marker?.savedBy === SAVED_BY && Array.isArray(marker.weights)) return { exists: true, ours: true, weights: marker.weights.filter(isBareName), referenced };
  // A save by rnn-lab before the marker existed: a builder model (its spec in the metadata) with the
  // one weights file that version always wrote. It is ours to replace, so re-saving an old model works.
  const legacy = json?.userDefinedMetadata?.['rnn-lab'] !== undefined && referenced.size === 1 && referenced.has('weights.bin');
  return { exists: true, ours: legacy, weights: legacy ? ['weights.bin'] : [], referenced };
}

/** Remove what an interrupted save listed in its journal and the current model.json does not use. */
function cleanInterruptedSave(dir: string, referenced: Set<string>): void {
  const file = path.join(dir, SAVE_JOURNAL);
  if (!fs.existsSync(file)) return;
  const j = readJson(file) as Journal | undefined;
  if (j?.savedBy !== SAVED_BY) return;  // not ours: leave it
  for (const f of [...(j.pending ?? []), ...(j.obsolete ?? [])]) {
    if (isBareName(f) && !referenced.has(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
  fs.rmSync(file, { force: true });
}

async function captureArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    captured = artifacts;
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  return captured!;
}

/** model.json as tf.js writes it (io_utils getModelJSONForModelArtifacts, which tf.io does not export). */
function modelJSON(a: tf.io.ModelArtifacts, weightsManifest: tf.io.WeightsManifestConfig): Record<string, unknown> {
  const json: Record<string, unknown> = { modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy, weightsManifest };
  for (const key of ['signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature', 'trainingConfig'] as const) {
    if (a[key] != null) json[key] = a[key];
  }
  return json;
}

/**
 * Save `model` to the folder `dir` in tf.js's layers-model format: `model.json` and one
 * `weights-<id>.bin` (float32 values in the order of the manifest). `dir` is created, with its
 * parents, when absent. Only those files are written; every other file and subfolder in `dir` stays
 * as it was. Loadable by {@link loadModel} and by `tf.loadLayersModel` (for rnn-lab's own layers,
 * after `import 'rnn-lab'`, which registers them).
 *
 * Guarantees: each file is written atomically (temp file, fsync, rename); model.json is written last,
 * so a crash at any point leaves the old model loadable, or the new one, or (in a folder that had no
 * model) a loadModel error saying that a save was interrupted. The weights file of the previous
 * rnn-lab save in `dir` is removed once the new model.json is in place.
 *
 * @param model  a tf.LayersModel (from the builders, tf.sequential, tf.model, or loadModel)
 * @param dir  a folder path; a regular file there is an error and is not replaced
 * @param options  `{ overwrite }`: replace a model.json that rnn-lab did not write (default false)
 * @throws when `dir` is a file, when dir/model.json was not written by rnn-lab (without
 *   `overwrite: true`), on an unknown option key, or when a write fails (the old model is kept and
 *   the files this save created are removed)
 * @example
 * ```ts
 * await saveModel(model, 'models/char-lstm');
 * const again = await loadModel('models/char-lstm');
 * ```
 */
export async function saveModel(model: tf.LayersModel, dir: string, options?: SaveModelOptions): Promise<void> {
  checkOptions('saveModel', options, ['overwrite']);
  const overwrite = options?.overwrite ?? false;
  if (typeof overwrite !== 'boolean') throw new TypeError(`saveModel: options.overwrite must be true or false; got ${describe(overwrite)}`);
  if (!(model instanceof tf.LayersModel)) throw new TypeError(`saveModel: model must be a tf.LayersModel; got ${describe(model)}`);
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(`saveModel: dir must be a folder path; got ${describe(dir)}`);
  const target = path.resolve(dir);
  if (fs.existsSync(target) && !fs.statSync(target).isDirectory()) {
    throw new Error(`saveModel: ${dir} is a file, not a folder; it is not replaced. Choose a folder path (the model is saved as <folder>/model.json and a weights file)`);
  }
  const jsonPath = path.join(target, 'model.json');
  const old = existingModel(jsonPath);
  if (old.exists && !old.ours && !overwrite) {
    throw new Error(`saveModel: ${jsonPath} was not written by rnn-lab's saveModel (it has no "${MARKER_KEY}" key), so it is not overwritten. ` +
      `Pass { overwrite: true } to replace it (its weight files are kept), or choose another folder`);
  }
  const artifacts = await captureArtifacts(model);  // before touching the disk: a model that cannot be serialized changes nothing
  fs.mkdirSync(target, { recursive: true });
  cleanInterruptedSave(target, old.referenced);

  const weightsName = `weights-${randomBytes(6).toString('hex')}.bin`;
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
  const manifest: tf.io.WeightsManifestConfig = [{ paths: [weightsName], weights: artifacts.weightSpecs ?? [] }];
  const marker: Marker = { savedBy: SAVED_BY, weights: [weightsName] };
  const json = { ...modelJSON(artifacts, manifest), [MARKER_KEY]: marker };
  // Only the previous rnn-lab save's weights are ours to remove; a foreign model's shards stay.
  const obsolete = old.ours ? old.weights.filter((f) => f !== weightsName) : [];
  const journal: Journal = { savedBy: SAVED_BY, pending: [weightsName], obsolete };
  const journalPath = path.join(target, SAVE_JOURNAL);

  writeFileAtomic(journalPath, JSON.stringify(journal) + '\n');
  stepHook?.('journal');
  let committed = false;
  try {
    writeFileAtomic(path.join(target, weightsName), weights);
    stepHook?.('weights');
    writeFileAtomic(jsonPath, JSON.stringify(json));
    committed = true;
    stepHook?.('model.json');
  } catch (e) {
    if (!committed) {
      fs.rmSync(path.join(target, weightsName), { force: true });
      fs.rmSync(journalPath, { force: true });
    }
    throw e;
  }
  for (const f of obsolete) fs.rmSync(path.join(target, f), { force: true });
  stepHook?.('obsolete');
  fs.rmSync(journalPath, { force: true });
  fsyncDir(target);
}

/** Bytes per value of a manifest entry as stored (quantized entries store their quantized dtype); undefined for strings (variable length). */
function bytesPerValue(spec: tf.io.WeightsManifestEntry): number | undefined {
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  return ({ float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 } as Record<string, number>)[dtype];
}

/** A note for errors when a save into `dir` was interrupted. */
function interruptedNote(dir: string): string {
  const j = readJson(path.join(dir, SAVE_JOURNAL)) as Journal | undefined;
  return j?.savedBy === SAVED_BY
    ? ` A save into this folder was interrupted (${SAVE_JOURNAL} is still there): save the model again.`
    : '';
}

/**
 * Read every shard of every group, checking that each group's bytes are exactly what its weights
 * need, and return all of them as one buffer in manifest order (the order of getWeightSpecs).
 * One buffer, not a list: tf.js 4.22's CompositeArrayBuffer takes a list whose buffers before the
 * last are of equal size as uniformly sized and then slices a longer last buffer from the wrong
 * place (e.g. two one-shard groups, the second larger: its weights decode as zeros).
 */
function readShards(where: string, dir: string, manifest: tf.io.WeightsManifestConfig): ArrayBuffer {
  const buffers: Buffer[] = [];
  manifest.forEach((group, g) => {
    const sizes: string[] = [];
    let total = 0;
    group.paths.forEach((p, k) => {
      const file = path.join(dir, p);
      if (!fs.existsSync(file)) {
        throw new Error(`${where}: the weights file ${p} (group ${g + 1} of ${manifest.length}, shard ${k + 1} of ${group.paths.length}) ` +
          `listed in model.json is missing from ${dir}.${interruptedNote(dir)}`);
      }
      const buf = fs.readFileSync(file);
      buffers.push(buf);
      sizes.push(`${p} ${buf.byteLength} B`);
      total += buf.byteLength;
    });
    const per = group.weights.map(bytesPerValue);
    if (per.some((b) => b === undefined)) return;  // string weights: lengths are in the data, decodeWeights checks them
    const want = group.weights.reduce((s, w, i) => s + per[i]! * w.shape.reduce((a, b) => a * b, 1), 0);
    if (total !== want) {
      throw new Error(`${where}: weight group ${g + 1} of ${manifest.length} (${group.weights.map((w) => `${w.name} ${shapeText(w.shape)}`).join(', ')}) ` +
        `needs ${want} bytes but its files hold ${total} (${sizes.join(', ')}): a shard is ${total < want ? 'truncated or missing from paths' : 'too long or listed twice'}`);
    }
  });
  const all = Buffer.concat(buffers);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}

/** Check the manifest's structure, so a malformed model.json fails here with its name and not deep in tf.js. */
function checkManifest(where: string, file: string, manifest: unknown): asserts manifest is tf.io.WeightsManifestConfig {
  if (!Array.isArray(manifest)) throw new Error(`${where}: ${file} has no weightsManifest (the list of weight files): it is not a complete tf.js layers model`);
  const seen = new Set<string>();
  manifest.forEach((g: any, i: number) => {
    if (!Array.isArray(g?.paths) || !g.paths.every((p: unknown) => typeof p === 'string') || !Array.isArray(g?.weights)) {
      throw new Error(`${where}: ${file}: weightsManifest[${i}] must have paths (file names) and weights (entries); got ${JSON.stringify(g).slice(0, 200)}`);
    }
    for (const w of g.weights) {
      if (typeof w?.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        throw new Error(`${where}: ${file}: weightsManifest[${i}] has an entry without name, shape and dtype: ${JSON.stringify(w).slice(0, 200)}`);
      }
      if (seen.has(w.name)) throw new Error(`${where}: ${file}: the weight ${w.name} is listed twice in weightsManifest`);
      seen.add(w.name);
    }
  });
}

/**
 * Compare the file's weights with the model's, by name as tf.js matches them (LayersModel.loadWeights:
 * the weight's originalName, or the name without a TF ≥ 2.2 cell segment), and describe every missing,
 * extra and mis-shaped weight.
 */
function weightMismatches(model: tf.LayersModel, specs: tf.io.WeightsManifestEntry[]): string[] {
  const expected = new Map<string, number[]>();
  for (const w of model.weights) expected.set(w.originalName, w.shape as number[]);
  const problems: string[] = [];
  const extra: string[] = [];
  for (const s of specs) {
    let name = s.name;
    if (!expected.has(name)) {
      const t = name.split('/');
      name = [...t.slice(0, -2), t[t.length - 1]].join('/');
    }
    const want = expected.get(name);
    if (!want) { extra.push(`${s.name} ${shapeText(s.shape)}`); continue; }
    if (want.length !== s.shape.length || want.some((d, i) => d !== s.shape[i])) {
      problems.push(`${s.name} has shape ${shapeText(s.shape)} in the file but ${shapeText(want)} in the model`);
    }
    expected.delete(name);
  }
  if (expected.size) problems.push(`missing from the file: ${[...expected].map(([n, sh]) => `${n} ${shapeText(sh)}`).join(', ')}`);
  if (extra.length) problems.push(`in the file but not in the model: ${extra.join(', ')}`);
  return problems;
}

/**
 * Load a tf.js layers model from disk: a folder holding `model.json`, or the path of a model.json.
 * Follows the tf.js layers-model format (as written by tf.js's `model.save`, `tensorflowjs_converter`
 * from Keras, and {@link saveModel}): every weightsManifest group is read, each group's shard files
 * concatenated in the listed order, and the weights matched to the model's by name (tf.js's rules);
 * optimizer weights are loaded when model.json has a training config.
 *
 * @param modelPath  a folder with model.json, or a path to a .json model file
 * @returns the model, with its weights and userDefinedMetadata
 * @throws, naming the path: the folder does not exist; the folder has no model.json (and whether a
 *   save there was interrupted); model.json is not JSON or not a layers model; a weights file is
 *   missing (named, with its group and shard); a group's files hold the wrong number of bytes; weights
 *   missing from the file, in the file but not in the model, or with another shape (named, with shapes)
 * @example
 * ```ts
 * const model = await loadModel('models/char-lstm');          // or 'models/char-lstm/model.json'
 * const keras = await loadModel('converted/model.json');      // tensorflowjs_converter output, several shards
 * ```
 */
export async function loadModel(modelPath: string): Promise<tf.LayersModel> {
  const where = 'loadModel';
  if (typeof modelPath !== 'string' || modelPath.length === 0) throw new TypeError(`${where}: modelPath must be a folder or a model.json path; got ${describe(modelPath)}`);
  const abs = path.resolve(modelPath);
  let dir: string;
  let file: string;
  if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) {
    dir = abs;
    file = path.join(dir, 'model.json');
    if (!fs.existsSync(file)) {
      const entries = fs.readdirSync(dir).filter((f) => f !== SAVE_JOURNAL);
      const listing = entries.length ? ` (it holds ${entries.slice(0, 8).join(', ')}${entries.length > 8 ? ', …' : ''})` : ' (it is empty)';
      throw new Error(`${where}: the folder ${modelPath} has no model.json${listing}.${interruptedNote(dir)}`);
    }
  } else if (fs.existsSync(abs)) {
    file = abs;
    dir = path.dirname(abs);
  } else {
    const parent = path.dirname(abs);
    if (/\.json$/i.test(abs) && fs.existsSync(parent)) throw new Error(`${where}: no file ${modelPath} (its folder exists).${interruptedNote(parent)}`);
    throw new Error(`${where}: the folder ${/\.json$/i.test(abs) ? parent : modelPath} does not exist`);
  }
  let json: any;
  try { json = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) {
    throw new Error(`${where}: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || json.modelTopology == null || json.format === 'graph-model') {
    throw new Error(`${where}: ${file} is not a tf.js layers model (no modelTopology${json?.format ? `; format ${json.format}` : ''}); a graph model loads with tf.loadGraphModel`);
  }
  checkManifest(where, file, json.weightsManifest);
  const artifacts = await tf.io.getModelArtifactsForJSON(json, async (manifest) =>
    [tf.io.getWeightSpecs(manifest), readShards(where, dir, manifest)]);
  const specs = artifacts.weightSpecs ?? [];

  // The model first (from its topology alone), so its weights' names and shapes can be checked
  // before any value is decoded; every tensor made here is disposed if anything fails.
  const { weightSpecs: _s, weightData: _d, ...topologyOnly } = artifacts;
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory(topologyOnly));
  } catch (e) {
    // A layer of a cell registered with registerCell exists only in a process that registered it.
    const m = /Unknown layer: (Lab([A-Z0-9_]+))\b/.exec((e as Error).message ?? '');
    if (m) {
      throw new Error(`${where}: ${file} has a layer of class ${m[1]}, the layer of a cell registered with registerCell ` +
        `(kind '${m[2].toLowerCase()}'), which this process has not registered: run the cell that calls registerCell({ kind: '${m[2].toLowerCase()}', … }) ` +
        `(the same family as when the model was saved) before loadModel`);
    }
    throw e;
  }
  let decoded: tf.NamedTensorMap = {};
  try {
    const modelSpecs = specs.filter((s) => s.group !== 'optimizer');
    const kerasV3 = modelSpecs.length > 0 && !isNaN(parseInt(modelSpecs[0].name.split('/').pop()!, 10));  // names like dense/0: tf.js maps them itself
    if (!kerasV3) {
      const problems = weightMismatches(model, modelSpecs);
      if (problems.length) throw new Error(`${where}: the weights in ${file} do not fit its model: ${problems.join('; ')}`);
    }
    decoded = tf.io.decodeWeights(artifacts.weightData ?? new ArrayBuffer(0), specs);
    const modelWeights: tf.NamedTensorMap = {};
    for (const s of modelSpecs) modelWeights[s.name] = decoded[s.name];
    model.loadWeights(modelWeights, true);
    const opt = specs.filter((s) => s.group === 'optimizer');
    if (opt.length && model.optimizer) await model.optimizer.setWeights(opt.map((s) => ({ name: s.name, tensor: decoded[s.name] })));
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(decoded));
  }
  // A builder model checks its inputs at predict/fit/evaluate like a freshly built one.
  const spec = (model.getUserDefinedMetadata() as Record<string, unknown> | undefined)?.['rnn-lab'];
  return spec ? guardModel(model, spec as StoredSpec) : model;
}

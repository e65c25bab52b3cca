/**
 * Save and load models to a folder on disk (model.json + weights.bin) without tfjs-node.
 * Saves are atomic: everything is written to a fresh folder which then replaces the old one by
 * rename, so an interrupted save never leaves a half-written model where a good one was.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import './layers';  // registers LabRNN, LabLSTM, LabGRU for deserialization

/**
 * Save `model` to `dir` (created if needed; replaced atomically if it exists).
 *
 * @example
 * ```ts
 * await saveModel(model, 'models/char-lstm');
 * const again = await loadModel('models/char-lstm');
 * ```
 */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  if (!(model instanceof tf.LayersModel)) throw new TypeError(`saveModel: model must be a tf.LayersModel; got ${typeof model}`);
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(`saveModel: dir must be a folder path; got ${dir}`);
  const target = path.resolve(dir);
  const fresh = `${target}.saving-${process.pid}-${Date.now()}`;
  try {
    await writeArtifacts(model, fresh);
  } catch (e) {
    fs.rmSync(fresh, { recursive: true, force: true });  // the old model, if any, is untouched
    throw e;
  }
  // Swap in: old → aside, fresh → target, remove old. At every moment one complete copy exists.
  const aside = `${target}.old-${process.pid}-${Date.now()}`;
  const had = fs.existsSync(target);
  if (had) fs.renameSync(target, aside);
  fs.renameSync(fresh, target);
  if (had) fs.rmSync(aside, { recursive: true, force: true });
}

async function writeArtifacts(model: tf.LayersModel, fresh: string): Promise<void> {
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    fs.mkdirSync(fresh, { recursive: true });
    const weights = Buffer.from(artifacts.weightData as ArrayBuffer);
    const json = {
      format: artifacts.format, generatedBy: artifacts.generatedBy, convertedBy: artifacts.convertedBy,
      modelTopology: artifacts.modelTopology, userDefinedMetadata: artifacts.userDefinedMetadata,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    };
    fs.writeFileSync(path.join(fresh, 'weights.bin'), weights);
    fs.writeFileSync(path.join(fresh, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
  }));
}

/** Load a model saved by {@link saveModel}. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const file = path.join(path.resolve(dir), 'model.json');
  if (!fs.existsSync(file)) throw new Error(`loadModel: no model.json in ${dir}`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const manifest = json.weightsManifest?.[0];
  if (!manifest) throw new Error(`loadModel: ${file} has no weightsManifest`);
  const buf = fs.readFileSync(path.join(path.dirname(file), manifest.paths[0]));
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: manifest.weights, weightData,
    userDefinedMetadata: json.userDefinedMetadata, format: json.format, generatedBy: json.generatedBy,
  }));
}

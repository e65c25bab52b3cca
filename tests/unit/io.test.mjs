// saveModel / loadModel / writeFileAtomic: a save never removes or replaces what it did not create,
// survives a crash at every step, and a load reads the whole tf.js layers-model format (every group
// and shard, weights matched by name) with errors that name what is wrong.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { lib, tf as getTf, ROOT } from '../helpers.mjs';
import * as ref from '../reference.mjs';

const require = createRequire(import.meta.url);
const L = lib();
const tf = getTf();
const fsMod = require('fs');   // the same module object dist/ uses, for injecting failures

function tmpdir(tag) { return fs.mkdtempSync(path.join(os.tmpdir(), `rnnlab-io-${tag}-`)); }
/** Every file under `dir`, relative, sorted, with its content (for "untouched" checks). */
function snapshot(dir) {
  const out = {};
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p); else out[path.relative(dir, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}
const X = [[[0.5, -1], [1, 0.25], [-0.3, 0.8], [0.1, 0.1]], [[1, 1], [-1, 0], [0.2, -0.6], [0.9, 0.4]]];
function predictArray(model, x = X) {
  const t = tf.tensor3d(x);
  const y = model.predict(t);
  const a = y.arraySync();
  tf.dispose([t, y]);
  return a;
}
async function tfjsArtifacts(model) {
  let art;
  await model.save(tf.io.withSaveHandler(async (a) => { art = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  return art;
}
/**
 * Lay out a model's artifacts as tensorflowjs_converter does: one group per layer, each group's bytes
 * cut into shard files of at most `shardBytes` (group<g>-shard<k>of<K>.bin). Returns the manifest.
 */
function writeSharded(dir, art, shardBytes, { reverseGroups = false, extra = {} } = {}) {
  const data = Buffer.from(tf.io.CompositeArrayBuffer.join(art.weightData));
  const groups = [];
  let off = 0;
  for (const s of art.weightSpecs) {
    const bytes = 4 * s.shape.reduce((a, b) => a * b, 1);
    const layer = s.name.split('/')[0];
    let g = groups[groups.length - 1];
    if (!g || g.layer !== layer) groups.push(g = { layer, weights: [], parts: [] });
    g.weights.push(s);
    g.parts.push(data.subarray(off, off + bytes));
    off += bytes;
  }
  assert.equal(off, data.length, 'the specs cover the weight data exactly');
  fs.mkdirSync(dir, { recursive: true });
  const manifest = groups.map((g, gi) => {
    const buf = Buffer.concat(g.parts);
    const K = Math.ceil(buf.length / shardBytes);
    const paths = [];
    for (let k = 0; k < K; k++) {
      const name = `group${gi + 1}-shard${k + 1}of${K}.bin`;
      fs.writeFileSync(path.join(dir, name), buf.subarray(k * shardBytes, (k + 1) * shardBytes));
      paths.push(name);
    }
    return { paths, weights: g.weights };
  });
  if (reverseGroups) manifest.reverse();
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
    format: art.format, generatedBy: art.generatedBy, convertedBy: art.convertedBy, modelTopology: art.modelTopology, weightsManifest: manifest,
    ...(art.userDefinedMetadata ? { userDefinedMetadata: art.userDefinedMetadata } : {}), ...extra,
  }));
  return manifest;
}

before(async () => { await L.initBackend({ backend: 'cpu', quiet: true }); });

describe('saveModel writes only its own files', () => {
  test('a folder holding notes.txt and sub/data.csv keeps both, across two saves; the old weights go', async () => {
    const dir = tmpdir('keep');
    try {
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'my notes\n');
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'sub', 'data.csv'), 'a,b\n1,2\n');
      const user = snapshot(dir);
      const m1 = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 1 });
      await L.saveModel(m1, dir);
      const after1 = snapshot(dir);
      for (const [f, text] of Object.entries(user)) assert.equal(after1[f], text, `${f} is untouched`);
      const w1 = Object.keys(after1).filter((f) => /^weights-[0-9a-f]+\.bin$/.test(f));
      assert.deepEqual(Object.keys(after1).sort(), ['model.json', 'notes.txt', path.join('sub', 'data.csv'), ...w1].sort(), 'only model.json and one weights file were added');
      const m2 = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 2 });
      await L.saveModel(m2, dir);
      const after2 = snapshot(dir);
      for (const [f, text] of Object.entries(user)) assert.equal(after2[f], text, `${f} is untouched by a second save`);
      const w2 = Object.keys(after2).filter((f) => f.startsWith('weights-'));
      assert.equal(w2.length, 1, `one weights file after re-saving; got ${w2.join(', ')}`);
      assert.notEqual(w2[0], w1[0], 'the first save\'s weights file was replaced by a new one');
      const d = ref.maxDiff(predictArray(await L.loadModel(dir)), predictArray(m2));
      assert.equal(d, 0, `the second model loads; max |Δ| ${d}`);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  test("saveModel(model, '.') in a notebook folder keeps the notebooks", async () => {
    const dir = tmpdir('dot');
    const cwd = process.cwd();
    try {
      fs.writeFileSync(path.join(dir, '01-lesson.ipynb'), '{"cells": []}\n');
      fs.writeFileSync(path.join(dir, '02-lesson.ipynb'), '{"cells": [1]}\n');
      process.chdir(dir);
      await L.saveModel(L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 3 }), '.');
      process.chdir(cwd);
      const snap = snapshot(dir);
      assert.equal(snap['01-lesson.ipynb'], '{"cells": []}\n');
      assert.equal(snap['02-lesson.ipynb'], '{"cells": [1]}\n');
      assert.equal(Object.keys(snap).length, 4, `two notebooks + model.json + weights; got ${Object.keys(snap).join(', ')}`);
    } finally { process.chdir(cwd); fs.rmSync(dir, { recursive: true, force: true }); }
  });

  test('a regular file at dir is an error and stays; missing parents are created', async () => {
    const dir = tmpdir('file');
    try {
      const file = path.join(dir, 'model');
      fs.writeFileSync(file, 'not a folder');
      const m = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 1 });
      await assert.rejects(() => L.saveModel(m, file), /saveModel: .*model is a file, not a folder; it is not replaced/);
      assert.equal(fs.readFileSync(file, 'utf8'), 'not a folder', 'the file is unchanged');
      const nested = path.join(dir, 'a', 'b', 'c');
      await L.saveModel(m, nested);
      const d = ref.maxDiff(predictArray(await L.loadModel(path.join(nested, 'model.json'))), predictArray(m));
      assert.equal(d, 0, `saved into new nested folders and loaded by model.json path; max |Δ| ${d}`);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  test("a model.json rnn-lab did not write is not overwritten unless { overwrite: true }; its shards stay", async () => {
    const dir = tmpdir('foreign');
    try {
      const other = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
      writeSharded(dir, await tfjsArtifacts(other), 1 << 20);
      const before = snapshot(dir);
      const m = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 1 });
      await assert.rejects(() => L.saveModel(m, dir), /model\.json was not written by rnn-lab's saveModel .*not overwritten\. Pass \{ overwrite: true \}/);
      assert.deepEqual(snapshot(dir), before, 'nothing changed');
      await assert.rejects(() => L.saveModel(m, dir, { overwrit: true }), /saveModel: unknown options key 'overwrit' — did you mean 'overwrite'\?/);
      await assert.rejects(() => L.saveModel(m, dir, { overwrite: 'yes' }), /options\.overwrite must be true or false; got "yes"/);
      await L.saveModel(m, dir, { overwrite: true });
      const after = snapshot(dir);
      assert.equal(after['group1-shard1of1.bin'], before['group1-shard1of1.bin'], 'the foreign model\'s weights file is kept');
      const d = ref.maxDiff(predictArray(await L.loadModel(dir)), predictArray(m));
      assert.equal(d, 0, `max |Δ| ${d}`);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  test('a failing write keeps the old model and leaves no new file', async () => {
    const dir = tmpdir('fail');
    try {
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep');
      const m1 = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 1 });
      await L.saveModel(m1, dir);
      const before = snapshot(dir);
      const orig = fsMod.renameSync;
      fsMod.renameSync = (a, b) => { if (String(b).endsWith('model.json')) throw new Error('disk full'); return orig(a, b); };
      try {
        await assert.rejects(() => L.saveModel(L.buildRNN({ inputSize: 9, hiddenSize: 3, outputSize: 1 }), dir), /disk full/);
      } finally { fsMod.renameSync = orig; }
      assert.deepEqual(snapshot(dir), before, 'the folder is exactly as before (no weights, journal or temp file left)');
      const d = ref.maxDiff(predictArray(await L.loadModel(dir)), predictArray(m1));
      assert.equal(d, 0, `the old model still loads; max |Δ| ${d}`);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('a crash at any step of a save leaves the old or the new model, or says the save was interrupted', () => {
  /** Save model B (seed 22) into dir in a child process that exits right after `step`; returns B's predictions. */
  function crashAt(dir, step) {
    const out = path.join(os.tmpdir(), `rnnlab-io-pred-${process.pid}-${step}.json`);
    const code = `
      const L = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
      const io = require(${JSON.stringify(path.join(ROOT, 'dist', 'io.js'))});
      const tf = require(${JSON.stringify(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs'))});
      (async () => {
        await L.initBackend({ backend: 'cpu', quiet: true });
        const m = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 22 });
        require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(m.predict(tf.tensor3d(${JSON.stringify(X)})).arraySync()));
        io._setSaveStepHook((s) => { if (s === ${JSON.stringify(step)}) process.exit(7); });
        await L.saveModel(m, ${JSON.stringify(dir)});
        process.exit(0);
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    assert.equal(r.status, 7, `the child stopped at step ${step} (exit ${r.status}): ${r.stderr}`);
    const pred = JSON.parse(fs.readFileSync(out, 'utf8'));
    fs.rmSync(out);
    return pred;
  }

  for (const [step, expect] of [['journal', 'old'], ['weights', 'old'], ['model.json', 'new'], ['obsolete', 'new']]) {
    test(`crash after '${step}' → the ${expect} model loads, and the next save cleans up`, async () => {
      const dir = tmpdir(`crash-${step}`);
      try {
        fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep');
        const A = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 11 });
        await L.saveModel(A, dir);
        const predB = crashAt(dir, step);
        const want = expect === 'old' ? predictArray(A) : predB;
        const d = ref.maxDiff(predictArray(await L.loadModel(dir)), want);
        assert.equal(d, 0, `after a crash at ${step} the ${expect} model loads; max |Δ| ${d}`);
        assert.ok(ref.maxDiff(predictArray(A), predB) > 1e-3, 'A and B differ, so the check can tell them apart');
        const C = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 33 });
        await L.saveModel(C, dir);
        const files = fs.readdirSync(dir).sort();
        assert.equal(files.length, 3, `the next save leaves model.json, one weights file and notes.txt; got ${files.join(', ')}`);
        assert.equal(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'keep');
        const dc = ref.maxDiff(predictArray(await L.loadModel(dir)), predictArray(C));
        assert.equal(dc, 0, `max |Δ| ${dc}`);
      } finally { fs.rmSync(dir, { recursive: true, force: true }); }
    });
  }

  test('a first save interrupted before model.json: loadModel says the save was interrupted', async () => {
    const dir = tmpdir('crash-fresh');
    try {
      crashAt(dir, 'weights');
      await assert.rejects(() => L.loadModel(dir), /loadModel: the folder .* has no model\.json \(it holds weights-[0-9a-f]+\.bin\)\. A save into this folder was interrupted/);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('loadModel follows the tf.js layers-model format', () => {
  test('the reported case: an [8,32] kernel split across shards of 105 values, one group per layer', async () => {
    const dir = tmpdir('shards');
    try {
      const model = L.buildLSTM({ inputSize: 8, hiddenSize: 8, outputSize: 2, seed: 5 });
      const art = await tfjsArtifacts(model);
      assert.ok(art.weightSpecs.some((s) => s.shape.join() === '8,32'), 'the model has an [8,32] kernel');
      const manifest = writeSharded(dir, art, 105 * 4);
      assert.ok(manifest.length >= 2 && manifest[0].paths.length >= 3, `several groups of several shards: ${manifest.map((g) => g.paths.length).join(', ')}`);
      const x = ref.randArray(ref.seeded(1), [3, 5, 8]);
      const before = tf.memory().numTensors;
      for (const p of [dir, path.join(dir, 'model.json')]) {
        const again = await L.loadModel(p);
        const d = ref.maxDiff(predictArray(again, x), predictArray(model, x));
        assert.equal(d, 0, `loaded from ${path.basename(p)}: max |Δ| ${d} (tolerance 0)`);
        assert.deepEqual(L.specOf(again), L.specOf(model));
        again.dispose();
      }
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks across loads');
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  test('tf.layers LSTM + dense, groups listed in reverse order, 1000-byte shards: matched by name', async () => {
    const dir = tmpdir('tflayers');
    try {
      const model = tf.sequential({ layers: [tf.layers.lstm({ units: 6, inputShape: [null, 2], returnSequences: false }), tf.layers.dense({ units: 3 })] });
      writeSharded(dir, await tfjsArtifacts(model), 1000, { reverseGroups: true });
      const again = await L.loadModel(dir);
      const d = ref.maxDiff(predictArray(again), predictArray(model));
      assert.equal(d, 0, `max |Δ| ${d} (tolerance 0)`);
      again.dispose(); model.dispose();
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  test('a model over 4 MB in tf.js\'s 4 MiB shards, and saveModel → loadModel of the same', async () => {
    const dir = tmpdir('big');
    try {
      const model = tf.sequential({ layers: [tf.layers.dense({ units: 1000, inputShape: [1100] })] });
      const art = await tfjsArtifacts(model);
      assert.ok(tf.io.CompositeArrayBuffer.join(art.weightData).byteLength > 4 * 1024 * 1024, 'over 4 MB');
      const manifest = writeSharded(path.join(dir, 'tfjs'), art, 4 * 1024 * 1024);
      assert.equal(manifest[0].paths.length, 2, 'two shards');
      const x = tf.randomNormal([2, 1100], 0, 1, 'float32', 3);
      const want = model.predict(x).arraySync();
      for (const load of [() => L.loadModel(path.join(dir, 'tfjs')), async () => { await L.saveModel(model, path.join(dir, 'lab')); return L.loadModel(path.join(dir, 'lab')); }]) {
        const again = await load();
        const y = again.predict(x);
        const d = ref.maxDiff(y.arraySync(), want);
        assert.equal(d, 0, `max |Δ| ${d}`);
        tf.dispose(y); again.dispose();
      }
      tf.dispose(x); model.dispose();
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  test('errors: missing folder, missing model.json, missing shard, short shard, mis-shaped / missing / extra weights; no leaks', async () => {
    const dir = tmpdir('errors');
    try {
      await assert.rejects(() => L.loadModel(path.join(dir, 'nothing')), /loadModel: the folder .*nothing does not exist/);
      await assert.rejects(() => L.loadModel(path.join(dir, 'nothing', 'model.json')), /loadModel: the folder .*nothing does not exist/);
      fs.mkdirSync(path.join(dir, 'empty'));
      await assert.rejects(() => L.loadModel(path.join(dir, 'empty')), /loadModel: the folder .*empty has no model\.json \(it is empty\)/);
      await assert.rejects(() => L.loadModel(path.join(dir, 'empty', 'model.json')), /loadModel: no file .*model\.json \(its folder exists\)/);

      const model = L.buildLSTM({ inputSize: 8, hiddenSize: 8, outputSize: 2, seed: 5 });
      const art = await tfjsArtifacts(model);
      const fresh = (name) => { const d = path.join(dir, name); return { d, manifest: writeSharded(d, art, 420) }; };
      const before = tf.memory().numTensors;

      const a = fresh('noshard');
      const gone = a.manifest[0].paths[1];
      fs.rmSync(path.join(a.d, gone));
      await assert.rejects(() => L.loadModel(a.d), new RegExp(`the weights file ${gone} \\(group 1 of ${a.manifest.length}, shard 2 of ${a.manifest[0].paths.length}\\) listed in model\\.json is missing`));

      const b = fresh('short');
      const last = path.join(b.d, b.manifest[0].paths.at(-1));
      fs.writeFileSync(last, fs.readFileSync(last).subarray(0, 8));
      await assert.rejects(() => L.loadModel(b.d), /weight group 1 of \d+ \(.*kernel \[8, 32\].*\) needs \d+ bytes but its files hold \d+ .*a shard is truncated/);

      const c = fresh('shape');
      const json = JSON.parse(fs.readFileSync(path.join(c.d, 'model.json'), 'utf8'));
      const k = json.weightsManifest[0].weights.find((w) => w.shape.join() === '8,32');
      k.shape = [16, 16];                         // same bytes, another shape
      const renamed = json.weightsManifest.at(-1).weights[0];
      const origName = renamed.name;
      renamed.name = 'bogus/kernel';
      fs.writeFileSync(path.join(c.d, 'model.json'), JSON.stringify(json));
      const err = await L.loadModel(c.d).then(() => null, (e) => e);
      assert.ok(err, 'the load fails');
      assert.match(err.message, new RegExp(`${k.name.replace(/[/]/g, '\\/')} has shape \\[16, 16\\] in the file but \\[8, 32\\] in the model`));
      assert.match(err.message, new RegExp(`missing from the file: ${origName.replace(/[/]/g, '\\/')} \\[`));
      assert.match(err.message, /in the file but not in the model: bogus\/kernel \[/);

      assert.equal(tf.memory().numTensors, before, `no tensors leaked by failed loads (before ${before}, after ${tf.memory().numTensors})`);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});

describe('writeFileAtomic', () => {
  test('replaces content whole; a failure before the rename keeps the old file and leaves no temp file', () => {
    const dir = tmpdir('atomic');
    try {
      const f = path.join(dir, 'out.json');
      L.writeFileAtomic(f, 'one');
      L.writeFileAtomic(f, Buffer.from('two'));
      assert.equal(fs.readFileSync(f, 'utf8'), 'two');
      const orig = fsMod.fsyncSync;
      fsMod.fsyncSync = () => { throw new Error('EIO'); };
      try { assert.throws(() => L.writeFileAtomic(f, 'three'), /EIO/); } finally { fsMod.fsyncSync = orig; }
      assert.equal(fs.readFileSync(f, 'utf8'), 'two', 'the old content stays');
      assert.deepEqual(fs.readdirSync(dir), ['out.json'], 'no temp file left');
      fs.mkdirSync(path.join(dir, 'sub'));
      assert.throws(() => L.writeFileAtomic(path.join(dir, 'sub'), 'x'), /writeFileAtomic: .*sub is a folder, not a file; it is not replaced/);
      assert.throws(() => L.writeFileAtomic(path.join(dir, 'no', 'x.txt'), 'x'), /writeFileAtomic: the folder .*no does not exist/);
      assert.throws(() => L.writeFileAtomic(f, 42), /data must be a string or a Uint8Array\/Buffer; got number/);
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});

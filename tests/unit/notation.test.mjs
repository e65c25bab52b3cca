// docs/NOTATION.md against the library: every code name the glossary lists must exist where it says
// (an option the layer/builder/train accepts, a getLectureWeights key of the family it names, a
// PyTorch key in torchWeights' output, a tf.js weight or config name), and the gate orders it states
// must be the orders toKerasWeights and torchWeights actually write. PyTorch's own names are checked
// against torch itself when /usr/bin/python3 has it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { lib, tf as getTf, ROOT, needs } from '../helpers.mjs';

const L = lib();
const tf = getTf();
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'NOTATION.md'), 'utf8');

/** Sections of the doc by '## ' heading, each with its tables: { header: string[], rows: string[][] }. */
function sections(md) {
  const out = {};
  let name = '';
  for (const line of md.split('\n')) {
    if (line.startsWith('## ')) { name = line.slice(3).trim(); out[name] = { text: '', tables: [] }; continue; }
    if (!name) continue;
    out[name].text += line + '\n';
    if (line.startsWith('|')) {
      const cells = line.replace(/\\\|/g, '\u0000').split('|').slice(1, -1).map((c) => c.replace(/\u0000/g, '|').trim());
      const tables = out[name].tables;
      const last = tables[tables.length - 1];
      if (!last || last.done) tables.push({ header: cells, rows: [] });
      else if (!cells.every((c) => /^-*$/.test(c))) last.rows.push(cells);
    } else if (out[name].tables.length) {
      out[name].tables[out[name].tables.length - 1].done = true;
    }
  }
  return out;
}
const S = sections(DOC);
const ticks = (cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
const colOf = (table, re) => {
  const i = table.header.findIndex((h) => re.test(h));
  assert.ok(i >= 0, `no column matching ${re} in table [${table.header.join(' | ')}]`);
  return i;
};
/** Every table of the doc with a column matching re: its cells of that column. */
function column(re) {
  const cells = [];
  for (const s of Object.values(S)) for (const t of s.tables) {
    const i = t.header.findIndex((h) => re.test(h));
    if (i >= 0) for (const r of t.rows) cells.push(r[i] ?? '');
  }
  return cells;
}

const make = { rnn: L.rnnLayer, lstm: L.lstmLayer, gru: L.gruLayer };
/** Free a built layer's variables (a layer never called cannot be dispose()d). */
const free = (layer) => { for (const w of layer.weights) w.dispose(); };
const build = { rnn: L.buildRNN, lstm: L.buildLSTM, gru: L.buildGRU };
function layerOf(kind, extra = {}) {
  const layer = make[kind]({ units: 2, seed: 3, ...(kind === 'gru' ? { resetAfter: true } : {}), ...extra });
  layer.build([null, null, 3]);
  return layer;
}
/** The valid keys a function lists when given an unknown one (src/options.ts checkOptions). */
async function validKeys(call) {
  try { await call({ zzzNotAKey: 1 }); } catch (e) {
    const m = /Valid keys: (.*)$/.exec(e.message);
    if (m) return m[1].split(', ');
    throw e;
  }
  throw new Error('an unknown key was accepted');
}

test('the doc has the sections the issue asks for', () => {
  for (const s of ['Orientation: column vectors and row-vector batches', 'Sizes', 'Data layout', 'Weights and biases',
    'Gates and their order', 'States', 'The two GRU conventions', 'Names being unified']) {
    assert.ok(S[s], `docs/NOTATION.md has no section '## ${s}'; has: ${Object.keys(S).join('; ')}`);
  }
});

test('every getLectureWeights key, PyTorch key and tf.js weight named in the weights table exists for its family', () => {
  const before = tf.memory().numTensors;
  const t = S['Weights and biases'].tables[0];
  const [cKey, cFam, cTorch, cKeras] = [/getLectureWeights/, /^family$/, /PyTorch/, /Keras/].map((re) => colOf(t, re));
  const seen = { rnn: 0, lstm: 0, gru: 0 };
  for (const row of t.rows) {
    const kind = row[cFam];
    assert.ok(kind in make, `family '${kind}' is not rnn, lstm or gru`);
    const layer = layerOf(kind);
    const keys = Object.keys(L.getLectureWeights(layer));
    for (const k of ticks(row[cKey])) {
      assert.ok(keys.includes(k), `${kind}: '${k}' is not a getLectureWeights key; they are ${keys.join(', ')}`);
      seen[kind]++;
    }
    const model = build[kind]({ inputSize: 3, hiddenSize: 2, outputSize: 1, ...(kind === 'gru' ? { resetAfter: true } : {}) });
    const torchKeys = Object.keys(L.torchWeights(model));
    for (const k of ticks(row[cTorch])) assert.ok(torchKeys.includes(`rnn.${k}`), `${kind}: PyTorch key '${k}' not in torchWeights: ${torchKeys.join(', ')}`);
    const keras = { rnn: tf.layers.simpleRNN, lstm: tf.layers.lstm, gru: tf.layers.gru }[kind]({ units: 2 });
    keras.build([null, 4, 3]);
    const kerasNames = keras.weights.map((w) => w.originalName.split('/').pop());
    for (const k of ticks(row[cKeras])) assert.ok(kerasNames.includes(k), `${kind}: '${k}' is not a tf.layers weight name: ${kerasNames.join(', ')}`);
    free(keras);
    model.dispose();
    free(layer);
  }
  // Every key the library has is in the table (the glossary is complete, not just correct).
  for (const kind of Object.keys(make)) {
    const layer = layerOf(kind);
    const all = Object.keys(L.getLectureWeights(layer));
    free(layer);
    assert.equal(seen[kind], all.length, `${kind}: the table names ${seen[kind]} keys; getLectureWeights has ${all.length} (${all.join(', ')})`);
  }
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
});

test('the storage names in the weights section are the layer variables', () => {
  const names = new Set();
  for (const [kind, extra] of [['gru', { initialState: 'learned', bidirectional: true }], ['lstm', { initialState: 'learned' }]]) {
    const layer = layerOf(kind, extra);
    for (const w of layer.weights) names.add(w.originalName.split('/').pop());
    free(layer);
  }
  const para = S['Weights and biases'].text.split('Storage names')[1].split('Builder models')[0];
  // Option names (`resetAfter`) and PyTorch keys in the paragraph are checked elsewhere.
  const listed = ticks(para).filter((k) => /^[a-z]\w*$/.test(k) && !k.includes('weight_') && !L.RECURRENT_LAYER_KEYS.includes(k));
  assert.ok(listed.length >= 6, `expected the storage names; found ${listed.join(', ')}`);
  for (const k of listed) assert.ok(names.has(k), `'${k}' is not a variable name of an rnn-lab layer: ${[...names].join(', ')}`);
});

test('the gate orders are the ones the code writes: lecture storage, toKerasWeights, torchWeights', () => {
  const before = tf.memory().numTensors;
  const [orders, names] = S['Gates and their order'].tables;
  // The name table maps each rnn-lab gate to its PyTorch and Keras letter; its weights' letter is the
  // gate's name except for the GRU candidate, named hTilde with weights Wxh, Whh, bh.
  const cName = colOf(names, /rnn-lab/), cT = colOf(names, /PyTorch/), cK = colOf(names, /Keras/);
  const toLecture = { torch: {}, keras: {} };
  for (const r of names.rows) {
    const g = ticks(r[cName])[0];
    const letter = g === 'hTilde' ? 'h' : g;
    toLecture.torch[r[cT]] = letter;
    toLecture.keras[r[cK]] = letter;
  }
  const cF = colOf(orders, /family/), cL = colOf(orders, /lecture/), cTo = colOf(orders, /PyTorch/), cKo = colOf(orders, /Keras/);
  for (const r of orders.rows) {
    const kind = r[cF];
    const lecture = r[cL].split(/\s+/);
    assert.deepEqual([...L.FAMILIES[kind].gates], lecture, `${kind}: FAMILIES.${kind}.gates`);
    if (kind === 'rnn') continue;
    // Bias block j holds j + 1 in the lecture's order; where each value lands gives the order.
    const model = build[kind]({ inputSize: 3, hiddenSize: 2, outputSize: 1, ...(kind === 'gru' ? { resetAfter: true } : {}) });
    const layer = model.getLayer('rnn_l0');
    L.setLectureWeights(layer, Object.fromEntries(lecture.map((g, j) => [`b${g}`, [j + 1, j + 1]])));
    const blocksToGates = (flat) => Array.from({ length: lecture.length }, (_, j) => lecture[flat[2 * j] - 1]);
    const torch = blocksToGates(L.torchWeights(model)['rnn.bias_ih_l0']);
    const docTorch = r[cTo].split(/\s+/).map((x) => toLecture.torch[x]);
    assert.deepEqual(torch, docTorch, `${kind}: torchWeights writes ${torch.join(' ')} (lecture letters); the doc says ${r[cTo]}`);
    const kw = L.toKerasWeights(layer);
    const bias = kw[2].rank === 2 ? kw[2].arraySync()[0] : kw[2].arraySync();
    tf.dispose(kw);
    const keras = blocksToGates(bias);
    const docKeras = r[cKo].split(/\s+/).map((x) => toLecture.keras[x]);
    assert.deepEqual(keras, docKeras, `${kind}: toKerasWeights writes ${keras.join(' ')} (lecture letters); the doc says ${r[cKo]}`);
    // The step reports its gates under the rnn-lab names of the table.
    const x = tf.zeros([1, 3]);
    const state = layer.zeroState(1);
    const step = layer.step(x, state);
    const want = names.rows.map((nr) => ticks(nr[cName])[0]).filter((g) => lecture.includes(g === 'hTilde' ? 'h' : g));
    assert.deepEqual(Object.keys(step.gates).sort(), want.sort(), `${kind}: layer.step(...).gates keys`);
    tf.dispose([x, state.h, state.c, step.h, step.c, ...Object.values(step.gates)]);
    model.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
});

test('every layer option, spec key, train option, property and result field the doc names exists', async () => {
  const layerKeys = await validKeys((o) => L.lstmLayer({ units: 2, ...o }));
  const specKeys = await validKeys((o) => L.buildLSTM({ inputSize: 1, hiddenSize: 2, outputSize: 1, ...o }));
  const model = L.buildRNN({ inputSize: 1, hiddenSize: 2, outputSize: 1 });
  const x = tf.zeros([2, 3, 1]);
  const y = tf.zeros([2, 1]);
  const trainKeys = await validKeys((o) => L.train(model, { x, y }, { epochs: 1, ...o }));
  const checks = [
    [/(?:layer option|and builder spec keys.*?|rnn-lab option.*?)`(\w+)/g, layerKeys, 'a layer option (lstmLayer)'],
    [/spec key `(\w+)`/g, specKeys, 'a builder spec key (buildLSTM)'],
    [/`train` option `(\w+)`/g, trainKeys, 'a train option'],
  ];
  let n = 0;
  for (const [re, valid, what] of checks) {
    for (const m of DOC.matchAll(re)) { n++; assert.ok(valid.includes(m[1]), `'${m[1]}' is named as ${what}; valid: ${valid.join(', ')}`); }
  }
  // The GRU conventions table: its option column names layer options (and spec keys).
  const gt = S['The two GRU conventions'].tables[0];
  for (const r of gt.rows) for (const k of ticks(r[colOf(gt, /rnn-lab/)])) {
    const name = /^(\w+)/.exec(k)[1];
    if (name === 'recurrent_bias') continue;   // a variable name, checked with the storage names
    n++;
    assert.ok(layerKeys.includes(name) && specKeys.includes(name), `'${name}' must be a layer option and a spec key`);
  }
  assert.ok(n >= 15, `expected at least 15 option names in the doc; found ${n}`);

  // Properties and fields: `layer.x`, `State.h`, `SequenceResult.directions`, `DirectionTrace.h`, …
  const lstm = layerOf('lstm');
  const seq = lstm.forwardSequence(tf.zeros([1, 2, 3]));
  const state = lstm.zeroState(1);
  const fused = L.fusedSequence('lstm', tf.zeros([1, 2, 3]), ...['kernel', 'recurrent_kernel', 'bias'].map((k) => lstm.variablesOf(0)[k].read()), null, null, {});
  const dimsSrc = fs.readFileSync(path.join(ROOT, 'src', 'fused', 'kernels.ts'), 'utf8');
  const dims = /export interface Dims \{([\s\S]*?)\n\}/.exec(dimsSrc)[1];
  const objects = {
    layer: lstm, State: state, SequenceResult: seq, DirectionTrace: seq.directions[0], FusedResult: fused,
    CharVocab: L.CharVocab.fromText('ab'),
    Dims: Object.fromEntries([...dims.matchAll(/^\s+(\w+)\??:/gm)].map((m) => [m[1], true])),
  };
  let fields = 0;
  for (const m of DOC.matchAll(/`(layer|State|SequenceResult|DirectionTrace|FusedResult|CharVocab|Dims)\.(\w+)/g)) {
    fields++;
    const v = objects[m[1]][m[2]];
    assert.ok(v !== undefined, `${m[1]}.${m[2]} does not exist (keys: ${Object.keys(objects[m[1]]).join(', ')})`);
  }
  assert.ok(fields >= 12, `expected at least 12 property/field names; found ${fields}`);
  // Functions the doc names as rnn-lab's.
  for (const f of ['getLectureWeights', 'setLectureWeights', 'toKerasWeights', 'torchWeights', 'fusedSequence', 'generate', 'nextCharPairs', 'train']) {
    assert.ok(DOC.includes(`\`${f}`), `the doc names ${f}`);
    assert.equal(typeof L[f], 'function', `${f} is exported`);
  }
  tf.dispose([x, y, state.h, state.c, seq.output, ...seq.directions.flatMap((d) => [...d.h, ...(d.c ?? [])]), fused.hs, fused.hT, fused.cT]);
  free(lstm);
  model.dispose();
});

test('every tf.js / Keras name in the doc is a tf.js config key, weight name or function (or its Python spelling)', () => {
  const layers = [tf.layers.simpleRNN({ units: 2, inputShape: [4, 3] }), tf.layers.lstm({ units: 2 }), tf.layers.gru({ units: 2 }),
    tf.layers.embedding({ inputDim: 5, outputDim: 2 }), tf.layers.dense({ units: 2 })];
  const names = new Set();
  for (const l of layers) for (const k of Object.keys(l.getConfig())) names.add(k);
  // Keras's Python spelling: what tf.js writes into a saved model.json.
  const seqModel = tf.sequential({ layers: [tf.layers.gru({ units: 2, inputShape: [4, 3], returnSequences: true }), tf.layers.lstm({ units: 2 })] });
  const json = JSON.stringify(seqModel.toJSON(null, false));
  for (const m of json.matchAll(/"(\w+)":/g)) names.add(m[1]);
  for (const w of seqModel.weights) names.add(w.originalName.split('/').pop());
  seqModel.dispose();
  let n = 0;
  // Names only: a formula (the orientation table) is not a name.
  for (const cell of column(/^Keras/)) for (const t of ticks(cell).filter((k) => /^[\w.]+(: .*|=.*)?$/.test(k))) {
    n++;
    const fn = /^tf\.layers\.(\w+)/.exec(t);
    if (fn) { assert.equal(typeof tf.layers[fn[1]], 'function', `${t} is a tf.js function`); continue; }
    const name = /^(\w+)/.exec(t)[1];
    assert.ok(names.has(name), `'${name}' (from \`${t}\`) is not a tf.js config key or weight name`);
  }
  // reset_after is Keras's (Python) name: tf.js serializes resetAfter under it.
  assert.ok(json.includes('"reset_after"'), 'tf.js writes reset_after');
  assert.ok(n >= 15, `expected at least 15 Keras/tf.js names; found ${n}`);
});

test('every PyTorch name in the doc is a torch attribute, state-dict key or documented output', (t) => {
  let ok = false;
  try { execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }); ok = true; } catch { /* checked below */ }
  if (!needs(t, 'PyTorch', ok, 'install torch for /usr/bin/python3')) return;
  const listed = [...new Set(column(/^PyTorch/).flatMap(ticks).map((k) => /^(\w+)/.exec(k)[1]))];
  const py = `
import json, sys, torch.nn as nn
mods = [nn.RNN(3, 2, batch_first=True), nn.LSTM(3, 2), nn.GRU(3, 2), nn.Embedding(5, 2), nn.Linear(3, 2)]
known = set()
for m in mods:
    known |= set(vars(m)) | set(m.state_dict())
doc = nn.LSTM.__doc__ + nn.RNN.__doc__ + nn.GRU.__doc__
print(json.dumps([k for k in json.loads(sys.argv[1]) if k not in known and ('\`' + k + '\`') not in doc and ('**' + k + '**') not in doc and (' ' + k + ':') not in doc]))
`;
  const missing = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, JSON.stringify(listed)], { encoding: 'utf8' }));
  assert.ok(listed.length >= 15, `expected at least 15 PyTorch names; found ${listed.join(', ')}`);
  assert.deepEqual(missing, [], `PyTorch names not found in torch: ${missing.join(', ')} (of ${listed.join(', ')})`);
});

test('each "Names being unified" reference points at a line that has the name', () => {
  const text = S['Names being unified'].text;
  let n = 0;
  let file = '';
  // Entries look like `src/x.ts:N`, `:M` … `name`; a bare `:N` reuses the last file. Every line of a
  // group must hold the name (as a whole word), or the whole token when it is code like `f(a, b)`.
  for (const m of text.matchAll(/`(src\/[\w/.-]+\.ts)?:(\d+)`((?:,? `:\d+`)*)[^`]*?`([^`]+)`/g)) {
    file = m[1] ?? file;
    const src = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    const lines = [Number(m[2]), ...[...m[3].matchAll(/:(\d+)/g)].map((x) => Number(x[1]))];
    const token = m[4];
    const name = /^(?:\w+\.)?(\w+)/.exec(token)?.[1];
    for (const k of lines) {
      const line = src[k - 1] ?? '';
      n++;
      assert.ok(line.includes(token) || (name && new RegExp(`\\b${name}\\b`).test(line)),
        `${file}:${k} should contain '${name ?? token}'; it is: ${line.trim()}`);
    }
  }
  assert.ok(n >= 20, `expected at least 20 file:line references with a name; found ${n}`);
});

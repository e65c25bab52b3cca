import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ROOT, lib, tf } from '../helpers.mjs';

const { initBackend, backendInfo } = lib();

function captureLog(fn) {
  const lines = [];
  const orig = console.log;
  console.log = (...a) => lines.push(a.join(' '));
  return Promise.resolve(fn()).finally(() => { console.log = orig; }).then((r) => ({ r, lines }));
}

test('forcing cpu and wasm selects them and prints one line saying why', async () => {
  for (const name of ['cpu', 'wasm']) {
    const { r, lines } = await captureLog(() => initBackend({ backend: name }));
    assert.equal(r.name, name);
    assert.equal(tf().getBackend(), name);
    assert.equal(lines.length, 1, `expected one line, got ${JSON.stringify(lines)}`);
    assert.match(lines[0], new RegExp(`^rnn-lab backend: ${name} \\(forced by the backend option`));
    assert.deepEqual(backendInfo(), r);
  }
});

test('automatic choice prefers tfjs-node, else wasm, and says why', async () => {
  const { r } = await captureLog(() => initBackend({ backend: 'auto' }));
  let nodeInstalled = true;
  try { require.resolve('@tensorflow/tfjs-node', { paths: [ROOT] }); } catch { nodeInstalled = false; }
  if (!nodeInstalled) {
    assert.equal(r.name, 'wasm');
    assert.match(r.reason, /tfjs-node is not installed/);
    assert.match(r.reason, /SIMD (on|off)/);
  } else {
    assert.ok(['tensorflow', 'wasm'].includes(r.name), r.line);
  }
});

test('RNN_LAB_BACKEND forces a backend, and the CPU banner stays off stderr', () => {
  const code = `require(${JSON.stringify(ROOT + '/dist/index.js')}).initBackend().then(() => {
    const tf = require(${JSON.stringify(ROOT + '/node_modules/@tensorflow/tfjs')});
    tf.tensor([1, 2, 3]).square().dataSync();
    console.log('backend=' + tf.getBackend());
  });`;
  const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, RNN_LAB_BACKEND: 'cpu' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /forced by RNN_LAB_BACKEND/);
  assert.match(r.stdout, /backend=cpu/);
  assert.equal(r.stderr.trim(), '', `stderr should be empty, got: ${r.stderr}`);
});

test('an unknown backend name is a clear error naming the option and the value', async () => {
  await assert.rejects(() => initBackend({ backend: 'gpu' }), /backend \(or RNN_LAB_BACKEND\) must be one of tensorflow, node, wasm, cpu, auto; got 'gpu'/);
});

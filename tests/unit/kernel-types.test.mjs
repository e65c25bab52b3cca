// The course kernel's TypeScript checker in a folder outside the project (its own file: the checker's
// module state is per process, and the kernel has one working folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const T = require(path.join(ROOT, 'scripts', 'kernel', 'tslab.cjs'));
const K = require(path.join(ROOT, 'scripts', 'kernel', 'kernel.cjs'));

test('the TypeScript checker finds rnn-lab and tf.js from a folder outside the project (and a local module first)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-lab-types-'));
  const cwd = process.cwd();
  try {
    fs.writeFileSync(path.join(tmp, 'helper.ts'), 'export const three: number = 3;\n');
    process.chdir(tmp);
    K.typesFromCheckout(tmp);
    const conv = T.createConverter({ isJS: false, isBrowser: false });
    try {
      const ok = conv.convert('', "import * as tf from '@tensorflow/tfjs';\nimport { buildRNN, type ModelSpec } from 'rnn-lab';\nimport { three } from './helper';\nconst s: ModelSpec = { inputSize: three, hiddenSize: 4, outputSize: 1 };\nconst t: tf.Tensor = tf.zeros([1]);");
      assert.deepEqual(ok.diagnostics, [], JSON.stringify(ok.diagnostics));
      const bad = conv.convert('', "import { buildRNN } from 'rnn-lab';\nbuildRNN({ inputSize: 'one', hiddenSize: 4, outputSize: 1 });");
      const text = bad.diagnostics.map((d) => d.messageText).join('\n');
      assert.match(text, /Type 'string' is not assignable to type 'number'/, 'rnn-lab types were not found (or not checked)');
      assert.doesNotMatch(text, /Cannot find module/);
      const missing = conv.convert('', "import { x } from 'no-such-package-anywhere';");
      assert.match(missing.diagnostics.map((d) => d.messageText).join('\n'), /Cannot find module 'no-such-package-anywhere'/);
    } finally {
      conv.close();
    }
  } finally {
    process.chdir(cwd);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

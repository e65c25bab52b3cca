// The public types keep what user code already relies on (the API only grows). A merge once widened
// TrainData.x/y to include ragged arrays, and lessons 03 and 05, which read `data.y` as a tensor, stopped
// compiling. This compiles such code against the built declarations (dist/*.d.ts) with TypeScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const ts = require(path.join(ROOT, 'node_modules', 'typescript'));

function compile(code) {
  const dir = fs.mkdtempSync(path.join(ROOT, '.tmp-api-types-'));
  try {
    const file = path.join(dir, 'use.ts');
    fs.writeFileSync(file, code);
    const program = ts.createProgram([file], {
      strict: true, noEmit: true, module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020,
      moduleResolution: ts.ModuleResolutionKind.Node10, skipLibCheck: true, esModuleInterop: true,
      paths: { 'rnn-lab': [path.join(ROOT, 'dist', 'index.d.ts')] }, baseUrl: ROOT,
    });
    return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('TrainData keeps tensor fields; ragged data has its own type; both go to train', () => {
  const errors = compile(`
    import * as tf from '@tensorflow/tfjs';
    import { train, buildLSTM, type TrainData, type RaggedTrainData, type TrainInput } from 'rnn-lab';
    const d: TrainData = { x: tf.zeros([2, 3, 1]), y: tf.zeros([2, 1]) };
    const y: tf.Tensor = d.y;                                  // lesson 03 reads it as a tensor
    const kept: tf.TensorContainer = [d.x, d.y];               // lesson 05 keeps them in tf.tidy
    const r: RaggedTrainData = { x: [[1, 2], [3]], y: [0, 1] };
    const both: TrainInput[] = [d, r];
    const pairs: RaggedTrainData = { x: [[[[1], [2]]], [[[0], [1]]]], y: [[[1], [2]]] };   // seq2seq features: [sources, targetsIn]
    const m = buildLSTM({ inputSize: 1, hiddenSize: 2, outputSize: 1 });
    void train(m, d, { epochs: 1 }); void train(m, r, { epochs: 1 }); void y; void kept; void both; void pairs;
  `);
  assert.deepEqual(errors, [], errors.join('\n'));
  // And the check can fail: a wrong use is reported.
  const wrong = compile(`import type { TrainData } from 'rnn-lab'; const n: number = ({} as TrainData).y;`);
  assert.ok(wrong.some((e) => /not assignable to type 'number'/.test(e)), wrong.join('\n'));
});

test('decode keeps returning a tensor without beam; with beam it returns a BeamSearchResult (issue 19)', () => {
  const errors = compile(`
    import * as tf from '@tensorflow/tfjs';
    import { decode, beamSearch, buildGRU, type DecodeOptions, type BeamSearchResult, type BeamDecodeOptions, type BeamSearchOptions } from 'rnn-lab';
    const m = buildGRU({ vocabSize: 5, hiddenSize: 4, outputSize: 5, topology: 'seq2seq' });
    const src = tf.zeros([1, 3], 'int32');
    const ids: tf.Tensor = decode(m, src, { start: 0, end: 1, maxLength: 3 });
    const opts: DecodeOptions = { start: 0, maxLength: 3, sourceLengths: [3] };
    const ids2: tf.Tensor = decode(m, src, opts);
    const beam: BeamSearchResult = decode(m, src, { beam: 2, start: 0, end: 1, maxLength: 3, lengthPenalty: 0.6 });
    const bo: BeamDecodeOptions = { beam: 2, start: 0, maxLength: 3 };
    const best: number[] = decode(m, src, bo).sequences[0][0];
    const so: BeamSearchOptions = { beam: 2, maxLength: 3, lengths: [3] };
    const lp: number = beamSearch(m, src, so).logProbs[0][0];
    void ids; void ids2; void beam; void best; void lp;
  `);
  assert.deepEqual(errors, [], errors.join('\n'));
  const wrong = compile(`import * as tf from '@tensorflow/tfjs'; import { decode, buildGRU } from 'rnn-lab';
    const t: tf.Tensor = decode(buildGRU({ vocabSize: 5, hiddenSize: 4, outputSize: 5, topology: 'seq2seq' }), tf.zeros([1, 3]), { beam: 2, start: 0, maxLength: 3 });`);
  assert.ok(wrong.length > 0, 'a beam result is not a tensor');
});

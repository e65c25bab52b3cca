// Issue 14: a lesson's claim that a model learned something must be able to fail. With
// RNN_LAB_NO_TRAINING=1 (src/no-training.ts) no optimizer takes a step, so every lesson marked
// `"rnn-lab": {"learned_claim": true}` in its metadata must stop with a ClaimError whose message names
// its baseline; a lesson whose claim still held would have claimed what the untrained model already did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { needs } from './helpers.mjs';
import { listNotebooks, executeNotebooks, findPython, INSTALL_HINT } from '../scripts/jupyter.mjs';
import { installKernel } from '../scripts/kernel.mjs';

const lessons = listNotebooks();
const learned = lessons.filter((f) => JSON.parse(fs.readFileSync(f, 'utf8')).metadata?.['rnn-lab']?.learned_claim === true);

test('every lesson says whether its claim is one of learning (metadata rnn-lab.learned_claim)', () => {
  const unmarked = lessons.filter((f) => typeof JSON.parse(fs.readFileSync(f, 'utf8')).metadata?.['rnn-lab']?.learned_claim !== 'boolean');
  assert.deepEqual(unmarked.map((f) => path.basename(f)), []);
  assert.ok(learned.length >= 6, `only ${learned.length} lessons claim learning`);
});

test('with training disabled, every claim of learning fails, naming its baseline', { timeout: 900000 }, (t) => {
  if (!needs(t, 'Jupyter (nbclient, nbconvert)', findPython(['nbclient', 'nbconvert', 'ipykernel']), INSTALL_HINT)) return;
  installKernel();
  const reports = executeNotebooks(learned, { cellTimeout: 300, env: { RNN_LAB_NO_TRAINING: '1' } });
  const rows = reports.map((r) => {
    const claim = r.errors.find((e) => /ClaimError/.test(e));
    return { lesson: path.basename(r.path), seconds: r.seconds, ok: r.ok, claim: claim ?? null, other: claim ? [] : r.errors };
  });
  for (const r of rows) console.log(`${r.claim ? 'fails as it must' : 'DID NOT FAIL  '} ${r.seconds.toFixed(1).padStart(5)} s ${r.lesson}: ${(r.claim ?? r.other.join(' | ') ?? '').slice(0, 400)}`);
  const wrong = rows.filter((r) => !r.claim || !/baseline/i.test(r.claim));
  assert.deepEqual(wrong.map((r) => ({ lesson: r.lesson, ok: r.ok, claim: r.claim, other: r.other.map((e) => e.slice(0, 300)) })), []);
});

// Issue 14: a lesson's claim that a model learned something must be able to fail. With
// RNN_LAB_NO_TRAINING=1 (src/no-training.ts) no optimizer takes a step, so every lesson marked
// `"rnn-lab": {"learned_claim": true}` in its metadata must stop with a ClaimError whose message names
// its baseline; a lesson whose claim still held would have claimed what the untrained model already did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { needs } from './helpers.mjs';
import { listNotebooks, executeNotebooks, findPython, INSTALL_HINT } from '../scripts/lib/jupyter.mjs';
import { installKernel } from '../scripts/kernel.mjs';

const lessons = listNotebooks();
const learned = lessons.filter((f) => JSON.parse(fs.readFileSync(f, 'utf8')).metadata?.['rnn-lab']?.learned_claim === true);

test('every lesson says whether its claim is one of learning (metadata rnn-lab.learned_claim)', () => {
  const unmarked = lessons.filter((f) => typeof JSON.parse(fs.readFileSync(f, 'utf8')).metadata?.['rnn-lab']?.learned_claim !== 'boolean');
  assert.deepEqual(unmarked.map((f) => path.basename(f)), []);
  assert.ok(learned.length >= 6, `only ${learned.length} lessons claim learning`);
});

test('with training disabled, every claim of learning in every lesson fails naming its baseline, and every check still holds', { timeout: 900000 }, (t) => {
  if (!needs(t, 'Jupyter (nbclient, nbconvert)', findPython(['nbclient', 'nbconvert', 'ipykernel']), INSTALL_HINT)) return;
  installKernel();
  // RNN_LAB_CLAIMS=report: a failing claim prints "✘ claim fails: …" and the lesson goes on, so a claim
  // after the first one that fails is tested too. A claim names a baseline exactly when it is a claim of
  // learning (the lessons' rule); checks (gradients, identities, counts) hold without training.
  const reports = executeNotebooks(learned, { cellTimeout: 300, env: { RNN_LAB_NO_TRAINING: '1', RNN_LAB_CLAIMS: 'report' } });
  const problems = [];
  for (const r of reports) {
    const lesson = path.basename(r.path);
    const held = r.claims ?? [], failed = r.failed_claims ?? [];
    console.log(`${lesson} (${r.seconds.toFixed(1)} s): ${failed.length} claim(s) of learning failed as they must, ${held.length} check(s) held`);
    for (const f of failed) console.log(`  ✘ ${f.slice(0, 300)}`);
    if (failed.length === 0) problems.push(`${lesson}: no claim failed without training`);
    for (const h of held.filter((c) => /baseline/i.test(c))) problems.push(`${lesson}: a claim naming a baseline held without training: ${h.slice(0, 300)}`);
    for (const f of failed.filter((c) => !/baseline/i.test(c))) problems.push(`${lesson}: a claim failed without training but names no baseline (a check that should hold either way, or a claim of learning without its baseline): ${f.slice(0, 300)}`);
    for (const e of [...r.errors, ...r.stderr.map((x) => x.text)]) problems.push(`${lesson}: the run itself failed: ${String(e).slice(0, 300)}`);
  }
  assert.deepEqual(problems, []);
});

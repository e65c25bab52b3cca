import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib } from '../helpers.mjs';

const { expectClaim, ClaimError } = lib();

test('expectClaim passes quietly-but-visibly and fails with the numbers it was given', () => {
  const lines = [];
  const orig = console.log;
  console.log = (...a) => lines.push(a.join(' '));
  try { expectClaim(true, 'loss fell from 2.0 to 0.4'); } finally { console.log = orig; }
  assert.deepEqual(lines, ['✔ claim holds: loss fell from 2.0 to 0.4']);
  assert.throws(() => expectClaim(false, 'loss fell from 2.0 to 1.9'), (e) => e instanceof ClaimError && /Claim does not hold: loss fell from 2.0 to 1.9/.test(e.message));
  assert.throws(() => expectClaim(true, ''), /message must be a non-empty string/);
});

test('RNN_LAB_CLAIMS=report: a failing claim prints ✘ and the run goes on; unset it throws; another value is an error', async () => {
  const { spawnSync } = await import('node:child_process');
  const path = await import('node:path');
  const { ROOT } = await import('../helpers.mjs');
  const script = `const L = require(${JSON.stringify(path.join(ROOT, 'dist', 'claims.js'))});
L.expectClaim(1 < 2, 'holds'); L.expectClaim(2 < 1, 'fails: loss 0.9 vs baseline 0.5'); console.log('went on');`;
  const run = (v) => spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, RNN_LAB_CLAIMS: v } });
  const rep = run('report');
  assert.equal(rep.status, 0, rep.stderr);
  assert.equal(rep.stdout, '✔ claim holds: holds\n✘ claim fails: fails: loss 0.9 vs baseline 0.5\nwent on\n');
  const thr = run('');
  assert.notEqual(thr.status, 0);
  assert.match(thr.stderr, /ClaimError: Claim does not hold: fails: loss 0\.9 vs baseline 0\.5/);
  assert.doesNotMatch(thr.stdout, /went on/);
  const bad = run('yes');
  assert.match(bad.stderr, /RNN_LAB_CLAIMS must be 'report' \(print failing claims and go on\) or 'throw' \/ unset; got 'yes'/);
});

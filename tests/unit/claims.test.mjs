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

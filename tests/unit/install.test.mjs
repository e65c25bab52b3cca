// A fresh `npm install` prints no install-script warnings: package.json's allowScripts declares the
// policy for every dependency that has an install script (npm ≥ 11 blocks unlisted ones and warns).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../helpers.mjs';

test('every installed package with an install script is covered by allowScripts', (t) => {
  const major = Number(execFileSync('npm', ['--version'], { encoding: 'utf8' }).split('.')[0]);
  if (major < 11) { t.diagnostic(`npm ${major} has no install-script approvals; nothing to check`); return; }
  const out = execFileSync('npm', ['install-scripts', 'ls'], { cwd: ROOT, encoding: 'utf8' });
  assert.match(out, /No packages with unreviewed install scripts/, `npm install-scripts ls reports unreviewed packages:\n${out}`);
});

test('allowScripts approves zeromq (the kernel\'s transport) and the optional native backend', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.allowScripts?.zeromq, true);
  assert.equal(pkg.allowScripts?.['@tensorflow/tfjs-node'], true);
  // Every listed package is a dependency somewhere in the lockfile (no stale entries).
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  for (const name of Object.keys(pkg.allowScripts)) {
    assert.ok(Object.keys(lock.packages).some((p) => p.endsWith(`node_modules/${name}`)), `allowScripts lists ${name}, which the lockfile does not have`);
  }
});

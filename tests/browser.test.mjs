// The HTML that `npm run course` writes opens offline in headless Chromium with its plots drawn
// (plotly's SVG present), its equations typeset, and no JavaScript error or failed request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs, CHROMIUM } from './helpers.mjs';
import { findPython, INSTALL_HINT } from '../scripts/lib/jupyter.mjs';
import { inspectPages } from './pages.mjs';

test('the welcome page renders its plots in headless Chromium with no JavaScript errors', async (t) => {
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  if (!needs(t, 'Jupyter (nbclient, nbconvert)', findPython(['nbclient', 'nbconvert', 'ipykernel']), INSTALL_HINT)) return;
  const site = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-site-'));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'course', 'course.mjs'), '--site', site, '00-welcome'], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, `npm run course failed:\n${r.stdout}\n${r.stderr}`);
  const page = path.join(site, '00-welcome.html');
  assert.ok(fs.existsSync(page), `${page} was not written`);
  const index = fs.readFileSync(path.join(site, 'index.html'), 'utf8');
  assert.match(index, /href="00-welcome\.html"/);
  // Each lesson's row shows its kernel's peak memory, under the default budget of 1536 MB; the figure is
  // the kernel's processes (launch.cjs and kernel.cjs, both node), each at least a Node process with tf.js.
  const rows = [...index.matchAll(/<tr><td><a href="([^"]+)\.html">.*?<\/tr>/gs)];
  assert.deepEqual(rows.map((m) => m[1]), ['00-welcome']);
  for (const [row, name] of rows) {
    const mem = row.match(/<td title="([^"]*)">(\d+) MB<\/td>/);
    assert.ok(mem, `${name}: no memory figure in its row: ${row.slice(0, 300)}`);
    const [, procs, mb] = mem;
    const each = [...procs.matchAll(/node \(pid \d+\) (\d+) MB/g)].map((m) => Number(m[1]));
    assert.ok(each.length >= 2, `${name}: the kernel's two node processes are listed: ${procs}`);
    const sum = each.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(Number(mb) - sum) <= each.length, `${name}: ${mb} MB is the processes' sum ${sum} MB (rounding ≤ 1 MB each)`);
    assert.ok(Number(mb) > 60 && Number(mb) <= 1536, `${name}: peak memory ${mb} MB (expected 60..1536 MB)`);
  }
  assert.match(r.stdout, /00-welcome\.ipynb/);
  assert.match(r.stdout, /\d+ MB \/ 1536 MB {2}notebooks\/00-welcome\.ipynb/, 'the console line gives the figure and the budget');
  // The index shows the numbers behind each claim: the line the lesson's own run printed.
  const claims = [...index.matchAll(/<ul class="claims">(.*?)<\/ul>/gs)].flatMap((m) => [...m[1].matchAll(/<li>(.*?)<\/li>/gs)].map((l) => l[1]));
  assert.ok(claims.length >= 1, 'the index lists the claim lesson 00 printed');
  const text = (html) => html.replace(/<[^>]*>/g, '').replace(/&#(\d+);/g, (_, n) => String.fromCharCode(+n))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const pageText = text(fs.readFileSync(path.join(site, '00-welcome.html'), 'utf8'));
  for (const c of claims) assert.ok(pageText.includes(`✔ claim holds: ${text(c)}`), `the index's claim "${c}" is what the page printed`);

  try {
    const [p] = await inspectPages([page]);
    console.log(`plots ${p.plots}, drawn ${p.drawn}, math ${p.math}, problems ${p.problems.length}`);
    assert.ok(p.plots >= 2, `expected at least 2 plots (static + live), found ${p.plots}`);
    assert.equal(p.drawn, p.plots, 'every plot was drawn by plotly');
    assert.ok(p.math > 0, 'equations were typeset');
    assert.deepEqual(p.problems, []);
  } finally {
    fs.rmSync(site, { recursive: true, force: true });
  }
});

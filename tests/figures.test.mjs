// Issue 13, item 2: after runs and re-runs in one kernel session, the saved notebook holds plotly.js
// once and nbconvert's default HTML export (`jupyter nbconvert --to html`) draws every figure offline.
// tests/rerun_export.py drives the kernel with nbclient (every cell, then the cells holding plotly.js,
// every figure cell last to first, the first again), saves and exports; Chromium opens the page with
// the network blocked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs, CHROMIUM } from './helpers.mjs';
import { findPython, jupyterEnv, INSTALL_HINT } from '../scripts/lib/jupyter.mjs';
import { installKernel } from '../scripts/kernel.mjs';

const python = findPython(['nbclient', 'nbconvert', 'nbformat']);
/** The budget for a saved lesson after re-running all its figure cells. */
const MAX_SAVED_BYTES = 6e6;
const BUNDLE_HEADER = /plotly\.js \(cartesian - minified\) v/g;

for (const lesson of ['00-welcome', '06-vanishing-and-exploding-gradients']) {
  test(`${lesson}: re-run in one session, saved, exported by nbconvert's default HTML exporter: every figure draws offline, plotly.js stored once`, { timeout: 300000 }, async (t) => {
    if (!needs(t, 'Jupyter (nbclient, nbconvert)', python, INSTALL_HINT)) return;
    if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
    installKernel();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-rerun-'));
    try {
      const r = spawnSync(python, [path.join(ROOT, 'tests', 'rerun_export.py'), path.join(ROOT, 'notebooks', `${lesson}.ipynb`), out],
        { env: jupyterEnv(), encoding: 'utf8', timeout: 280000 });
      assert.equal(r.status, 0, `rerun_export.py failed:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
      const rep = JSON.parse(r.stdout.trim().split('\n').pop());
      console.log(`${lesson}: ${rep.figures} figures in cells ${rep.figure_cells.join(', ')}; plotly.js first in cell ${rep.first_holders}, ` +
        `after ${rep.reruns.length} re-runs in cell ${rep.holders} (${rep.copies} cop${rep.copies === 1 ? 'y' : 'ies'}); saved ${(rep.bytes / 1e6).toFixed(2)} MB; ${rep.seconds} s`);
      assert.ok(rep.figures >= 2 && rep.reruns.length >= 3, 'the case under test: figures, re-runs');
      for (const step of rep.reruns) assert.equal(step.copies, 1, `after re-running cell ${step.cell}: ${step.copies} copies of plotly.js`);
      assert.ok(rep.bytes < MAX_SAVED_BYTES, `saved notebook ${rep.bytes} bytes, budget ${MAX_SAVED_BYTES}`);
      const html = fs.readFileSync(rep.page, 'utf8');
      assert.equal((html.match(BUNDLE_HEADER) ?? []).length, 1, 'the exported page carries plotly.js once');

      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
      try {
        const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
        const blocked = [];
        // Offline: nbconvert's page asks a CDN for require.js and MathJax; nothing may depend on them.
        await context.route('**', (q) => (q.request().url().startsWith('file:') ? q.continue() : (blocked.push(q.request().url()), q.abort())));
        const page = await context.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`file://${rep.page}`);
        await page.waitForFunction((n) => document.querySelectorAll('.rnnlab-plot .main-svg').length >= n, rep.figures, { timeout: 60000 }).catch(() => {});
        const seen = await page.evaluate(() => {
          const plots = [...document.querySelectorAll('.rnnlab-plot')];
          return { plots: plots.length, drawn: plots.filter((d) => d.querySelector('.main-svg')).length,
            waiting: plots.filter((d) => d.querySelector('.rnnlab-plot-placeholder')).map((d) => d.innerText.slice(0, 80)) };
        });
        console.log(`  page: ${seen.drawn}/${seen.plots} figures drawn; blocked requests ${blocked.length}; page errors ${errors.length}`);
        assert.equal(seen.plots, rep.figures, 'one figure area per figure output');
        assert.equal(seen.drawn, rep.figures, `figures not drawn: ${seen.waiting.join(' | ')}`);
        assert.deepEqual(errors, [], 'no JavaScript error');
      } finally { await browser.close(); }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
}

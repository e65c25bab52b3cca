// The HTML that `npm run course` writes opens offline in headless Chromium with its plots drawn
// (plotly's SVG present), its equations typeset, and no JavaScript error or failed request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs, CHROMIUM } from './helpers.mjs';
import { findPython, INSTALL_HINT } from '../scripts/jupyter.mjs';

test('the welcome page renders its plots in headless Chromium with no JavaScript errors', async (t) => {
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  if (!needs(t, 'Jupyter (nbclient, nbconvert)', findPython(['nbclient', 'nbconvert', 'ipykernel']), INSTALL_HINT)) return;
  const site = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-site-'));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'course.mjs'), '--site', site, '00-welcome'], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, `npm run course failed:\n${r.stdout}\n${r.stderr}`);
  const page = path.join(site, '00-welcome.html');
  assert.ok(fs.existsSync(page), `${page} was not written`);
  assert.match(fs.readFileSync(path.join(site, 'index.html'), 'utf8'), /href="00-welcome\.html"/);

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const tab = await browser.newPage();
    const problems = [];
    tab.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    tab.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    tab.on('requestfailed', (q) => problems.push(`request failed: ${q.url()}`));
    await tab.goto(`file://${page}`);
    await tab.waitForSelector('.rnnlab-plot .main-svg', { timeout: 20000 });
    await tab.waitForSelector('mjx-container', { timeout: 20000 });
    await tab.waitForTimeout(500);
    const plots = await tab.locator('.rnnlab-plot').count();
    const drawn = await tab.locator('.rnnlab-plot .main-svg').count();
    const traces = await tab.locator('.rnnlab-plot .scatterlayer .trace').count();
    console.log(`plots ${plots}, plotly svg layers ${drawn}, scatter traces ${traces}, problems ${problems.length}`);
    assert.ok(plots >= 2, `expected at least 2 plots (static + live), found ${plots}`);
    assert.ok(traces >= 3, `expected at least 3 drawn traces, found ${traces}`);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    fs.rmSync(site, { recursive: true, force: true });
  }
});

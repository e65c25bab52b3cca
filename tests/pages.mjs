// Open exported notebook pages in headless Chromium and report what rendered.
import { CHROMIUM } from './helpers.mjs';

/**
 * For each HTML file: the number of plot containers, how many plotly drew (SVG present), whether
 * math was typeset, and every console error, page error and failed request.
 */
export async function inspectPages(files) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const out = [];
  try {
    for (const file of files) {
      const tab = await browser.newPage();
      const problems = [];
      tab.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
      tab.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      tab.on('requestfailed', (q) => problems.push(`request failed: ${q.url()}`));
      await tab.goto(`file://${file}`);
      const plots = await tab.locator('.rnnlab-plot').count();
      if (plots > 0) await tab.waitForFunction((n) => document.querySelectorAll('.rnnlab-plot .main-svg').length >= n, plots, { timeout: 30000 }).catch(() => {});
      const hasMath = await tab.evaluate(() => /\$|\\\(/.test(document.body.innerText));
      if (hasMath) await tab.waitForSelector('mjx-container', { timeout: 20000 }).catch(() => {});
      await tab.waitForTimeout(300);
      const drawn = await tab.evaluate(() => [...document.querySelectorAll('.rnnlab-plot')].filter((d) => d.querySelector('.main-svg')).length);
      const math = await tab.locator('mjx-container').count();
      out.push({ file, plots, drawn, math, hasMath, problems });
      await tab.close();
    }
  } finally {
    await browser.close();
  }
  return out;
}

// Open exported notebook pages in headless Chromium and report what rendered.
import { CHROMIUM } from './helpers.mjs';

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * For each HTML file: the number of plot containers, how many plotly drew (SVG present), whether
 * math was typeset, and every console error, page error and failed request.
 */
export async function inspectPages(files) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: LAUNCH_ARGS,
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

/**
 * Draw plotly figures `{ data, layout, config }` (a notebook output's application/vnd.plotly.v1+json)
 * with `Plotly.newPlot` in a headless Chromium page that holds nothing but the plotly.js bundle the
 * course ships (`plotlyBundle`: its file's text), as JupyterLab's or VS Code's plotly renderer would.
 * Resolves to one list of problems per figure ([] = drew): newPlot rejecting or throwing, no
 * `.main-svg`, a trace plotly dropped or hid (`visible: false`, which is what plotly.js does to a trace
 * of a type its bundle lacks or with no usable data) that the input did not hide, no trace drawn at
 * all (or no trace given), and every console error and page error raised while the figure was drawn.
 * @param {{ data: object[], layout?: object, config?: object }[]} figures
 * @param {string} plotlyBundle
 * @returns {Promise<string[][]>}
 */
export async function drawPlotlyJson(figures, plotlyBundle) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  try {
    const tab = await browser.newPage();
    // Errors raised outside a figure's evaluate (late async ones) are caught here and charged to the
    // figure being drawn when they arrive; the page itself records the synchronous ones per figure.
    let outside = [];
    tab.on('console', (m) => { if (m.type() === 'error') outside.push(`console error: ${m.text()}`); });
    tab.on('pageerror', (e) => outside.push(`page error: ${e.message}`));
    tab.on('requestfailed', (q) => outside.push(`request failed: ${q.url()}`));
    await tab.setContent('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>');
    await tab.addScriptTag({ content: plotlyBundle });
    const loaded = await tab.evaluate(() => typeof window.Plotly?.newPlot === 'function');
    if (!loaded) throw new Error(`drawPlotlyJson: the plotly.js bundle did not define window.Plotly.newPlot (${outside.join('; ')})`);
    const results = [];
    for (const fig of figures) {
      outside = [];
      const problems = await tab.evaluate(async (fig) => {
        const problems = [];
        const origError = console.error;
        console.error = (...a) => { problems.push(`console error: ${a.map(String).join(' ')}`); origError.apply(console, a); };
        const onError = (e) => problems.push(`page error: ${e.message}`);
        const onRejection = (e) => problems.push(`unhandled rejection: ${e.reason?.message ?? e.reason}`);
        window.addEventListener('error', onError);
        window.addEventListener('unhandledrejection', onRejection);
        const gd = document.createElement('div');
        gd.style.width = '800px';
        document.body.appendChild(gd);
        try {
          const data = Array.isArray(fig?.data) ? fig.data : [];
          if (!Array.isArray(fig?.data)) problems.push(`data is not an array: ${JSON.stringify(fig?.data)?.slice(0, 80)}`);
          else if (data.length === 0) problems.push('the figure has no traces: an empty plot');
          // structuredClone: plotly writes into its arguments; the input stays as given for the checks.
          await window.Plotly.newPlot(gd, structuredClone(data), structuredClone(fig.layout ?? {}), structuredClone(fig.config ?? {}));
          await new Promise((r) => requestAnimationFrame(() => r()));
          if (!gd.querySelector('.main-svg')) problems.push('no .main-svg: plotly drew no figure');
          const full = gd._fullData ?? [];
          if (full.length !== data.length) problems.push(`plotly kept ${full.length} of ${data.length} traces`);
          full.forEach((t, i) => {
            const asked = data[i]?.visible;
            if (t.visible === false && asked !== false) {
              problems.push(`trace ${i} (type ${JSON.stringify(data[i]?.type ?? 'scatter')}, name ${JSON.stringify(data[i]?.name ?? '')}) ` +
                'is hidden by plotly (visible: false): a type this bundle lacks, or no usable data');
            }
          });
          const shown = full.filter((t) => t.visible === true).length;
          // Every drawn trace type puts its own group in the plot: g.trace (scatter, bar, box, …),
          // g.hm / g.contour (heatmaps), g.imagelayer > g (image).
          const drawn = gd.querySelectorAll('.cartesianlayer .trace, .cartesianlayer .hm, .cartesianlayer .contour, .imagelayer g, .pielayer .trace, .funnelarea .trace').length;
          if (shown > 0 && drawn === 0) problems.push(`${shown} visible traces, but no trace element in the SVG`);
        } catch (e) {
          problems.push(`Plotly.newPlot failed: ${e?.message ?? e}`);
        } finally {
          try { window.Plotly.purge(gd); } catch { /* reported above if it matters */ }
          gd.remove();
          console.error = origError;
          window.removeEventListener('error', onError);
          window.removeEventListener('unhandledrejection', onRejection);
        }
        return problems;
      }, fig);
      // Let late events (console messages are delivered asynchronously) reach `outside`.
      await tab.waitForTimeout(20);
      // The page-side hook saw console.error already; keep only what it could not see.
      results.push([...problems, ...outside.filter((p) => !problems.includes(p))]);
    }
    return results;
  } finally {
    await browser.close();
  }
}

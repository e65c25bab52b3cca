// Figures of src/plot.ts: the training figure's legend stays clear of the gradient-norm axis (issue 11,
// item 12), checked in the layout and, where Chromium is installed, in the rendered page's boxes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { lib, needs, CHROMIUM } from '../helpers.mjs';

const L = lib();
const require = createRequire(import.meta.url);

/** A synthetic history from train(): 3 epochs × 10 steps, spikes in ‖g‖, clipped steps, validation. */
function history() {
  const steps = [], epochs = [];
  for (let i = 0; i < 30; i++) {
    const g = 0.5 + 3 * Math.exp(-i / 8) + (i % 7 === 3 ? 20 : 0);
    steps.push({ epoch: 1 + Math.floor(i / 10), step: i, loss: 2 * Math.exp(-i / 10) + 0.05, gradNorm: g, clippedNorm: Math.min(g, 1), clipped: g > 1, learningRate: 0.01 });
  }
  for (let e = 1; e <= 3; e++) epochs.push({ epoch: e, loss: 1, valLoss: 1.5 * Math.exp(-e / 2), gradNorm: 1, clipFraction: 0.5, learningRate: 0.01, samplesPerSecond: 1, tensors: 1, seconds: 1 });
  return { steps, epochs };
}

test('trainingFigure: a horizontal legend above the plot area, away from the right axis; unknown options named', () => {
  const fig = L.trainingFigure(history());
  const { legend, yaxis2, margin } = fig.layout;
  console.log(`legend ${JSON.stringify(legend)}, y2 side ${yaxis2.side}, margin ${JSON.stringify(margin)}`);
  assert.equal(legend.orientation, 'h');
  assert.ok(legend.y >= 1 && legend.yanchor === 'bottom', `legend above the plot area: y ${legend.y}, yanchor ${legend.yanchor}`);
  assert.equal(yaxis2.side, 'right');
  assert.deepEqual(fig.data.map((d) => d.name), ['loss (per step)', '‖g‖ before clipping', 'clipped', 'validation loss (per epoch)']);
  assert.throws(() => L.trainingFigure(history(), { titel: 'x' }), /^TypeError: trainingFigure: unknown options key 'titel' — did you mean 'title'\?/);
  assert.throws(() => L.trainingFigure({ steps: [] }), /trainingFigure\(result\): result must be what train\(\) returns/);
  assert.throws(() => L.heatmapFigure([[1]], { zMin: 0 }), /heatmapFigure: unknown options key 'zMin' — did you mean 'zmin'\?/);
  assert.throws(() => L.singularValuesFigure([[1]], { gama: 1 }), /singularValuesFigure: unknown options key 'gama' — did you mean 'gamma'\?/);
  assert.throws(() => L.textActivationHtml('a', [0], { ranges: [0, 1] }), /textActivationHtml: unknown options key 'ranges' — did you mean 'range'\?/);
});

test('trainingFigure rendered in Chromium: the legend box overlaps neither the plot area nor the gradient-norm axis labels', async (t) => {
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  const { chromium } = require('playwright-core');
  const html = `<!doctype html><html><head><meta charset="utf-8">${L.plotlyScript()}</head><body style="margin:0;width:800px">${L.figureHtml(L.trainingFigure(history()))}</body></html>`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 820, height: 600 } });
    await page.setContent(html);
    await page.waitForSelector('.rnnlab-plot .main-svg', { timeout: 30000 });
    const boxes = await page.evaluate(() => {
      const r = (el) => { const b = el.getBoundingClientRect(); return { x0: b.left, x1: b.right, y0: b.top, y1: b.bottom }; };
      return {
        legend: r(document.querySelector('.legend')),
        plot: r(document.querySelector('.subplot.xy .bg') ?? document.querySelector('.nsewdrag')),
        y2: [...document.querySelectorAll('.y2tick text'), document.querySelector('.y2title')].filter(Boolean).map(r),
        title: r(document.querySelector('.gtitle')),
      };
    });
    const overlap = (a, b) => Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
    const hits = { plot: overlap(boxes.legend, boxes.plot), y2: boxes.y2.reduce((s, b) => s + overlap(boxes.legend, b), 0), title: overlap(boxes.legend, boxes.title) };
    console.log(`legend ${JSON.stringify(boxes.legend)}, plot area ${JSON.stringify(boxes.plot)}, ${boxes.y2.length} right-axis labels; overlap areas (px²) ${JSON.stringify(hits)}`);
    assert.ok(boxes.y2.length >= 3, 'the right axis has labels to check against');
    assert.deepEqual(hits, { plot: 0, y2: 0, title: 0 });
  } finally {
    await browser.close();
  }
});

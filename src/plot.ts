/**
 * Figures for the lessons. Each function returns a plotly {@link Figure}; pass it to `show()`
 * (or to a live figure's `update`). Nothing here draws by itself, so figures can be combined.
 */
import { Figure } from './display';
import type { GradientFlow } from './diagnostics';
import type { TrainResult } from './train';
import { singularValues } from './linalg';
import { checkOptions } from './options';

/**
 * Gradient norm against time step on a log axis — the picture of vanishing and exploding gradients —
 * with the lecture's bound ‖∂L/∂h_T‖·(λ₁γ)^(T−t) drawn when `bound` (= λ₁γ) is given.
 *
 * @example
 * ```ts
 * const flow = gradientFlow(model, x, y);
 * show(gradientFlowFigure(flow, { bound: spectrum(recurrentLayers(model)[0]).bound }));
 * ```
 */
export function gradientFlowFigure(flow: GradientFlow, options: { bound?: number; title?: string; cell?: boolean } = {}): Figure {
  checkOptions('gradientFlowFigure', options, ['bound', 'title', 'cell']);
  const data: Record<string, unknown>[] = [];
  flow.layers.forEach((layer, l) => layer.directions.forEach((d, dir) => {
    const steps = d.dh.map((_, i) => i + 1);
    const label = `${layer.name}${layer.directions.length > 1 ? (dir === 0 ? ' →' : ' ←') : ''}`;
    data.push({ x: steps, y: d.dh, type: 'scatter', mode: 'lines+markers', name: `‖∂L/∂h_t‖ ${label}` });
    if (d.dc && options.cell !== false) data.push({ x: steps, y: d.dc, type: 'scatter', mode: 'lines+markers', name: `‖∂L/∂c_t‖ ${label}`, line: { dash: 'dot' } });
    if (options.bound !== undefined && l === 0 && dir === 0) {
      const T = d.dh.length;
      data.push({ x: steps, y: steps.map((t) => d.dh[T - 1] * options.bound! ** (T - t)), type: 'scatter', mode: 'lines', name: `bound ‖∂L/∂h_T‖·(λ₁γ)^(T−t), λ₁γ = ${options.bound.toFixed(3)}`, line: { dash: 'dash', color: 'gray' } });
    }
  }));
  if (flow.dx) data.push({ x: flow.dx.map((_, i) => i + 1), y: flow.dx, type: 'scatter', mode: 'lines', name: '‖∂L/∂x_t‖', line: { dash: 'dashdot' } });
  const v = flow.verdict;
  return {
    data,
    layout: {
      title: { text: options.title ?? `Gradient through time: ${v.verdict} (×${v.rate.toFixed(3)} per step back)` },
      xaxis: { title: { text: 'time step t' } }, yaxis: { title: { text: 'norm' }, type: 'log', exponentformat: 'power' }, height: 400,
    },
  };
}

/** Where {@link trainingFigure} puts its legend: a horizontal row above the plot area, clear of both y axes. */
const TRAINING_LEGEND = { orientation: 'h', x: 0, xanchor: 'left', y: 1.02, yanchor: 'bottom' } as const;

/**
 * Training curves from {@link train}'s result: loss and validation loss per step or epoch, the
 * gradient norm before clipping on a second axis, and the steps where clipping acted. The legend is
 * a horizontal row above the plot area (plotly's default, at the right, covers the gradient-norm
 * axis' labels); the top margin leaves room for the title and two rows of legend.
 *
 * @example
 * ```ts
 * const result = await train(model, data, { epochs: 20, clipNorm: 1 });
 * show(trainingFigure(result));
 * ```
 */
export function trainingFigure(result: Pick<TrainResult, 'steps' | 'epochs'>, options: { title?: string } = {}): Figure {
  checkOptions('trainingFigure', options, ['title']);
  if (!result || !Array.isArray(result.steps) || !Array.isArray(result.epochs)) {
    throw new TypeError('trainingFigure(result): result must be what train() returns, with steps and epochs arrays');
  }
  const s = result.steps;
  const x = s.map((r) => r.step + 1);
  const data: Record<string, unknown>[] = [
    { x, y: s.map((r) => r.loss), type: 'scatter', mode: 'lines', name: 'loss (per step)' },
    { x, y: s.map((r) => r.gradNorm), type: 'scatter', mode: 'lines', name: '‖g‖ before clipping', yaxis: 'y2', line: { width: 1 } },
  ];
  const clippedSteps = s.filter((r) => r.clipped);
  if (clippedSteps.length) data.push({ x: clippedSteps.map((r) => r.step + 1), y: clippedSteps.map((r) => r.gradNorm), type: 'scatter', mode: 'markers', name: 'clipped', yaxis: 'y2', marker: { symbol: 'x', size: 6 } });
  const val = result.epochs.filter((e) => e.valLoss !== undefined);
  if (val.length) {
    const lastStep = (epoch: number) => Math.max(...s.filter((r) => r.epoch === epoch).map((r) => r.step + 1));
    data.push({ x: val.map((e) => lastStep(e.epoch)), y: val.map((e) => e.valLoss), type: 'scatter', mode: 'lines+markers', name: 'validation loss (per epoch)' });
  }
  return {
    data,
    layout: {
      title: { text: options.title ?? 'Training', y: 0.97, yanchor: 'top' }, xaxis: { title: { text: 'optimizer step' } },
      yaxis: { title: { text: 'loss' }, type: 'log' }, yaxis2: { title: { text: 'gradient norm' }, overlaying: 'y', side: 'right', type: 'log' },
      legend: { ...TRAINING_LEGEND }, margin: { t: 110, r: 70 }, height: 440,
    },
  };
}

/**
 * A heatmap of values over time, e.g. hidden states or gate activations: rows are units, columns
 * are time steps.
 *
 * @param rows values[unit][t]
 * @example
 * ```ts
 * const { directions } = layer.forwardSequence(x, { collectGates: true });
 * const f = directions[0].gates!.f.map((t) => t.arraySync()[0]);   // [T][n] for sample 0
 * show(heatmapFigure(transpose(f), { title: 'forget gate', zmin: 0, zmax: 1 }));
 * ```
 */
export function heatmapFigure(rows: number[][], options: { title?: string; xLabels?: (string | number)[]; yLabels?: (string | number)[]; yLabel?: string; zmin?: number; zmax?: number; colorscale?: string; height?: number } = {}): Figure {
  checkOptions('heatmapFigure', options, ['title', 'xLabels', 'yLabels', 'yLabel', 'zmin', 'zmax', 'colorscale', 'height']);
  if (!Array.isArray(rows) || !rows.every(Array.isArray)) throw new TypeError('heatmapFigure(rows): rows must be an array of arrays, values[unit][t]');
  const width = rows[0]?.length ?? 0;
  return {
    data: [{ z: rows, x: options.xLabels ?? Array.from({ length: width }, (_, i) => i + 1), y: options.yLabels, type: 'heatmap', colorscale: options.colorscale ?? 'RdBu', reversescale: true, zmin: options.zmin, zmax: options.zmax }],
    // At least 280 px: plotly's default margins take 180 px, and a shorter plot is drawn blank.
    layout: { title: { text: options.title ?? '' }, xaxis: { title: { text: 'time step' } }, yaxis: { title: { text: options.yLabel ?? 'unit' } }, height: options.height ?? Math.max(280, Math.min(600, 140 + 14 * rows.length)) },
  };
}

/**
 * The singular values of a matrix (e.g. W_hh) as bars, with the line σ = 1/γ above which one step
 * can amplify the gradient.
 *
 * @example
 * ```ts
 * show(singularValuesFigure(getLectureWeights(layer).Whh as number[][]));
 * ```
 */
export function singularValuesFigure(W: number[][], options: { title?: string; gamma?: number } = {}): Figure {
  checkOptions('singularValuesFigure', options, ['title', 'gamma']);
  const s = singularValues(W);
  const gamma = options.gamma ?? 1;
  return {
    data: [
      { x: s.map((_, i) => i + 1), y: s, type: 'bar', name: 'σ_i' },
      { x: [0.5, s.length + 0.5], y: [1 / gamma, 1 / gamma], type: 'scatter', mode: 'lines', name: `1/γ = ${(1 / gamma).toFixed(2)}`, line: { dash: 'dash', color: 'gray' } },
    ],
    layout: { title: { text: options.title ?? `Singular values (λ₁ = ${s[0]?.toFixed(3)})` }, xaxis: { title: { text: 'index' } }, yaxis: { title: { text: 'σ' } }, height: 320 },
  };
}

/**
 * Text coloured by one neuron's (or gate's) activation per character — the visualisation of
 * Karpathy's "The Unreasonable Effectiveness of Recurrent Neural Networks". Values in [−1, 1] map
 * from red through white to blue (use `range` for other scales). Returns HTML for `showHtml`.
 *
 * @example
 * ```ts
 * showHtml(textActivationHtml('hello world', hs.map((h) => h[17])));   // unit 17 of h_t
 * ```
 */
export function textActivationHtml(text: string, values: ArrayLike<number>, options: { range?: [number, number]; title?: string } = {}): string {
  checkOptions('textActivationHtml', options, ['range', 'title']);
  const chars = Array.from(text);
  if (chars.length !== values.length) throw new Error(`textActivationHtml: text has ${chars.length} characters but values has ${values.length}; give one value per character`);
  const [lo, hi] = options.range ?? [-1, 1];
  const esc = (c: string) => (c === '\n' ? '↵<br>' : c === ' ' ? '&nbsp;' : c.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
  const spans = chars.map((c, i) => {
    const u = Math.max(-1, Math.min(1, (2 * (values[i] - lo)) / (hi - lo) - 1));  // → [−1, 1]
    const [r, g, b] = u >= 0 ? [255 * (1 - u), 255 * (1 - 0.6 * u), 255] : [255, 255 * (1 + 0.6 * u), 255 * (1 + u)];
    return `<span title="${values[i].toFixed(3)}" style="background:rgb(${r | 0},${g | 0},${b | 0})">${esc(c)}</span>`;
  });
  const title = options.title ? `<div style="font-weight:bold;margin-bottom:4px">${esc(options.title)}</div>` : '';
  return `<div class="rnnlab-text" style="font-family:monospace;line-height:1.6">${title}${spans.join('')}</div>`;
}

/**
 * The attention weights of one sequence as a heatmap: x = the source tokens, y = the target (output)
 * tokens from top to bottom, a colour bar from 0 to 1 — for reversal, an anti-diagonal (Bahdanau et
 * al. 2015, Fig. 3, draws translations this way).
 *
 * @param weights `[Tt][Ts]` rows of weights (one per target step), e.g. `attentionWeights(…).arraySync()[b]`
 *   or `decodeSequences(…).attention[b]`
 * @param sourceTokens labels of the Ts source steps (a row's padded steps, weight 0, may be left out: columns are cut to them)
 * @param targetTokens labels of the Tt target steps (rows are cut to them: e.g. the end token's step is not drawn when its label is not given)
 * @example
 * ```ts
 * const { sequences, attention } = decodeSequences(s2s, src, { start, end, maxLength: 12 });
 * show(attentionFigure(attention![0], ['1', '2', '3'], sequences[0].map(String)));
 * ```
 * @throws TypeError for weights that are not rows of numbers or labels that are not arrays; RangeError
 *   when there are more labels than rows or columns, or when a left-out column carries weight
 */
export function attentionFigure(weights: number[][], sourceTokens: (string | number)[], targetTokens: (string | number)[], options: { title?: string; height?: number; colorscale?: string } = {}): Figure {
  checkOptions('attentionFigure', options, ['title', 'height', 'colorscale']);
  if (!Array.isArray(weights) || !weights.every((r) => Array.isArray(r) && r.every((v) => typeof v === 'number'))) {
    throw new TypeError('attentionFigure(weights, …): weights must be rows of numbers, weights[target step][source step]');
  }
  if (!Array.isArray(sourceTokens) || !Array.isArray(targetTokens)) throw new TypeError('attentionFigure: sourceTokens and targetTokens must be arrays of labels, one per source and target step');
  const Ts = weights[0]?.length ?? 0;
  if (targetTokens.length > weights.length) throw new RangeError(`attentionFigure: ${targetTokens.length} targetTokens but weights has ${weights.length} rows (target steps)`);
  if (sourceTokens.length > Ts) throw new RangeError(`attentionFigure: ${sourceTokens.length} sourceTokens but weights has ${Ts} columns (source steps)`);
  // Only padding may be cut: a column left out must carry no weight (a padded source step's is exactly 0).
  const dropped = weights.slice(0, targetTokens.length).findIndex((r) => r.slice(sourceTokens.length).some((v) => v !== 0));
  if (dropped >= 0) {
    throw new RangeError(`attentionFigure: ${sourceTokens.length} sourceTokens leave out source steps that carry weight (row ${dropped}: ` +
      `${weights[dropped].slice(sourceTokens.length).map((v) => v.toPrecision(3)).join(', ')}); give a label for every source step up to the row's length (only padded steps, weight 0, may be left out)`);
  }
  // Labels may repeat (digits do) and plotly merges equal category labels: the axes are step numbers,
  // labelled with the tokens.
  const z = weights.slice(0, targetTokens.length).map((r) => r.slice(0, sourceTokens.length));
  const xs = sourceTokens.map((_, i) => i), ys = targetTokens.map((_, i) => i);
  return {
    data: [{ z, x: xs, y: ys, type: 'heatmap', colorscale: options.colorscale ?? 'Blues', zmin: 0, zmax: 1, colorbar: { title: { text: 'weight' } } }],
    layout: {
      title: { text: options.title ?? 'Attention weights' },
      xaxis: { title: { text: 'source token' }, tickvals: xs, ticktext: sourceTokens.map(String), side: 'top' },
      yaxis: { title: { text: 'output token' }, tickvals: ys, ticktext: targetTokens.map(String), autorange: 'reversed' },
      height: options.height ?? Math.max(300, Math.min(700, 160 + 22 * z.length)),
    },
  };
}

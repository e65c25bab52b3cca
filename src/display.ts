/**
 * Display in the notebook: plotly figures (offline, plotly.js inlined once per notebook), figures
 * that update in place while a model trains, and tables.
 *
 * Tables go out as text/html: the one output type that JupyterLab, the classic Notebook and
 * nbconvert's HTML export all render, with no extension to install. A figure goes out as one MIME
 * bundle with every form a viewer may use ({@link figureBundle}): plotly's own JSON for renderers that
 * have one (JupyterLab, VS Code), HTML that draws it with the inlined plotly.js (and shows a visible line
 * where scripts do not run), and plain text. Outside a notebook (tests, scripts) the same calls print a
 * one-line text summary instead.
 */
import * as fs from 'fs';
import { checkOptions } from './options';
import { describe } from './describe';
import { interruptWatch, kernelHub, type CellRef } from './interrupt';

/** One plotly trace: `{ x, y, type, mode, name, … }` as in plotly.js. */
export type Trace = Record<string, unknown>;

/** A plotly figure: the `data`, `layout` and `config` arguments of `Plotly.newPlot`. */
export interface Figure {
  /** The traces to draw. */
  data: Trace[];
  /** Axes, title, size… (plotly.js layout). */
  layout?: Record<string, unknown>;
  /** Plotly config; `responsive: true` and `displaylogo: false` are added unless set. */
  config?: Record<string, unknown>;
}

/** Where display output goes: the tslab kernel, a terminal, or a test's recorder. */
export interface DisplaySink {
  /** 'notebook' renders HTML; 'text' prints a one-line summary instead. */
  kind: 'notebook' | 'text';
  /** Show `html` as a new output. */
  html(html: string): void;
  /**
   * Show one output carrying several forms, keyed by MIME type (`text/html`, `text/plain`,
   * `application/vnd.plotly.v1+json`…); the viewer picks the richest it renders. Optional: a sink
   * without it gets the bundle's `text/html` through `html`.
   */
  bundle?(data: Record<string, unknown>): void;
  /**
   * A handle whose `html` (or `bundle`, optional as above) replaces the same output each time it
   * is called.
   */
  newDisplay(): DisplayHandle;
  /** Plain text (used when `kind` is 'text'). */
  text(text: string): void;
  /**
   * The cell execution the calling code belongs to (optional; the course kernel's sink has it). With
   * it, plotly.js is kept in one output that still exists rather than sent once per session; see
   * {@link loadPlotly}.
   */
  cell?(): CellRef | undefined;
  /** Whether the cell `cellId` ran again after execution `since`, or was deleted (optional). */
  cellGone?(cellId: string, since: number): boolean;
}

/** One output that can be replaced in place; see {@link DisplaySink.newDisplay}. */
export interface DisplayHandle {
  /** Replace the output with `html`. */
  html(html: string): void;
  /**
   * Replace the output with a MIME bundle and, optionally, its output metadata (optional; falls back
   * to its `text/html` through `html`).
   */
  bundle?(data: Record<string, unknown>, metadata?: Record<string, unknown>): void;
}

/**
 * The npm package whose plotly.js bundle is inlined into notebooks: plotly's official `cartesian`
 * partial bundle (1.4 MB minified, against 4.6 MB for the full `plotly.js-dist-min`). It is the
 * smallest official bundle that has every trace type the lessons draw (scatter, bar, heatmap) and
 * the usual analyst plots (histogram, box); `basic` (1.1 MB) lacks heatmap. See
 * {@link PLOTLY_TRACE_TYPES} for what it draws.
 */
export const PLOTLY_BUNDLE = 'plotly.js-cartesian-dist-min';

/**
 * The trace `type`s the inlined plotly.js bundle ({@link PLOTLY_BUNDLE}) can draw: the keys of its
 * `Plotly.PlotSchema.get().traces`. A trace without `type` is a scatter (plotly's default). {@link show},
 * {@link figureHtml} and live figures reject any other type with a TypeError, because plotly.js
 * draws an unknown type as nothing at all, without an error.
 *
 * @example
 * ```ts
 * PLOTLY_TRACE_TYPES.includes('histogram'); // true
 * PLOTLY_TRACE_TYPES.includes('surface');   // false: 3-D traces are not in the bundle
 * ```
 */
export const PLOTLY_TRACE_TYPES: readonly string[] = Object.freeze([
  'bar', 'box', 'contour', 'heatmap', 'histogram', 'histogram2d', 'histogram2dcontour', 'image', 'pie',
  'scatter', 'scatterternary', 'violin',
]);

let sink: DisplaySink | undefined;
/**
 * The output that holds plotly.js: the execution that sent it and, with a cell-aware sink, the handle
 * that can empty it. Undefined until the first figure (and after setDisplaySink).
 */
let carrier: { cell?: CellRef; handle?: DisplayHandle } | undefined;
let nextId = 0;
const stats = { figures: 0, liveFigures: 0, tables: 0 };

/** How many figures, live figures and tables this session has shown in a notebook. */
export function displayStats(): { figures: number; liveFigures: number; tables: number } {
  return { ...stats };
}

const TEXT_SINK: DisplaySink = {
  kind: 'text',
  html: () => undefined,
  newDisplay: () => ({ html: () => undefined }),
  text: (t) => console.log(t),
};

/** The sink in use: the course kernel's display channel inside it, else text on stdout. */
function currentSink(): DisplaySink {
  if (sink) return sink;
  // The course kernel (scripts/kernel/) publishes display_data for the cell that asks; outside it
  // (plain Node, tests, another kernel) figures become one-line text summaries.
  const hub = kernelHub();
  if (!hub?.display) return TEXT_SINK;
  const send = (data: Record<string, unknown>, displayId?: string, update = false, metadata: Record<string, unknown> = {}) =>
    hub.display!({ data, metadata, transient: displayId ? { display_id: displayId } : {} }, update);
  sink = {
    kind: 'notebook',
    html: (h) => send({ 'text/html': h }),
    bundle: (data) => send(data),
    newDisplay: () => {
      const id = `rnn-lab-${process.pid}-${++nextDisplayId}`;
      let shown = false;
      const put = (data: Record<string, unknown>, metadata?: Record<string, unknown>) => { send(data, id, shown, metadata); shown = true; };
      return { html: (h: string) => put({ 'text/html': h }), bundle: put };
    },
    text: (t) => send({ 'text/plain': t }),
    ...(hub.cell ? { cell: () => hub.cell!() } : {}),
    ...(hub.cellGone ? { cellGone: (id: string, since: number) => hub.cellGone!(id, since) } : {}),
  };
  return sink;
}
let nextDisplayId = 0;

/**
 * Replace where display output goes (tests record it; `undefined` restores the default).
 * Also forgets where plotly.js was sent, so the next figure sends it again.
 */
export function setDisplaySink(s: DisplaySink | undefined): void {
  sink = s;
  carrier = undefined;
}

/** Whether output goes to a notebook (HTML) rather than to a terminal (text). */
export function inNotebook(): boolean {
  return currentSink().kind === 'notebook';
}

/** Make a string safe inside an inline <script>: no "</script", no line separators old JS rejects. */
function scriptSafe(json: string): string {
  return json.replace(/<\//g, '<\\/').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * The global where a figure whose HTML runs before plotly.js is on the page leaves its drawing
 * function; {@link plotlyScript} draws them once plotly.js is defined. So a figure draws wherever the
 * output holding plotly.js is: above it, below it, or in a cell run later.
 */
const PLOT_QUEUE = 'rnnlabPlotQueue';

let plotlyCode: string | undefined;

/**
 * The plotly.js bundle as one <script>, which then draws the figures that were waiting for it. The
 * bundle is UMD: under the classic Notebook's require.js it would register as an anonymous AMD module
 * and never set window.Plotly, so it runs with `define`, `module` and `exports` shadowed, which makes
 * it take its global branch everywhere.
 */
export function plotlyScript(): string {
  if (plotlyCode === undefined) {
    let file: string;
    try {
      file = require.resolve(PLOTLY_BUNDLE);
    } catch {
      throw new Error(`plotlyScript: the plotly.js bundle '${PLOTLY_BUNDLE}' is not installed; run \`npm install\` in the rnn-lab folder`);
    }
    plotlyCode = fs.readFileSync(file, 'utf8');
  }
  return '<script type="text/javascript">(function(define, module, exports){\n' +
    scriptSafe(plotlyCode) + '\n}).call(window);\n' +
    `(function(){var q=window.${PLOT_QUEUE}||[];window.${PLOT_QUEUE}=[];` +
    'for(var i=0;i<q.length;i++){try{q[i]();}catch(e){console.error(e);}}})();</script>';
}

/** The version of the plotly.js bundle in use (from its package.json). */
function plotlyVersion(): string {
  try {
    return String((require(`${PLOTLY_BUNDLE}/package.json`) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

/**
 * Output metadata of the output that holds plotly.js (`rnn_lab.plotly_js`: the bundle's version) and of
 * one that held it before (`rnn_lab.plotly_js_moved`). The course's exporter (`npm run export`) drops
 * both and puts plotly.js in its page itself.
 */
export const PLOTLY_OUTPUT_METADATA = 'rnn_lab';

/**
 * Seen from execution `here`, whether plotly.js must be sent again (`move`), and whether the output that
 * held it (sent from `had`) may still be in the notebook, so that it must be emptied (`mayExist`).
 */
function carrierState(s: DisplaySink, had: CellRef | undefined, here: CellRef | undefined): { move: boolean; mayExist: boolean } {
  if (!had || !here) return { move: false, mayExist: true };  // no cell information: once per session
  if (had.cellId !== undefined && here.cellId !== undefined) {
    const gone = s.cellGone?.(had.cellId, had.execution) ?? false;
    return { move: gone, mayExist: !gone };
  }
  // Without cell ids plotly.js follows the newest execution that draws a figure. The same code again is
  // taken as the same cell, whose outputs were just cleared: emptying an output that is gone is at best
  // a no-op, and nbclient 0.7 (Debian's), which keeps a re-run cell's old display ids, would write it
  // over whatever output now has that index.
  if (here.execution <= had.execution) return { move: false, mayExist: true };
  return { move: true, mayExist: had.code === undefined || had.code !== here.code };
}

/**
 * Make sure the notebook holds plotly.js, in exactly one output that still exists; {@link show} and
 * live figures call it before each figure. `force` sends it again in the cell running now.
 *
 * In the course kernel plotly.js goes out as its own output (metadata `rnn_lab.plotly_js`) in the cell
 * that draws a figure, and moves when that output is gone: where the frontend sends cell ids
 * (JupyterLab, Notebook 7), when the cell that held it runs again or is deleted; elsewhere (classic
 * Notebook, VS Code, nbclient), to each newer execution that draws a figure. The output that held it
 * before is then emptied, so a saved notebook carries one copy (1.4 MB) however often its cells ran,
 * and every figure draws (a figure above the copy waits for it). It is lost only when its output is
 * cleared or deleted by hand and no figure is drawn afterwards: then run a figure cell again, or export
 * with `npm run export`, which draws from each figure's own plotly JSON.
 */
export function loadPlotly(force = false): void {
  if (typeof force !== 'boolean') throw new TypeError(`loadPlotly(force): force must be true or false; got ${describe(force)}`);
  const s = currentSink();
  if (s.kind !== 'notebook') return;
  const here = s.cell?.();
  const state = carrierState(s, carrier?.cell, here);
  if (carrier && !force && !state.move) return;
  const previous = state.mayExist ? carrier : undefined;
  if (here) {
    // Its own output, never a figure's: a live figure's updates would drop it.
    const handle = s.newDisplay();
    const meta = { [PLOTLY_OUTPUT_METADATA]: { plotly_js: plotlyVersion() } };
    if (handle.bundle) handle.bundle({ 'text/html': plotlyScript() }, meta);
    else handle.html(plotlyScript());
    carrier = { cell: here, handle };
  } else {
    s.html(plotlyScript());
    carrier = {};
  }
  // Emptied, not left: one copy per saved notebook. (A no-op where its cell ran again: that output is gone.)
  const old = previous?.handle;
  if (old?.bundle) old.bundle({ 'text/plain': '' }, { [PLOTLY_OUTPUT_METADATA]: { plotly_js_moved: true } });
  else old?.html('');
}


function checkFigure(fig: unknown, fn: string): Figure {
  if (typeof fig !== 'object' || fig === null || Array.isArray(fig)) {
    throw new TypeError(`${fn}(figure): figure must be a plotly figure { data: Trace[], layout?, config? }; got ${describe(fig)}`);
  }
  const f = fig as Partial<Figure>;
  if (!Array.isArray(f.data)) {
    throw new TypeError(`${fn}(figure): figure.data must be an array of traces like { x, y, type }; got ${describe(f.data)}`);
  }
  checkOptions(`${fn}(figure)`, fig, ['data', 'layout', 'config'], 'figure');
  f.data.forEach((t, i) => {
    if (typeof t !== 'object' || t === null || Array.isArray(t)) {
      throw new TypeError(`${fn}(figure): figure.data[${i}] must be a trace object like { x, y, type }; got ${describe(t)}`);
    }
    const type = (t as Trace).type;
    // plotly.js gives a trace of a type its bundle lacks `visible: false` and draws an empty figure.
    if (type !== undefined && (typeof type !== 'string' || !PLOTLY_TRACE_TYPES.includes(type))) {
      throw new TypeError(`${fn}(figure): figure.data[${i}].type is ${typeof type === 'string' ? `'${type}'` : describe(type)}, ` +
        `which the plotly.js bundle in use (${PLOTLY_BUNDLE}) does not draw; supported types: ${PLOTLY_TRACE_TYPES.join(', ')}`);
    }
  });
  for (const key of ['layout', 'config'] as const) {
    const v = f[key];
    if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) {
      throw new TypeError(`${fn}(figure): figure.${key} must be an object; got ${describe(v)}`);
    }
  }
  return f as Figure;
}

/** JSON with typed arrays as plain arrays (plotly accepts both; JSON.stringify does not). */
function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    ArrayBuffer.isView(x) && !(x instanceof DataView) ? Array.from(x as unknown as ArrayLike<number>) : x);
}

/** The figure with the defaults every form draws with, JSON-safe (typed arrays as arrays, NaN as null). */
function plotlyJson(fig: Figure): { data: Trace[]; layout: Record<string, unknown>; config: Record<string, unknown> } {
  return JSON.parse(toJson({
    data: fig.data,
    layout: { autosize: true, ...(fig.layout ?? {}) },
    config: { responsive: true, displaylogo: false, ...(fig.config ?? {}) },
  }));
}

function titleOf(fig: Figure): string | undefined {
  const title = fig.layout?.title as { text?: string } | string | undefined;
  const t = typeof title === 'string' ? title : title?.text;
  return t ? String(t) : undefined;
}

/**
 * The note shown in a figure's area until plotly.js draws it, as HTML. It is in the figure's HTML
 * itself, so it is seen where scripts never run (an untrusted notebook, GitHub, nbviewer without JS);
 * only elements a notebook's sanitizer keeps (`em`, `code`) carry its look, since inline styles are
 * stripped there.
 */
function placeholderHtml(fig: Figure): string {
  const t = titleOf(fig);
  return `<em>Interactive plotly figure${t ? ` “${escapeHtml(t)}”` : ''}, not drawn in this view.</em> To see it: ` +
    'trust the notebook (File → Trust Notebook) if it was saved with its outputs, or run it (Kernel → Restart &amp; Run All), ' +
    'or export it with <code>npm run export -- NAME.ipynb</code> in the rnn-lab folder.';
}

/**
 * The note once scripts ran and plotly.js still is not on the page: the output that held it was
 * cleared or deleted before the notebook was saved (trusting it will not help then).
 */
function plotlyMissingHtml(fig: Figure): string {
  const t = titleOf(fig);
  return `<em>Interactive plotly figure${t ? ` “${escapeHtml(t)}”` : ''}, not drawn: this notebook no longer holds plotly.js</em> ` +
    '(the output that carried it was cleared or deleted before saving). Run any figure cell again and save, ' +
    'or export it with <code>npm run export -- NAME.ipynb</code> in the rnn-lab folder, which draws every figure.';
}

/** How long a figure waits for plotly.js before its note says plotly.js is missing (ms). */
const PLOTLY_WAIT_MS = 3000;

/**
 * The HTML of one figure: a div and the script that draws it with plotly.js, at once if it is on the
 * page, else as soon as {@link plotlyScript} runs (later in the page, or from a cell run later). Until
 * then, and wherever scripts do not run, the div shows one line saying it is an interactive figure and
 * how to see it.
 */
export function figureHtml(figure: Figure): string {
  const fig = checkFigure(figure, 'figureHtml');
  return htmlOf(fig, plotlyJson(fig));
}

/** figureHtml of a checked figure whose plotly JSON is already made (figureBundle makes it once for both). */
function htmlOf(fig: Figure, { data, layout, config }: ReturnType<typeof plotlyJson>): string {
  const id = `rnnlab-plot-${process.pid}-${Date.now().toString(36)}-${nextId++}`;
  const height = typeof layout.height === 'number' ? layout.height : 420;
  return `<div id="${id}" class="rnnlab-plot" style="width:100%;height:${height}px">` +
    '<div class="rnnlab-plot-placeholder" style="padding:12px;color:#555;border:1px dashed #bbb">' +
    `${placeholderHtml(fig)}</div></div>\n` +
    '<script type="text/javascript">(function(){' +
    `var el=document.getElementById(${JSON.stringify(id)});if(!el)return;` +
    'function draw(){var note=el.querySelector(".rnnlab-plot-placeholder");if(note)el.removeChild(note);' +
    `window.Plotly.newPlot(el,${scriptSafe(JSON.stringify(data))},${scriptSafe(JSON.stringify(layout))},${scriptSafe(JSON.stringify(config))});}` +
    // plotly.js not on the page yet (its output is further down, or in a cell not yet run): wait for it.
    `if(window.Plotly){draw();return;}(window.${PLOT_QUEUE}=window.${PLOT_QUEUE}||[]).push(draw);` +
    `setTimeout(function(){var note=el.querySelector(".rnnlab-plot-placeholder");if(!window.Plotly&&note)note.innerHTML=${scriptSafe(JSON.stringify(plotlyMissingHtml(fig)))};},${PLOTLY_WAIT_MS});` +
    '})();</script>';
}

/** One line describing a figure, for terminals. */
export function figureSummary(figure: Figure): string {
  const fig = checkFigure(figure, 'figureSummary');
  const t = titleOf(fig);
  const n = fig.data.length;
  return `[figure${t ? ` "${t}"` : ''}: ${n} trace${n === 1 ? '' : 's'}]`;
}

function lengthOf(v: unknown): number | undefined {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)) ? (v as ArrayLike<unknown>).length : undefined;
}

/** The figure as text: {@link figureSummary}, then one line per trace with its name, type and size. */
function figureText(fig: Figure): string {
  const lines = fig.data.map((trace, i) => {
    const name = trace.name !== undefined && trace.name !== '' ? String(trace.name) : `trace ${i + 1}`;
    const type = typeof trace.type === 'string' ? trace.type : 'scatter'; // plotly's default type
    const z = trace.z;
    const rows = lengthOf(z);
    let size = '';
    if (rows !== undefined) {
      const cols = rows > 0 ? lengthOf((z as ArrayLike<unknown>)[0]) : undefined;
      size = cols !== undefined ? `, ${rows}×${cols} values` : `, ${rows} values`;
    } else {
      const n = lengthOf(trace.y) ?? lengthOf(trace.x) ?? lengthOf(trace.values);
      if (n !== undefined) size = `, ${n} point${n === 1 ? '' : 's'}`;
    }
    return `  ${name} (${type}${size})`;
  });
  return [figureSummary(fig), ...lines].join('\n');
}

/** The MIME bundle of one figure; see {@link figureBundle}. */
export interface FigureBundle {
  /** `{ data, layout, config }` for plotly's own renderers (JupyterLab, VS Code), JSON-safe. */
  'application/vnd.plotly.v1+json': { data: Trace[]; layout: Record<string, unknown>; config: Record<string, unknown> };
  /** {@link figureHtml}: draws with plotly.js on the page, else shows a line saying how to see it. */
  'text/html': string;
  /** The title and one line per trace (name, type, number of points). */
  'text/plain': string;
}

/**
 * Every form of a figure a notebook viewer may use, keyed by MIME type: what {@link show} and
 * {@link liveFigure} send as one output. The plotly JSON is the figure with the defaults the HTML
 * draws with (`layout.autosize`, `config.responsive`, `config.displaylogo: false`), typed arrays
 * as arrays and NaN/±Infinity as null (a gap, as plotly draws them). Follows the MIME type of
 * plotly.py's notebook renderers (`application/vnd.plotly.v1+json`).
 *
 * @example
 * ```ts
 * const b = figureBundle({ data: [{ y: [1, 4, 9], name: 'squares' }], layout: { title: { text: 'n²' } } });
 * b['text/plain']; // '[figure "n²": 1 trace]\n  squares (scatter, 3 points)'
 * ```
 */
export function figureBundle(figure: Figure): FigureBundle {
  const fig = checkFigure(figure, 'figureBundle');
  const json = plotlyJson(fig);
  return { 'application/vnd.plotly.v1+json': json, 'text/html': htmlOf(fig, json), 'text/plain': figureText(fig) };
}

/** Send a figure's bundle to a sink or display handle; one without `bundle` gets its HTML. */
function sendFigure(to: { html(h: string): void; bundle?(data: Record<string, unknown>): void }, fig: Figure): void {
  const b = figureBundle(fig);
  if (to.bundle) to.bundle(b as unknown as Record<string, unknown>);
  else to.html(b['text/html']);
}

/**
 * Show a plotly figure in the notebook, offline (plotly.js is inlined on first use). Outside a
 * notebook it prints a one-line summary.
 *
 * Throws a TypeError naming the trace (`figure.data[i].type is 'surface', …`) when a trace's `type`
 * is not one of {@link PLOTLY_TRACE_TYPES}, the types the inlined bundle draws, also outside a
 * notebook (the same figure would be blank in one).
 *
 * @example
 * ```ts
 * show({ data: [{ x: [1, 2, 3], y: [2, 4, 8], type: 'scatter' }], layout: { title: { text: 'growth' } } });
 * ```
 */
export function show(figure: Figure): void {
  const fig = checkFigure(figure, 'show');
  const s = currentSink();
  if (s.kind === 'text') { s.text(figureSummary(fig)); return; }
  loadPlotly();
  sendFigure(s, fig);
  stats.figures++;
}

/** Show raw HTML in the notebook (outside one, `fallback` text is printed if given). */
export function showHtml(html: string, fallback?: string): void {
  if (typeof html !== 'string') throw new TypeError(`showHtml(html): html must be a string; got ${typeof html}`);
  const s = currentSink();
  if (s.kind === 'text') { if (fallback !== undefined) s.text(fallback); return; }
  s.html(html);
}

/** A figure that redraws in place (each draw replaces the whole MIME bundle); see {@link liveFigure}. */
export interface LiveFigure {
  /** Redraw with `figure` (at most every `minIntervalMs`, so a fast loop does not flood the page). */
  update(figure: Figure): void;
  /** Draw `figure` (or the last one given) now; it stays in the output as a static figure. */
  close(figure?: Figure): void;
}

/**
 * A figure that updates in place while a model trains; `close()` leaves the final figure in the
 * output, so the saved notebook and its HTML export show the finished curve.
 *
 * Interrupt (the course kernel's ■) ends it: once Interrupt has been pressed after the figure was
 * made, `update` and `close` draw nothing more. tslab does not stop a cell's awaited work, so a loop
 * that drives the figure may go on in the background; its redraws would otherwise land in the page
 * (as update_display_data) while later cells run.
 *
 * @example
 * ```ts
 * const live = liveFigure();
 * for (let epoch = 0; epoch < 50; epoch++) {
 *   losses.push(await trainOneEpoch());
 *   live.update({ data: [{ y: losses, type: 'scatter' }], layout: { title: { text: 'loss' } } });
 * }
 * live.close();
 * ```
 */
export function liveFigure(options: { minIntervalMs?: number } = {}): LiveFigure {
  checkOptions('liveFigure', options, ['minIntervalMs']);
  const minInterval = options.minIntervalMs ?? 250;
  if (!(minInterval >= 0)) throw new RangeError(`liveFigure: options.minIntervalMs must be a number ≥ 0; got ${minInterval}`);
  return makeLiveFigure(minInterval, true);
}

/**
 * The live figure of a library call that closes it itself before it returns, also when it stops
 * because of an interrupt (train): its final `close` must still draw.
 */
export function ownedLiveFigure(): LiveFigure {
  return makeLiveFigure(250, false);
}

function makeLiveFigure(minInterval: number, endsAtInterrupt: boolean): LiveFigure {
  const s = currentSink();
  const interrupted = endsAtInterrupt ? interruptWatch() : () => false;
  let handle: DisplayHandle | undefined;
  let last: Figure | undefined;
  let lastDraw = -Infinity;
  let closed = false;
  /** The pending redraw of an update that came too soon after the last draw. */
  let trailing: ReturnType<typeof setTimeout> | undefined;
  const draw = (fig: Figure) => {
    if (trailing !== undefined) { clearTimeout(trailing); trailing = undefined; }
    if (s.kind === 'text') return;
    loadPlotly();
    if (!handle) { handle = s.newDisplay(); stats.liveFigures++; }
    sendFigure(handle, fig);
    lastDraw = Date.now();
  };
  return {
    update(figure: Figure) {
      if (interrupted()) return;
      if (closed) throw new Error('liveFigure.update: this live figure was closed; make a new one with liveFigure()');
      last = checkFigure(figure, 'liveFigure.update');
      const wait = minInterval - (Date.now() - lastDraw);
      if (wait <= 0) { draw(last); return; }
      // Too soon: draw the latest figure when the interval is over, so the output shows the last
      // update even if no other update or close() follows (a loop that threw, a cell that ended early).
      if (trailing === undefined && s.kind !== 'text') {
        trailing = setTimeout(() => {
          trailing = undefined;
          if (!closed && !interrupted() && last) draw(last);
        }, wait);
        (trailing as { unref?: () => void }).unref?.();
      }
    },
    close(figure?: Figure) {
      if (trailing !== undefined) { clearTimeout(trailing); trailing = undefined; }
      if (interrupted()) { closed = true; return; }
      if (figure !== undefined) last = checkFigure(figure, 'liveFigure.close');
      closed = true;
      if (!last) return;
      if (s.kind === 'text') s.text(figureSummary(last));
      else draw(last);
    },
  };
}

function escapeHtml(v: unknown): string {
  const s = typeof v === 'number' ? formatNumber(v) : String(v);
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(4) : String(Number(x.toPrecision(6)));
}

/** A danfo DataFrame as far as {@link table} needs it. */
interface FrameLike { columns: string[]; values: unknown[][]; index: (string | number)[] }

function isFrame(v: unknown): v is FrameLike {
  const f = v as FrameLike;
  return typeof v === 'object' && v !== null && Array.isArray(f.columns) && Array.isArray(f.values) && Array.isArray(f.index);
}

/** Options of {@link table}. */
export interface TableOptions {
  /** Column names, for rows given as arrays. */
  columns?: string[];
  /** A caption above the table. */
  caption?: string;
  /** Rows shown at most (the rest are counted in a last line). Default 50. */
  maxRows?: number;
}
const TABLE_KEYS = ['columns', 'caption', 'maxRows'] as const;

/** Rows and columns from a DataFrame, an array of objects or an array of arrays. */
function tableData(data: unknown, options: TableOptions): { columns: string[]; rows: unknown[][]; index?: unknown[] } {
  if (isFrame(data)) return { columns: data.columns.map(String), rows: data.values.map((r) => (Array.isArray(r) ? r : [r])), index: data.index };
  if (!Array.isArray(data)) {
    throw new TypeError(`table(data): data must be a danfo DataFrame, an array of row objects or an array of row arrays; got ${describe(data)}`);
  }
  if (data.every((r) => Array.isArray(r))) {
    const width = Math.max(0, ...data.map((r) => (r as unknown[]).length));
    const columns = options.columns ?? Array.from({ length: width }, (_, i) => String(i));
    if (columns.length !== width) {
      throw new RangeError(`table(data, { columns }): columns has ${columns.length} names but the rows have ${width} values`);
    }
    return { columns, rows: data as unknown[][] };
  }
  data.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      throw new TypeError(`table(data): data[${i}] must be a row object (like data[0]); got ${describe(r)}`);
    }
  });
  const columns = options.columns ?? [...new Set(data.flatMap((r) => Object.keys(r as object)))];
  return { columns, rows: data.map((r) => columns.map((c) => (r as Record<string, unknown>)[c] ?? '')) };
}

/** The HTML of a table (see {@link table}). */
export function tableHtml(data: unknown, options: TableOptions = {}): string {
  checkOptions('tableHtml', options, TABLE_KEYS);
  const { columns, rows, index } = tableData(data, options);
  const max = options.maxRows ?? 50;
  const head = (index ? '<th></th>' : '') + columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.slice(0, max).map((r, i) =>
    '<tr>' + (index ? `<th>${escapeHtml(index[i])}</th>` : '') + r.map((v) => `<td>${escapeHtml(v)}</td>`).join('') + '</tr>').join('\n');
  const more = rows.length > max ? `<tr><td colspan="${columns.length + (index ? 1 : 0)}">… ${rows.length - max} more rows</td></tr>` : '';
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : '';
  return `<table class="rnnlab-table dataframe">${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}${more}\n</tbody></table>`;
}

/**
 * Show a table: a danfo DataFrame, an array of row objects, or an array of row arrays.
 * Outside a notebook it prints the table as text.
 *
 * @example
 * ```ts
 * table([{ cell: 'LSTM', params: 4 * (n * m + n * n + n) }, { cell: 'GRU', params: 3 * (n * m + n * n + n) }]);
 * table(new dfd.DataFrame({ t: [0, 1], x: [0.1, 0.4] }), { caption: 'first rows' });
 * ```
 */
export function table(data: unknown, options: TableOptions = {}): void {
  checkOptions('table', options, TABLE_KEYS);
  const s = currentSink();
  if (s.kind === 'notebook') { s.html(tableHtml(data, options)); stats.tables++; return; }
  const { columns, rows } = tableData(data, options);
  const max = options.maxRows ?? 50;
  const lines = [columns.join('\t'), ...rows.slice(0, max).map((r) => r.map((v) => (typeof v === 'number' ? formatNumber(v) : String(v))).join('\t'))];
  if (rows.length > max) lines.push(`… ${rows.length - max} more rows`);
  s.text((options.caption ? options.caption + '\n' : '') + lines.join('\n'));
}

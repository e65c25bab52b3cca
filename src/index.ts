/**
 * rnn-lab: recurrent neural networks in the lecture's notation, on tf.js.
 *
 * Notebooks import everything from here: `import { initBackend, show, table } from 'rnn-lab'`.
 */
export { initBackend, backendInfo } from './backend';
export type { BackendName, BackendInfo, InitBackendOptions } from './backend';
export { show, liveFigure, table, loadPlotly, figureHtml, figureSummary, tableHtml, plotlyScript, setDisplaySink, inNotebook, displayStats } from './display';
export type { Figure, Trace, LiveFigure, TableOptions, DisplaySink } from './display';
export { expectClaim, ClaimError } from './claims';

/**
 * From a table of events to sequences: a long-format table — one row per event (step), a column that
 * names the sequence (session, user, patient, sensor), optionally a column that orders the steps, the
 * feature columns and a label — regrouped into one sequence per id, ready for `padSequences` or
 * `train`'s ragged input. This is the "long format" of tsfresh (`column_id`, `column_sort`) and of
 * pandas' `df.groupby(id)`; without it a user either hand-writes the grouping or windows across
 * sequence boundaries.
 */
import { describe } from './describe';
import { checkOptions, nearestKey } from './options';
import { isFrame } from './data';

/**
 * What {@link sequencesFromTable} does with a missing feature or target value (null, undefined, NaN or
 * an empty string): `'error'` (the default) names its column, id and row; `'drop-rows'` drops the rows
 * that have one (a sequence left with no row is dropped too); `'drop-sequences'` drops every sequence
 * that has one. What was dropped is counted in the result.
 */
export type TableMissing = 'error' | 'drop-rows' | 'drop-sequences';

/** Options of {@link sequencesFromTable}. */
export interface SequencesFromTableOptions {
  /** The column naming each row's sequence (string or number ids). Rows of one id need not be adjacent. */
  id: string;
  /** A column ordering the steps within a sequence (numbers, Dates or ISO date strings); rows are sorted by it, ties keeping table order. Default: table order. */
  order?: string;
  /** The feature columns, in the order of x's last axis. */
  features: string[];
  /** The target column (finite numbers, e.g. class ids 0/1). Default: none (no `y`). */
  target?: string;
  /** 'sequence' (default): one target per sequence, which must then be the same on all its rows; 'step': one target per step. */
  targetPer?: 'sequence' | 'step';
  /** What to do with a missing feature or target value; see {@link TableMissing}. Default 'error'. */
  missing?: TableMissing;
}

/** What {@link sequencesFromTable} returns. */
export interface TableSequences {
  /** One sequence per id, `[sequence][step][feature]` (ragged: each its own length). */
  x: number[][][];
  /** With `target`: one value per sequence (`targetPer: 'sequence'`), or per step (`[sequence][step]`, 'step'). */
  y?: number[] | number[][];
  /** The id of each sequence, in the order ids first appear in the table. */
  ids: (string | number)[];
  /** Steps per sequence (each ≥ 1). */
  lengths: number[];
  /** The feature columns, in x's order; the target column. */
  features: string[];
  target?: string;
  /** What `missing` dropped: rows, whole sequences, and the ids of the dropped sequences (all 0/empty under 'error'). */
  dropped: { rows: number; sequences: number; ids: (string | number)[] };
}

const KEYS = ['id', 'order', 'features', 'target', 'targetPer', 'missing'] as const;
const WHERE = 'sequencesFromTable';

/** A cell that counts as missing: what danfo and JSON give for an empty CSV cell, and NaN. */
const isMissing = (v: unknown): boolean => v === null || v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v));

/** The table's columns by name: a danfo DataFrame, or an array of row objects (what `dfd.toJSON(df)` gives). */
function columnsOf(table: unknown): { n: number; names: string[]; get(name: string): ArrayLike<unknown> } {
  if (isFrame(table)) {
    const names = table.columns.map(String);
    const n = names.length ? table.column(names[0]).values.length : 0;
    return { n, names, get: (c) => table.column(c).values };
  }
  if (Array.isArray(table) && table.length > 0 && table.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) {
    const names = [...new Set(table.flatMap((r) => Object.keys(r as object)))];
    return { n: table.length, names, get: (c) => table.map((r) => (r as Record<string, unknown>)[c]) };
  }
  const hint = Array.isArray(table) && table.length === 0 ? ' (an empty array)' : Array.isArray(table) ? ' (rows must be objects keyed by column name, as dfd.toJSON(df) gives)' : '';
  throw new TypeError(`${WHERE}: table must be a danfo DataFrame or a non-empty array of row objects, one row per step; got ${describe(table)}${hint}`);
}

function columnName(option: string, c: unknown, names: string[]): string {
  if (typeof c !== 'string') throw new TypeError(`${WHERE}: options.${option} must be a column name (a string); got ${describe(c)}`);
  if (!names.includes(c)) {
    const near = nearestKey(c, names);
    throw new Error(`${WHERE}: options.${option} names column '${c}', which the table does not have${near ? ` — did you mean '${near}'?` : ''} Columns: ${names.join(', ')}`);
  }
  return c;
}

/** A step's position for sorting: a finite number, a Date, or an ISO date string (not any string: '12' is no date). */
function orderKey(v: unknown, at: string, column: string): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v instanceof Date && Number.isFinite(v.getTime())) return v.getTime();
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) && Number.isFinite(Date.parse(v))) return Date.parse(v);
  const what = isMissing(v) ? `${v === '' ? 'an empty string' : describe(v)}, a missing value; a step without a position cannot be ordered (fill or drop it first)` : `${describe(v)}; expected a finite number, a Date or an ISO date string`;
  throw new TypeError(`${WHERE}: order column '${column}' at ${at} is ${what}`);
}

/**
 * Group a long-format table (one row per step) into sequences, one per id: rows are grouped by the
 * `id` column (sequences in the order their ids first appear; an id's rows need not be adjacent),
 * sorted within a sequence by the `order` column when given (a stable sort: ties keep table order),
 * and read into `x` `[sequence][step][feature]` with the `lengths` and `ids` — ragged, for
 * `padSequences(x)` (then `{ x, lengths }` go to layers, `train` and `forwardModel`) or for `train`'s
 * ragged input directly. The semantics are pandas' `df.sort_values(order, kind='stable').groupby(id,
 * sort=False)` and tsfresh's long format (`column_id`, `column_sort`).
 *
 * Targets: `target` gives one value per sequence (a label such as "converted"), which must be the
 * same on every row of the sequence — two different values are an error naming the id and both values
 * with their rows — or, with `targetPer: 'step'`, one per step (`y[sequence][step]`).
 *
 * Nothing is coerced: a missing value (null, undefined, NaN, '') in a feature or the target is an
 * error naming the column, the id and the row, unless `missing` says to drop rows or sequences (the
 * result counts what was dropped; a dropped row shortens its sequence — the step is removed, not
 * filled, so a model sees the steps on either side as adjacent). Strings, booleans and ±Infinity in
 * a feature or target are always errors (strings are never parsed). A missing id or order value is
 * always an error. Rows are numbered from 0 in table order (a CSV with a header has row r on line r + 2).
 *
 * @param table  a danfo DataFrame, or an array of row objects (`dfd.toJSON(df)`)
 * @returns `{ x, y?, ids, lengths, features, target?, dropped: { rows, sequences, ids } }`
 * @throws TypeError/Error naming `sequencesFromTable`, the option or column, the id and the row: an
 *   unknown option or column, a missing value (under 'error'), a non-number value, a target that
 *   changes within a sequence, a table with no sequence left
 * @example
 * ```ts
 * const df = await dfd.readCSV('sessions.csv');   // session_id, step, dwell, clicks, converted
 * const s = sequencesFromTable(df, { id: 'session_id', order: 'step', features: ['dwell', 'clicks'],
 *   target: 'converted', missing: 'drop-sequences' });
 * s.dropped;                                       // { rows: 0, sequences: 12, ids: ['s051', …] }
 * const { x, lengths } = padSequences(s.x);        // x [sessions, longest, 2]
 * await train(model, { x, y: tf.tensor2d(s.y as number[], [s.ids.length, 1]), lengths }, { epochs: 20 });
 * ```
 */
export function sequencesFromTable(table: unknown, options: SequencesFromTableOptions): TableSequences {
  if (options === undefined) throw new TypeError(`${WHERE}: options are required: { id, features, order?, target?, targetPer?, missing? }`);
  checkOptions(WHERE, options, KEYS);
  const o = options;
  const cols = columnsOf(table);
  const id = columnName('id', o.id, cols.names);
  if (!Array.isArray(o.features) || o.features.length === 0) throw new TypeError(`${WHERE}: options.features must be a non-empty array of column names; got ${describe(o.features)}`);
  const features = o.features.map((c, k) => columnName(`features[${k}]`, c, cols.names));
  const dup = features.find((c, i) => features.indexOf(c) !== i);
  if (dup !== undefined) throw new Error(`${WHERE}: column '${dup}' is listed twice in options.features`);
  if (features.includes(id)) throw new Error(`${WHERE}: the id column '${id}' is also in options.features; an id names a sequence, it is not a measurement`);
  const order = o.order === undefined ? undefined : columnName('order', o.order, cols.names);
  const target = o.target === undefined ? undefined : columnName('target', o.target, cols.names);
  const per = o.targetPer ?? 'sequence';
  if (per !== 'sequence' && per !== 'step') throw new TypeError(`${WHERE}: options.targetPer must be 'sequence' or 'step'; got ${describe(per)}`);
  if (o.targetPer !== undefined && target === undefined) throw new TypeError(`${WHERE}: options.targetPer is given without options.target; it says how to read the target column`);
  const missing = o.missing ?? 'error';
  if (missing !== 'error' && missing !== 'drop-rows' && missing !== 'drop-sequences') {
    throw new TypeError(`${WHERE}: options.missing must be 'error', 'drop-rows' or 'drop-sequences'; got ${describe(missing)}`);
  }

  // Group: ids in order of first appearance, each id's rows in table order.
  const idValues = cols.get(id);
  const groups = new Map<string | number, number[]>();
  for (let r = 0; r < cols.n; r++) {
    const v = idValues[r];
    if (!(typeof v === 'string' && v !== '') && !(typeof v === 'number' && Number.isFinite(v))) {
      const what = isMissing(v) ? `${v === '' ? 'an empty string' : describe(v)} (missing): a row without an id belongs to no sequence; drop it first` : `${describe(v)}; expected a string or a number`;
      throw new TypeError(`${WHERE}: id column '${id}' at row ${r} is ${what}`);
    }
    let g = groups.get(v);
    if (!g) groups.set(v, (g = []));
    g.push(r);
  }
  if (order !== undefined) {
    const ov = cols.get(order);
    const keys = new Float64Array(cols.n);
    for (const [key, rows] of groups) for (const r of rows) keys[r] = orderKey(ov[r], `row ${r} (id ${describe(key)})`, order);
    for (const rows of groups.values()) rows.sort((a, b) => keys[a] - keys[b]);   // stable (ES2019): ties keep table order
  }

  // Read every value; a missing one is marked per row (and is an error under 'error').
  const readCols = target === undefined ? features : [...features, target];
  const values = readCols.map((c) => cols.get(c));
  const idOf = new Array<string | number>(cols.n);
  for (const [key, rows] of groups) for (const r of rows) idOf[r] = key;
  const rowMissing = new Uint8Array(cols.n);
  for (let r = 0; r < cols.n; r++) {
    for (let k = 0; k < readCols.length; k++) {
      const v = values[k][r];
      if (typeof v === 'number' && Number.isFinite(v)) continue;
      const at = `column '${readCols[k]}', id ${describe(idOf[r])}, row ${r}`;
      if (isMissing(v)) {
        if (missing === 'error') {
          throw new Error(`${WHERE}: ${at} is ${v === '' ? 'an empty string' : describe(v)}, a missing value (danfo reads an empty CSV cell as null); missing values are not filled in: pass missing: 'drop-rows' or 'drop-sequences', or fill them yourself first (df.fillNa)`);
        }
        rowMissing[r] = 1;
        continue;
      }
      const what = typeof v === 'string' ? `the string ${describe(v)}; strings are not parsed as numbers — convert the column yourself (class names to ids, say) or fix the file`
        : typeof v === 'number' ? `${v}; an infinite value is not a missing value — clean it first`
          : `${describe(v)} (a ${typeof v}); expected a finite number`;
      throw new TypeError(`${WHERE}: ${at} is ${what}`);
    }
  }

  const out: TableSequences = { x: [], ids: [], lengths: [], features, dropped: { rows: 0, sequences: 0, ids: [] } };
  if (target !== undefined) out.target = target;
  const ys: (number | number[])[] = [];
  const F = features.length;
  for (const [key, rows] of groups) {
    let kept = rows;
    if (missing === 'drop-sequences' && rows.some((r) => rowMissing[r])) kept = [];
    else if (missing === 'drop-rows') {
      kept = rows.filter((r) => !rowMissing[r]);
      out.dropped.rows += rows.length - kept.length;
    }
    if (kept.length === 0) { out.dropped.sequences++; out.dropped.ids.push(key); continue; }
    out.x.push(kept.map((r) => { const step = new Array<number>(F); for (let f = 0; f < F; f++) step[f] = values[f][r] as number; return step; }));
    out.ids.push(key);
    out.lengths.push(kept.length);
    if (target === undefined) continue;
    const tv = values[F];
    if (per === 'step') { ys.push(kept.map((r) => tv[r] as number)); continue; }
    const first = kept[0];
    const other = kept.find((r) => tv[r] !== tv[first]);
    if (other !== undefined) {
      throw new Error(`${WHERE}: target column '${target}' changes within the sequence of id ${describe(key)}: ${tv[first]} at row ${first}, ${tv[other]} at row ${other}; ` +
        `a per-sequence target must be the same on all its rows (pass targetPer: 'step' for one target per step)`);
    }
    ys.push(tv[first] as number);
  }
  if (out.x.length === 0) throw new Error(`${WHERE}: no sequence is left: all ${groups.size} were dropped for missing values (missing: '${missing}')`);
  if (target !== undefined) out.y = ys as number[] | number[][];
  return out;
}

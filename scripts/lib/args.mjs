// Command lines of the scripts, read by node:util parseArgs. Each script keeps its own messages (the tests
// check them), so this does not throw: it returns one item per command-line word, in order, and the
// script raises its error at the first item it rejects, as a hand-written loop would.
import { parseArgs } from 'node:util';

/**
 * Split `argv` with node:util parseArgs (non-strict: nothing is rejected here).
 * @param {string[]} argv the words after the script's name
 * @param {Record<string, { type: 'string' | 'boolean', short?: string }>} options as for parseArgs; names without `--`
 * @returns {Array<{ kind: 'option', name: string, raw: string, value: string | undefined, inline: boolean }
 *   | { kind: 'positional', raw: string, value: string }
 *   | { kind: 'unknown', raw: string }>}
 *   one item per word (a string option's separate value is part of its item): `raw` is the word as given.
 *   `unknown`: a flag not in `options` (or a group of short flags with one such), a boolean given a value
 *   (`--pdf=yes`), and `--` (the scripts take no end-of-options marker; what follows is not read).
 *   A string option's `value` is undefined when the command line ends after it; parseArgs gives it the next
 *   word even when that starts with `-` (`--out --pdf`), so the script decides whether that is a value;
 *   `inline` says the value came after `=` in the same word.
 */
export function scanArgs(argv, options) {
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const items = [];
  const at = new Map();  // argv index → item: the flags of a short group (-abc) share one word
  for (const t of tokens) {
    if (t.kind === 'option-terminator') { items.push({ kind: 'unknown', raw: argv[t.index] }); break; }
    const raw = argv[t.index];
    if (t.kind === 'positional') { items.push({ kind: 'positional', raw, value: t.value }); continue; }
    const spec = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    const bad = !spec || (spec.type === 'boolean' && t.inlineValue);
    const seen = at.get(t.index);
    if (seen) { if (bad) seen.kind = 'unknown'; continue; }
    const item = bad ? { kind: 'unknown', raw } : { kind: 'option', name: t.name, raw, value: spec.type === 'string' ? t.value : undefined, inline: Boolean(t.inlineValue) };
    at.set(t.index, item);
    items.push(item);
  }
  // A short group with an unknown flag is one unknown word: drop the fields an option item had.
  return items.map((i) => (i.kind === 'unknown' ? { kind: 'unknown', raw: i.raw } : i));
}

/**
 * Whether the command line asks for help (`--help` or `-h` anywhere before a `--`): every course script
 * then prints its usage on stdout and exits 0, whatever else was given.
 */
export function wantsHelp(argv) {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * Option objects are checked, not trusted: a key the function does not know is an error that names
 * the nearest valid key (`hiddenSise` → "did you mean 'hiddenSize'?"), so a typo or an option that a
 * function does not support is never silently ignored. Every public function that takes an options
 * object (or a spec) calls {@link checkOptions} first.
 */
import { describe } from './describe';

/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase(); b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The valid key closest to `key`, if one is close enough to be a likely typo (≤ 1/3 of its length, at
 * least 2); else the longest valid key (4 characters or more) that `key` contains as whole camelCase
 * words, a name with a word added: `dropoutRate` → 'dropout', `recurrentDropoutRate` →
 * 'recurrentDropout', `randomSeed` → 'seed'.
 */
export function nearestKey(key: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const d = editDistance(key, v);
    if (d < bestD) { bestD = d; best = v; }
  }
  if (bestD <= Math.max(2, Math.floor(key.length / 3))) return best;
  return valid.filter((v) => v.length >= 4 && containsWords(key, v)).sort((a, b) => b.length - a.length)[0];
}

/** Whether `key` holds `v` (case-insensitive) starting and ending at camelCase/underscore word boundaries. */
function containsWords(key: string, v: string): boolean {
  const k = key.toLowerCase(), w = v.toLowerCase();
  for (let i = k.indexOf(w); i >= 0; i = k.indexOf(w, i + 1)) {
    const j = i + w.length;
    const startOk = i === 0 || key[i - 1] === '_' || /[A-Z]/.test(key[i]);
    const endOk = j === key.length || key[j] === '_' || /[A-Z0-9]/.test(key[j]);
    if (startOk && endOk) return true;
  }
  return false;
}

/**
 * tf.js's base-layer arguments that only a deserialized config carries (fromConfig adds customObjects;
 * weights and inputDType are tf.js internals): layers accept them so getConfig → fromConfig round-trips,
 * but error messages do not offer them to users.
 */
export const TFJS_CONFIG_KEYS: readonly string[] = ['weights', 'inputDType', 'customObjects'];

/**
 * Throw a TypeError when `options` is not a plain object (undefined is allowed: all defaults) or has
 * a key outside `valid`.
 *
 * @param where  the function, for the message: `'buildLSTM'`
 * @param options  what the caller passed
 * @param valid  every key the function reads
 * @param argName  the argument's name in messages. Default 'options'.
 * @example
 * ```ts
 * checkOptions('train', options, ['epochs', 'batchSize']);
 * // train: unknown options key 'batchSise' — did you mean 'batchSize'? Valid keys: epochs, batchSize
 * ```
 */
export function checkOptions(where: string, options: unknown, valid: readonly string[], argName = 'options', unlisted: readonly string[] = []): void {
  if (options === undefined) return;
  // `unlisted` keys are accepted but neither listed nor suggested (see TFJS_CONFIG_KEYS).
  const listed = valid.filter((k) => !unlisted.includes(k));
  // A class instance (a tensor, a model, a Map) is not an options object: its own keys are its internals.
  const proto = options !== null && typeof options === 'object' ? Object.getPrototypeOf(options) : undefined;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || (proto !== Object.prototype && proto !== null)) {
    throw new TypeError(`${where}: ${argName} must be an object with keys ${listed.join(', ')}; got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (valid.includes(key) || unlisted.includes(key)) continue;
    const known = KNOWN_ELSEWHERE[key];
    if (known && !Array.isArray(known)) {
      throw new TypeError(`${where}: ${argName} key '${key}' is not supported: ${(known as { why: string }).why}. Valid keys: ${listed.join(', ')}`);
    }
    const near = (known as readonly string[] | undefined)?.find((k) => listed.includes(k)) ?? nearestKey(key, listed);
    throw new TypeError(`${where}: unknown ${argName} key '${key}'${near ? ` — did you mean '${near}'?` : '.'} Valid keys: ${listed.join(', ')}`);
  }
}

/**
 * Keys users bring from Keras, PyTorch or other libraries, too far from ours for the typo match: the
 * name meant (suggested where the function takes it), or why the feature is not there.
 */
const KNOWN_ELSEWHERE: Readonly<Record<string, readonly string[] | { why: string }>> = {
  lr: ['learningRate'], learning_rate: ['learningRate'], batch_size: ['batchSize'], hidden_size: ['hiddenSize', 'units'],
  input_size: ['inputSize'], num_layers: ['numLayers'], units: ['hiddenSize'], hidden: ['hiddenSize', 'units'],
  hiddenSize: ['units'], hiddenUnits: ['hiddenSize', 'units'], numUnits: ['hiddenSize', 'units'], return_sequences: ['returnSequences'], return_state: ['returnState'], go_backwards: ['goBackwards'],
  recurrent_activation: ['recurrentActivation'], reset_after: ['resetAfter'], unit_forget_bias: ['unitForgetBias'],
  dropout: { why: 'dropout is an option of the recurrent layers and of the builders\' spec (dropout, recurrentDropout), not of this function' },
  recurrentDropout: { why: 'recurrentDropout is an option of the recurrent layers and of the builders\' spec, not of this function' },
  recurrent_dropout: ['recurrentDropout'], rate: ['dropout'],
  zoneout: { why: 'rnn-lab layers have no zoneout (Krueger et al. 2016); recurrentDropout is the recurrent regularizer they have' },
  maxlen: ['maxLength'], max_length: ['maxLength'], maxLen: ['maxLength'], pad_value: ['value'],
  stateful: { why: 'rnn-lab layers are not stateful; pass the previous final state as the initial state instead' },
};

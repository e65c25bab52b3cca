/**
 * Checks kept beside a homework notebook: `homework/<id>.checks.cjs` next to `homework/<id>.ipynb`,
 * exporting exercises made by `defineExercise`. Three readers find them by that name:
 * - the release (scripts/homework/homework-release.mjs) reads the file beside each source notebook for
 *   the manifest's points and copies it into homework/release/ beside the student version;
 * - `homeworkChecks()` in a notebook loads the files in the kernel's folder (Jupyter starts a kernel in
 *   the notebook's folder);
 * - the grader copies the homework's file into the submission's folder, where its `gradeExercise`
 *   cells find it the same way.
 * A CommonJS file (.cjs) because the library, the kernel's cells and the grader load it synchronously
 * with `require`, whatever the surrounding package.json says about modules.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createRequire } from 'module';
import * as vm from 'vm';
import { describe } from '../describe';
import { ExerciseDef, errorText, exerciseDefOf } from './exercise';

/** The file name ending of a checks file: `<homework id>.checks.cjs`. */
export const CHECKS_SUFFIX = '.checks.cjs';

/** An exercise found in a checks file: its definition (homework set to the file's id) and the file. */
export interface FoundExercise {
  def: ExerciseDef;
  file: string;
}

/**
 * The exercises of one checks file, by name. The file is read afresh each time (a teacher who edits it
 * and re-runs the cell gets the edit). Throws an Error naming the file when it cannot be loaded, exports
 * no exercises, exports something that is not a `defineExercise` result, names an exercise twice, or
 * says another homework than its file name.
 */
export function loadChecksFile(file: string): Map<string, FoundExercise> {
  const abs = path.resolve(file);
  if (!abs.endsWith(CHECKS_SUFFIX)) throw new TypeError(`loadChecksFile: a checks file is named <homework id>${CHECKS_SUFFIX}; got ${describe(file)}`);
  const homework = path.basename(abs).slice(0, -CHECKS_SUFFIX.length);
  let exported: unknown;
  try {
    exported = evaluateChecksFile(abs);
  } catch (e) {
    throw new Error(`${file} could not be loaded: ${errorText(e)}`);
  }
  const list = Array.isArray(exported) ? exported
    : exported != null && typeof exported === 'object' ? Object.values(exported) : [];
  if (list.length === 0) throw new TypeError(`${file}: module.exports must be a list of exercises, module.exports = [defineExercise({ … })]; got ${describe(exported)}`);
  const found = new Map<string, FoundExercise>();
  list.forEach((item, k) => {
    const def = exerciseDefOf(item) as (ExerciseDef & { name: string }) | undefined;
    if (!def) throw new TypeError(`${file}: export ${k} is not an exercise made by defineExercise; got ${describe(item)}`);
    if (def.homework && def.homework !== homework) throw new Error(`${file}: exercise '${def.name}' says homework '${def.homework}', but its file belongs to '${homework}' (${homework}.ipynb)`);
    if (found.has(def.name)) throw new Error(`${file}: two exercises are named '${def.name}'`);
    found.set(def.name, { def: { ...def, homework }, file: abs });
  });
  return found;
}

/**
 * Run a checks file as CommonJS, afresh (a teacher who edits it and re-runs the cell gets the edit).
 * Its `require` resolves from the file's folder first, then from this library's own install, so a
 * homework folder outside the course checkout (a teacher's /tmp/hw, a grader's submission folder)
 * still finds 'rnn-lab' and '@tensorflow/tfjs' — as the kernel does through NODE_PATH.
 */
function evaluateChecksFile(abs: string): unknown {
  const own = createRequire(abs);
  const fallback = (id: string) => {
    try {
      return own(id);
    } catch (e) {
      if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND' || id.startsWith('.') || path.isAbsolute(id)) throw e;
      return require(id);
    }
  };
  const req = Object.assign(fallback, { resolve: own.resolve, cache: own.cache, main: own.main, extensions: own.extensions }) as NodeRequire;
  const mod = { exports: {} as unknown };
  const run = vm.compileFunction(fs.readFileSync(abs, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: abs });
  run(mod.exports, req, mod, abs, path.dirname(abs));
  return mod.exports;
}

/** The checks files in `dir`, sorted. */
export function checksFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith(CHECKS_SUFFIX)).sort().map((f) => path.join(dir, f));
}

/**
 * Every exercise of the checks files in `dir`, by name. A name defined by two files, or by the library
 * (`reserved`), is an error naming both.
 */
export function discoverExercises(dir: string, reserved: readonly string[] = []): Map<string, FoundExercise> {
  const all = new Map<string, FoundExercise>();
  for (const file of checksFiles(dir)) {
    for (const [name, ex] of loadChecksFile(file)) {
      if (reserved.includes(name)) throw new Error(`${file}: '${name}' is already an exercise of the library; choose another name`);
      const other = all.get(name);
      if (other) throw new Error(`exercise '${name}' is defined twice: in ${other.file} and in ${file}`);
      all.set(name, ex);
    }
  }
  return all;
}

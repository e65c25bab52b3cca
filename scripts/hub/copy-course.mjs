// `scripts/hub/setup.sh user` (as the student): copy the course's lessons and the homework's student
// versions into RNN_LAB_USER_DIR (default ~/rnn-lab), as plain files a student owns:
//   notebooks/*.ipynb                              -> <dir>/notebooks/
//   homework/release/*.ipynb, *.checks.cjs         -> <dir>/homework/
// The environment stays in the image (kernel, library); these are only the files a student edits, so
// nbgitpuller or a plain copy can hand out the same files. Safe to run at every start:
//   - a file that is not there is copied;
//   - a file still as this script wrote it (its SHA-256 is in <dir>/.rnn-lab-copied.json) is updated
//     when the course's version changed;
//   - any other file there (the student's edits, or anything this script did not write) is kept as it
//     is and listed; nothing is ever removed.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const COURSE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RECORD = '.rnn-lab-copied.json';

/** What the user part copies: [source folder in the course, destination folder under the user's dir, file filter]. */
export const SOURCES = [
  ['notebooks', 'notebooks', (f) => f.endsWith('.ipynb')],
  [path.join('homework', 'release'), 'homework', (f) => f.endsWith('.ipynb') || f.endsWith('.checks.cjs')],
];

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, { flag: 'wx' });
  fs.renameSync(tmp, file);
}

/**
 * Copy the course files into `dir`.
 * @param {string} dir the student's course folder
 * @param {string} [course] the course checkout (default: the one this script is in)
 * @returns {{ copied: string[], updated: string[], same: string[], kept: string[] }} paths relative to dir
 */
export function copyCourse(dir, course = COURSE) {
  for (const [from] of SOURCES) {
    const src = path.join(course, from);
    if (!fs.existsSync(src)) throw new Error(`the course folder ${src} is missing: ${course} is not a complete rnn-lab checkout`);
  }
  const recordFile = path.join(dir, RECORD);
  let record = {};
  if (fs.existsSync(recordFile)) {
    try { record = JSON.parse(fs.readFileSync(recordFile, 'utf8')); } catch (e) {
      throw new Error(`${recordFile} is not the JSON this script writes (${e.message}); move it away and run again (no course file is overwritten without it)`);
    }
    if (!record || typeof record !== 'object' || Array.isArray(record)) throw new Error(`${recordFile} is not an object of file → SHA-256; move it away and run again`);
  }
  const out = { copied: [], updated: [], same: [], kept: [] };
  for (const [from, to, keep] of SOURCES) {
    const src = path.join(course, from);
    const files = fs.readdirSync(src).filter(keep).sort();
    if (files.length === 0) throw new Error(`no course files in ${src}`);
    fs.mkdirSync(path.join(dir, to), { recursive: true });
    for (const f of files) {
      const rel = path.join(to, f);
      const dest = path.join(dir, rel);
      const data = fs.readFileSync(path.join(src, f));
      const want = sha256(data);
      let st = null;
      try { st = fs.lstatSync(dest); } catch { st = null; }
      if (st === null) {
        writeAtomic(dest, data);
        record[rel] = want;
        out.copied.push(rel);
        continue;
      }
      if (!st.isFile()) { out.kept.push(rel); continue; }
      const have = sha256(fs.readFileSync(dest));
      if (have === want) { record[rel] = want; out.same.push(rel); continue; }
      if (record[rel] === have) {
        // Still exactly what this script wrote: the course's newer version replaces it.
        writeAtomic(dest, data);
        record[rel] = want;
        out.updated.push(rel);
        continue;
      }
      out.kept.push(rel);
    }
  }
  writeAtomic(recordFile, JSON.stringify(record, null, 2) + '\n');
  return out;
}

function main(argv) {
  if (argv.length > 0) {
    console.error(`rnn-lab setup user: no arguments expected (the folder is RNN_LAB_USER_DIR, default ~/rnn-lab); got ${argv.join(' ')}`);
    process.exit(2);
  }
  const dir = path.resolve(process.env.RNN_LAB_USER_DIR || path.join(os.homedir(), 'rnn-lab'));
  let r;
  try { r = copyCourse(dir); } catch (e) { console.error(`rnn-lab setup user: ${e.message}`); process.exit(1); }
  console.log(`rnn-lab setup user: ${dir}: ${r.copied.length} copied, ${r.updated.length} updated from the course, ${r.same.length} already current, ${r.kept.length} kept as you left them`);
  for (const k of r.kept) console.log(`  kept (yours, differs from the course): ${k}`);
}

const isMain = (() => { try { return fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url); } catch { return false; } })();
if (isMain) main(process.argv.slice(2));

// `npm run homework:autograder -- HOMEWORK [--out FILE.zip] [--root /autograder] [--manifest FILE]
//      [--cell-timeout 60] [--timeout 600] [--memory 2048] [--seed 20251] [--visibility visible]`
// writes a Gradescope autograder zip for one homework (Gradescope: "Programming assignment" → Configure
// Autograder → upload the zip; base image Ubuntu 22.04, Gradescope's default).
//
// The zip, as Gradescope's "Autograder Specifications" ask (https://gradescope-autograders.readthedocs.io/
// en/latest/specs/; source github.com/gradescope/autograder_samples docs/specs.md, base image in
// docs/base_images.md), holds at its root:
//   setup.sh        run once as root when Gradescope builds the image: Debian/Ubuntu packages (Jupyter's
//                   nbclient, nbformat, jupyter_client; a Python venv with the versions this grader is tested
//                   with when the distribution's are older, as on 22.04), Node ≥ 20 (NodeSource) when the
//                   image has none, and the course (`npm ci` in course/, whose `prepare` builds the library
//                   and installs the kernel). It cannot run on these machines: the tests check it with
//                   `bash -n` and a dry run with every command stubbed.
//   run_autograder  run for each submission: grades <root>/submission/*.ipynb with `npm run grade`'s
//                   grader (scripts/homework/gradescope.mjs) and writes <root>/results/results.json. The
//                   root is /autograder unless --root DIR was given here or `run_autograder --root DIR`
//                   or RNN_LAB_AUTOGRADER_ROOT says otherwise; RNN_LAB_COURSE points it at another copy of
//                   the course (the tests use the checkout itself).
//   course/         the course's sources (package.json, package-lock.json, tsconfig.json, src/, asm/,
//                   scripts/): no solutions, no lesson notebooks, no dist/ or node_modules/.
//   grading/        manifest.json (this homework only) and the homework's checks file, if it has one.
// Grading options (--cell-timeout, --timeout, --memory, --seed) are written into run_autograder; set
// Gradescope's own autograder timeout above --timeout plus the kernel start (a minute is ample).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ROOT } from '../lib/jupyter.mjs';
import { scanArgs } from '../lib/args.mjs';
import { loadManifest, MANIFEST } from './homework-release.mjs';
import { VISIBILITIES } from './gradescope.mjs';

const USAGE = `usage: npm run homework:autograder -- HOMEWORK [--out autograder-HOMEWORK.zip] [--root /autograder]
         [--manifest homework/release/manifest.json] [--cell-timeout S] [--timeout S] [--memory MB] [--seed N] [--visibility visible]`;

/** What of the course goes into the zip: enough for `npm ci` (build + kernel install) and the grader. */
export const COURSE_FILES = Object.freeze(['package.json', 'package-lock.json', 'tsconfig.json', 'README.md']);
export const COURSE_DIRS = Object.freeze(['src', 'asm', 'scripts']);
const SKIP = /(^|\/)(__pycache__|node_modules|\.ipynb_checkpoints)(\/|$)|\.pyc$|\.tmp$/;

export function parseArgs(argv) {
  const o = { homework: undefined, out: undefined, root: '/autograder', manifest: undefined, visibility: 'visible', gradeArgs: [] };
  const str = { type: 'string' };
  const spec = { out: str, root: str, manifest: str, 'cell-timeout': str, timeout: str, memory: str, seed: str, visibility: str, help: { type: 'boolean', short: 'h' } };
  for (const a of scanArgs(argv, spec)) {
    if (a.kind === 'unknown') throw new Error(`unknown option ${a.raw}`);
    if (a.kind === 'positional') {
      if (o.homework) throw new Error(`one homework per autograder; got ${o.homework} and ${a.value}`);
      o.homework = a.value;
      continue;
    }
    if (a.name === 'help') { o.help = true; continue; }
    if (a.value === undefined) throw new Error(`--${a.name} needs a value`);
    switch (a.name) {
      case 'out': o.out = a.value; break;
      case 'root':
        if (!path.isAbsolute(a.value)) throw new Error(`--root must be an absolute path (the autograder runs from another folder); got ${a.value}`);
        o.root = a.value;
        break;
      case 'manifest': o.manifest = a.value; break;
      case 'visibility':
        if (!VISIBILITIES.includes(a.value)) throw new Error(`--visibility must be one of ${VISIBILITIES.join(', ')}; got ${a.value}`);
        o.visibility = a.value;
        break;
      default: {
        const x = Number(a.value);
        if (!Number.isInteger(x) || x < (a.name === 'seed' ? 0 : 1)) throw new Error(`--${a.name} must be an integer ≥ ${a.name === 'seed' ? 0 : 1}; got ${a.value}`);
        o.gradeArgs.push(`--${a.name}`, String(x));
      }
    }
  }
  if (!o.help && !o.homework) throw new Error('which homework? e.g. `npm run homework:autograder -- hw1-rnn-step`');
  return o;
}

/** A POSIX shell word: single-quoted unless it is plainly safe. */
const sh = (s) => (/^[\w./=:@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** setup.sh: runs as root on Gradescope's Ubuntu image; every step is idempotent. */
export function setupScript() {
  return `#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (default base image Ubuntu 22.04;
# 24.04 works too). Written by \`npm run homework:autograder\` (scripts/homework/autograder.mjs).
set -euo pipefail
HERE="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
VENV="\${RNN_LAB_JUPYTER_VENV:-/opt/rnn-lab-jupyter}"

# Jupyter's execution libraries from the distribution (no notebook server is needed), curl for NodeSource.
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl gnupg python3 python3-venv python3-pip \\
  python3-nbclient python3-nbformat python3-jupyter-client python3-zmq

# The grader (scripts/homework/grade.py) is tested with nbclient 0.7 and jupyter_client 7.4 (Debian 12's);
# Ubuntu 22.04 ships older ones (nbclient 0.5): then a venv with the tested versions is used instead.
if ! python3 -c 'import sys, nbclient, jupyter_client; v = lambda m: tuple(int(x) for x in m.__version__.split(".")[:2]); sys.exit(0 if v(nbclient) >= (0, 7) and v(jupyter_client) >= (7, 4) else 1)'; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --no-cache-dir 'nbclient==0.7.2' 'nbformat==5.5.0' 'jupyter_client==7.4.9'
fi

# Node >= 20 (the course's engines field); NodeSource's repository when the image has none or an older one.
if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  curl -fsSL https://deb.nodesource.com/setup_20.x -o "\${TMPDIR:-/tmp}/nodesource_setup.sh"
  bash "\${TMPDIR:-/tmp}/nodesource_setup.sh"
  apt-get install -y nodejs
fi

# The course: npm ci installs the locked dependencies; its prepare script builds the library (dist/) and
# installs the course kernel inside the course folder.
cd "$HERE/course"
npm ci --no-audit --no-fund
`;
}

/** run_autograder: a thin shell around gradescope.mjs that leaves a results.json whatever happens. */
export function runScript({ homework, root, visibility, gradeArgs }) {
  const args = ['--homework', homework, '--visibility', visibility, ...gradeArgs].map(sh).join(' ');
  return `#!/usr/bin/env bash
# Gradescope runs this for each submission (working folder /autograder). Written by
# \`npm run homework:autograder -- ${homework}\` (scripts/homework/autograder.mjs).
#   run_autograder [--root DIR]     or RNN_LAB_AUTOGRADER_ROOT=DIR: grade DIR/submission/*.ipynb into
#                                   DIR/results/results.json (default ${root})
#   RNN_LAB_COURSE=DIR              the course to grade with (default ROOT/source/course, from the zip)
set -u
ROOT="\${RNN_LAB_AUTOGRADER_ROOT:-${root}}"
if [ "\${1:-}" = "--help" ] || [ "\${1:-}" = "-h" ]; then
  echo "usage: run_autograder [--root DIR]   grade DIR/submission/*.ipynb (${homework}) into DIR/results/results.json (default ${root}; also RNN_LAB_AUTOGRADER_ROOT=DIR); RNN_LAB_COURSE=DIR grades with another copy of the course"
  exit 0
fi
if [ "\${1:-}" = "--root" ]; then
  if [ -z "\${2:-}" ]; then echo "run_autograder: --root needs a folder" >&2; exit 2; fi
  ROOT="$2"; shift 2
fi
if [ "$#" -gt 0 ]; then echo "run_autograder: unexpected argument $1 (only --root DIR)" >&2; exit 2; fi
COURSE="\${RNN_LAB_COURSE:-$ROOT/source/course}"
GRADING="$ROOT/source/grading"
VENV="\${RNN_LAB_JUPYTER_VENV:-/opt/rnn-lab-jupyter}"
if [ -z "\${RNN_LAB_PYTHON:-}" ] && [ -x "$VENV/bin/python" ]; then export RNN_LAB_PYTHON="$VENV/bin/python"; fi
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
node "$COURSE/scripts/homework/gradescope.mjs" --root "$ROOT" --manifest "$GRADING/manifest.json" ${args}
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  # Node itself failed (not installed, a broken course copy): still a result, and a non-zero exit.
  printf '%s\\n' '{"score": 0, "output": "The autograder failed before grading your notebook (a problem of the autograder, not of your work): your instructor will look at it.", "tests": []}' > "$ROOT/results/results.json"
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
`;
}

// A minimal zip writer (PKWARE APPNOTE 6.3: local headers, deflated data, central directory), so that the
// zip needs no zip program; Unix modes are kept (run_autograder must be executable), times are fixed so
// the same course gives the same bytes.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
const DOS_TIME = 0;                                   // 00:00:00
const DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1; // 2020-01-01

/** Zip bytes of [{ name, data: Buffer|string, mode }]. */
export function zipBytes(entries) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { name, data, mode = 0o644 } of entries) {
    const raw = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    const packed = zlib.deflateRawSync(raw, { level: 9 });
    const nameBuf = Buffer.from(name, 'utf8');
    const crc = crc32(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0x0800, 6); local.writeUInt16LE(8, 8);
    local.writeUInt16LE(DOS_TIME, 10); local.writeUInt16LE(DOS_DATE, 12); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18); local.writeUInt32LE(raw.length, 22); local.writeUInt16LE(nameBuf.length, 26); local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE((3 << 8) | 20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10); central.writeUInt16LE(DOS_TIME, 12); central.writeUInt16LE(DOS_DATE, 14); central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20); central.writeUInt32LE(raw.length, 24); central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38); central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, packed);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

function walk(dir, rel = '') {
  const out = [];
  for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (SKIP.test(r)) continue;
    if (d.isDirectory()) out.push(...walk(dir, r));
    else if (d.isFile()) out.push(r);
  }
  return out;
}

/** The zip's entries for one homework of a manifest. */
export function autograderEntries(o) {
  const manifestFile = path.resolve(o.manifest ?? MANIFEST);
  const manifest = loadManifest(manifestFile);
  const hw = manifest.notebooks.find((n) => n.homework === o.homework);
  if (!hw) throw new Error(`${o.homework} is not in ${manifestFile}; known: ${manifest.notebooks.map((n) => n.homework).join(', ')}`);
  const entries = [
    { name: 'setup.sh', data: setupScript(), mode: 0o755 },
    { name: 'run_autograder', data: runScript(o), mode: 0o755 },
    { name: 'grading/manifest.json', data: JSON.stringify({ ...manifest, notebooks: [hw] }, null, 2) + '\n' },
  ];
  if (hw.checks) entries.push({ name: `grading/${path.basename(hw.checks)}`, data: fs.readFileSync(path.join(path.dirname(manifestFile), hw.checks)) });
  for (const f of COURSE_FILES) entries.push({ name: `course/${f}`, data: fs.readFileSync(path.join(ROOT, f)) });
  for (const d of COURSE_DIRS) {
    for (const f of walk(path.join(ROOT, d))) {
      const full = path.join(ROOT, d, f);
      entries.push({ name: `course/${d}/${f}`, data: fs.readFileSync(full), mode: fs.statSync(full).mode & 0o111 ? 0o755 : 0o644 });
    }
  }
  return entries;
}

export function main(argv) {
  let o;
  try { o = parseArgs(argv); } catch (e) { console.error(`homework:autograder: ${e.message}\n${USAGE}`); return 2; }
  if (o.help) { console.log(USAGE); return 0; }
  let entries;
  try { entries = autograderEntries(o); } catch (e) { console.error(`homework:autograder: ${e.message}`); return 2; }
  const out = o.out ?? `autograder-${o.homework}.zip`;
  if (fs.existsSync(out) && fs.statSync(out).isDirectory()) { console.error(`homework:autograder: --out ${out} is a folder; give a .zip file path`); return 2; }
  if (fs.existsSync(out) && !fs.readFileSync(out).subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
    console.error(`homework:autograder: --out ${out} exists and is not a zip file, so it is not replaced; choose another file`);
    return 2;
  }
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, zipBytes(entries));
  fs.renameSync(tmp, out);
  console.log(`wrote ${out}: ${entries.length} files for ${o.homework} (root ${o.root}); upload it on Gradescope's Configure Autograder page`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));

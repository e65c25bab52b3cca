// Repair package-lock.json after a dependency change: `node scripts/build/fix-lockfile.cjs`.
//
// Why: danfojs-node's @tensorflow/tfjs-node is overridden to npm:@tensorflow/tfjs@4.22.0 (one tf.js
// engine, no libtensorflow download), and the root lists the real @tensorflow/tfjs-node@4.22.0 as an
// optional dependency. npm dedupes an alias by version alone (npm/cli#3154, #4197), so it merges the
// two: either the real package becomes required by danfo (its failing download then aborts the
// install) or the root's optional dependency silently becomes the alias. This rewrites the lockfile
// so the real package sits optional at the root and the alias is nested under danfojs-node; `npm ci`
// and `npm install` keep that tree.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
// The library's writeFileAtomic (src/files.ts), the one every script writes through; checked before the
// slow scratch install so a missing build fails at once.
const FILES_JS = path.join(ROOT, 'dist', 'files.js');
if (!fs.existsSync(FILES_JS)) {
  console.error('fix-lockfile: the library is not built (dist/files.js is missing): run `npm run build` first');
  process.exit(1);
}
const { writeFileAtomic } = require(FILES_JS);
const lockFile = path.join(ROOT, 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
const P = lock.packages;
const ROOT_KEY = 'node_modules/@tensorflow/tfjs-node';
const NESTED_KEY = 'node_modules/danfojs-node/node_modules/@tensorflow/tfjs-node';
const version = require(path.join(ROOT, 'package.json')).optionalDependencies['@tensorflow/tfjs-node'];

const atRoot = P[ROOT_KEY];
if (P[NESTED_KEY] && atRoot && !atRoot.name && atRoot.optional) {
  console.log('package-lock.json already has the real tfjs-node (optional) at the root and the alias under danfojs-node');
  process.exit(0);
}
// 1. The alias goes under danfojs-node.
const alias = P[NESTED_KEY] ?? (atRoot && atRoot.name === '@tensorflow/tfjs' ? atRoot : null);
if (!alias) throw new Error(`no npm:@tensorflow/tfjs alias for danfojs-node in the lockfile; run npm install first`);
P[NESTED_KEY] = alias;
delete P[ROOT_KEY];

// 2. The real package and its dependency tree, resolved by npm in a scratch folder, go in as optional.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-node-lock-'));
fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', dependencies: { '@tensorflow/tfjs-node': version } }));
execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: tmp, stdio: 'inherit' });
const real = JSON.parse(fs.readFileSync(path.join(tmp, 'package-lock.json'), 'utf8')).packages;
fs.rmSync(tmp, { recursive: true, force: true });

function resolveFrom(tree, from, dep) {
  for (let base = from; ; ) {
    const candidate = `${base}/node_modules/${dep}`;
    if (tree[candidate]) return candidate;
    const i = base.lastIndexOf('/node_modules/');
    if (i < 0) return tree[`node_modules/${dep}`] ? `node_modules/${dep}` : null;
    base = base.slice(0, i);
  }
}
const todo = [ROOT_KEY];
const seen = new Set();
let added = 0;
while (todo.length) {
  const key = todo.pop();
  if (seen.has(key)) continue;
  seen.add(key);
  const entry = real[key];
  if (!entry) throw new Error(`scratch lockfile lacks ${key}`);
  if (!P[key]) { P[key] = { ...entry, optional: true }; delete P[key].dev; added++; }
  for (const dep of Object.keys(entry.dependencies ?? {})) {
    const found = resolveFrom(real, key, dep);
    if (!found) throw new Error(`cannot resolve ${dep} from ${key}`);
    if (!P[found]) todo.push(found);
  }
}
lock.packages = Object.fromEntries(Object.keys(P).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))).map((k) => [k, P[k]]));
writeFileAtomic(lockFile, JSON.stringify(lock, null, 2) + '\n');
console.log(`package-lock.json: real @tensorflow/tfjs-node@${version} optional at the root (${added} entries), alias nested under danfojs-node`);

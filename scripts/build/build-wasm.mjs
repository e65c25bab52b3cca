// `npm run build:wasm`: compile the fused recurrent kernels (AssemblyScript: the entry asm/recurrent.ts,
// which imports asm/simd.ts, gemm.ts, codes.ts, layout.ts, optimizer.ts and one file per cell, rnn.ts, lstm.ts, gru.ts)
// with the npm-installed compiler into WebAssembly, offline:
//   src/fused/recurrent.wasm          v128 SIMD (loaded everywhere WebAssembly SIMD is)
//   src/fused/recurrent-relaxed.wasm  + relaxed-SIMD fused multiply-add (loaded only where it validates)
// and copies both next to the compiled loader, dist/fused/. Options: --check (compile only if a .wasm
// is missing or older than any asm/*.ts), --quiet.
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanArgs } from '../lib/args.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
let quiet = false;
let onlyIfStale = false;
// Only these two flags: a misspelt one (--chek) must not silently rebuild or stay quiet.
for (const a of scanArgs(process.argv.slice(2), { quiet: { type: 'boolean' }, check: { type: 'boolean' } })) {
  if (a.kind !== 'option') {
    console.error(`build-wasm: unknown argument ${a.raw}; options: --check (compile only if stale), --quiet`);
    process.exit(2);
  }
  if (a.name === 'quiet') quiet = true;
  else onlyIfStale = true;
}
const log = (s) => { if (!quiet) console.log(s); };

const SRC = path.join(ROOT, 'asm', 'recurrent.ts');   // the entry; asc follows its imports
const OUT = path.join(ROOT, 'src', 'fused');
const DIST = path.join(ROOT, 'dist', 'fused');
const variants = [
  { file: 'recurrent.wasm', features: ['simd'] },
  { file: 'recurrent-relaxed.wasm', features: ['simd', 'relaxed-simd'] },
];

let asc;
try {
  asc = require.resolve('assemblyscript/bin/asc.js', { paths: [ROOT] });
} catch {
  console.error('build-wasm: the AssemblyScript compiler is not installed; run `npm install` (devDependency assemblyscript)');
  process.exit(1);
}

const asmFiles = fs.readdirSync(path.join(ROOT, 'asm')).filter((f) => f.endsWith('.ts')).map((f) => path.join(ROOT, 'asm', f));
const newestSource = Math.max(...asmFiles.map((f) => fs.statSync(f).mtimeMs));
fs.mkdirSync(OUT, { recursive: true });
// The two variants compile in parallel (asc is single-threaded; ~20 s each on a busy 2-core machine).
const compile = (v) => new Promise((resolve) => {
  const out = path.join(OUT, v.file);
  if (onlyIfStale && fs.existsSync(out) && fs.statSync(out).mtimeMs >= newestSource) {
    log(`build-wasm: ${path.relative(ROOT, out)} is up to date`);
    resolve(true);
    return;
  }
  const args = [asc, SRC, '-o', out, '-O3', '--noAssert', '--runtime', 'stub', '--initialMemory', '1',
    ...v.features.flatMap((f) => ['--enable', f])];
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { cwd: ROOT });
  let text = '';
  child.stdout.on('data', (d) => { text += d; });
  child.stderr.on('data', (d) => { text += d; });
  child.on('close', (code) => {
    if (code !== 0) {
      console.error(`build-wasm: asc failed for ${v.file} (exit ${code}):\n${text}`);
      resolve(false);
      return;
    }
    log(`build-wasm: ${path.relative(ROOT, out)} (${fs.statSync(out).size} bytes, ${v.features.join('+')}) in ${Date.now() - t0} ms`);
    resolve(true);
  });
});
const ok = await Promise.all(variants.map(compile));
if (!ok.every(Boolean)) process.exit(1);
fs.mkdirSync(DIST, { recursive: true });
for (const v of variants) fs.copyFileSync(path.join(OUT, v.file), path.join(DIST, v.file));
log(`build-wasm: copied to ${path.relative(ROOT, DIST)}/`);

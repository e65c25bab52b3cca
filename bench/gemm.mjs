// GEMM microbenchmark of the fused kernels (asm/gemm.ts, issue 20 item 2): GFMA/s of the exported
// `gemm` (and the time of `packB`) on the shapes one training step of `npm run bench` runs per batch shard
// (batch 64 in 2 shards of b = 32 rows, T = 50, input m = 8, hidden n, G gates: RNN 1, GRU 3, LSTM 4):
//   fwd h·U     [b, n]·U[n, G·n]            each step (U packed once per sequence)
//   fwd X·K+b   [T·b, m]·K[m, G·n] + b       once (the input projection of all steps, with the bias: gemmBias,
//                                            or in a build without it the bias rows copied into C, then gemm
//                                            accumulating, as the forward did)
//   bwd dA·Uᵀ   [b, G·n]·Uᵀ[G·n, n]          each step
//   dU Hᵀ·dA    H_{t-1}ᵀ[n, T·b]·dA[T·b, G·n] once (Hᵀ read through strides: ars = 1, aks = n)
//   dK Xᵀ·dA    Xᵀ[m, T·b]·dA                once (ars = 1, aks = m)
//   dX dA·Kᵀ    dA[T·b, G·n]·Kᵀ[G·n, m]       once
//   pack dA     packB of dA [T·b, G·n]        once (B of dU and dK), reported in GB/s of dA read
// Each shape's GFMA/s is the median over --repeats timed runs (each ≥ --ms milliseconds of back-to-back
// calls). With several --wasm files the builds alternate within every repeat, so a before/after comparison
// sees the same machine load (the machine is shared). Every shape is also checked against a float64
// product in JS on sampled entries (relative error printed; > 1e-4 fails the run).
//   node bench/gemm.mjs [--plain] [--wasm a.wasm,b.wasm] [--hidden 64,128,256] [--cells rnn,gru,lstm]
//                       [--shapes dU,fwd] [--repeats 7] [--ms 40] [--json file]
// --shapes keeps the shapes whose name starts with one of the given prefixes (fwd, bwd, dU, dK, dX).
// --plain loads dist/fused/recurrent.wasm (v128 SIMD), the default is what Node loads: the relaxed-SIMD
// build when it validates (dist/fused/kernels.js nodeWasmPath()).
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const K = require(path.join(ROOT, 'dist', 'fused', 'kernels.js'));

let opts;
try {
  ({ values: opts } = parseArgs({
    options: {
      plain: { type: 'boolean', default: false },
      wasm: { type: 'string' },
      hidden: { type: 'string', default: '64,128,256' },
      cells: { type: 'string', default: 'rnn,gru,lstm' },
      shapes: { type: 'string' },
      repeats: { type: 'string', default: '7' },
      ms: { type: 'string', default: '40' },
      json: { type: 'string' },
    },
  }));
} catch (err) {
  console.error(`bench/gemm: ${err.message}\nusage: node bench/gemm.mjs [--plain] [--wasm a.wasm,b.wasm] [--hidden 64,128,256] [--cells rnn,gru,lstm] [--shapes dU,fwd] [--repeats 7] [--ms 40] [--json file]`);
  process.exit(2);
}
const positiveInts = (name, text) => text.split(',').map((s) => {
  const v = Number(s);
  if (!Number.isInteger(v) || v < 1) { console.error(`bench/gemm: --${name} takes positive integers, got '${text}'`); process.exit(2); }
  return v;
});
const GATES = { rnn: 1, gru: 3, lstm: 4 };
const hiddens = positiveInts('hidden', opts.hidden);
const cells = opts.cells.split(',');
for (const c of cells) if (!(c in GATES)) { console.error(`bench/gemm: --cells takes rnn, gru, lstm; got '${c}'`); process.exit(2); }
const shapeFilter = opts.shapes ? opts.shapes.split(',') : null;
const [repeats] = positiveInts('repeats', opts.repeats);
const [minMs] = positiveInts('ms', opts.ms);
if (opts.plain && opts.wasm) { console.error('bench/gemm: --plain and --wasm both name the build; give one'); process.exit(2); }

const files = opts.wasm ? opts.wasm.split(',').map((f) => path.resolve(f))
  : [opts.plain ? path.join(ROOT, 'dist', 'fused', 'recurrent.wasm') : K.nodeWasmPath()];
// nodeWasmPath() has turned on V8's relaxed-SIMD flag if the engine needs it; a relaxed file given by
// --wasm needs the same.
if (opts.wasm) K.nodeWasmPath();
const builds = files.map((f) => {
  if (!fs.existsSync(f)) { console.error(`bench/gemm: ${f} does not exist (npm run build:wasm)`); process.exit(2); }
  const m = K.nodeLoad(f);
  return { file: f, label: path.relative(process.cwd(), f), m, relaxed: m.relaxed };
});

const T = 50, b = 32, m = 8;
const rows = T * b;

/** A product's operands in one build's memory: A read through (ars, aks), B packed, C [M, N] with ldc = N. */
function shapesFor(n, G) {
  const Gn = G * n;
  return [
    { name: 'fwd h·U', M: b, N: Gn, K: n, a: 'rows', beta: 1, calls: T },
    { name: 'fwd X·K+b', M: rows, N: Gn, K: m, a: 'rows', beta: 1, bias: true, calls: 1 },
    { name: 'bwd dA·Uᵀ', M: b, N: n, K: Gn, a: 'rows', beta: 1, calls: T },
    { name: 'dU Hᵀ·dA', M: n, N: Gn, K: rows, a: 'cols', beta: 0, calls: 1 },
    { name: 'dK Xᵀ·dA', M: m, N: Gn, K: rows, a: 'cols', beta: 0, calls: 1 },
    { name: 'dX dA·Kᵀ', M: rows, N: m, K: Gn, a: 'rows', beta: 0, calls: 1 },
  ];
}

// The same pseudo-random operands for every build (so the sums, and the checks, are comparable).
let seed = 12345;
const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 31 - 1; };

const packedFloats = (Kd, N) => ((Math.ceil(N / 8) * 8 * Kd) + 15) & ~15;
const pad16 = (f) => (f + 15) & ~15;

/** Lay a shape out in build `bd`'s memory (grown as needed) and return the call and a checker. */
function setup(bd, s, Adata, Bdata) {
  const { m: mod } = bd;
  const mem = mod.exports.memory;
  const aF = pad16(s.M * s.K), bF = pad16(s.K * s.N), pF = packedFloats(s.K, s.N), cF = pad16(s.M * s.N);
  const base = mod.base;
  const need = (base + aF + bF + pF + cF + pad16(s.N) + 16) * 4;
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  mod.f32 = new Float32Array(mem.buffer);
  const f32 = mod.f32;
  const A = base, B = A + aF, Bp = B + bF, C = Bp + pF, bias = C + cF;
  // A [M, K] logically; 'rows' stores it row-major (ars = K, aks = 1), 'cols' stores Aᵀ [K, M] row-major
  // (ars = 1, aks = M), as the weight-gradient GEMMs read Hᵀ and Xᵀ.
  f32.set(Adata, A);
  f32.set(Bdata, B);
  const [ars, aks] = s.a === 'rows' ? [s.K, 1] : [1, s.M];
  const e = mod.exports;
  e.packB(B * 4, s.N, 1, s.K, s.N, Bp * 4);
  f32.fill(0, C, C + s.M * s.N);
  let call = () => e.gemm(s.M, s.N, s.K, A * 4, ars, aks, Bp * 4, C * 4, s.N, s.beta);
  if (s.bias) {
    for (let j = 0; j < s.N; j++) f32[bias + j] = Bdata[j] * 0.5;
    call = e.gemmBias ? () => e.gemmBias(s.M, s.N, s.K, A * 4, ars, aks, Bp * 4, bias * 4, C * 4, s.N)
      : () => {
        for (let i = 0; i < s.M; i++) f32.copyWithin(C + i * s.N, bias, bias + s.N);
        e.gemm(s.M, s.N, s.K, A * 4, ars, aks, Bp * 4, C * 4, s.N, 1);
      };
  }
  const pack = () => e.packB(B * 4, s.N, 1, s.K, s.N, Bp * 4);
  const check = () => {
    // C = A·B (beta 0), or C_before + A·B: start from 0 and call once.
    f32.fill(0, C, C + s.M * s.N);
    call();
    let worst = 0;
    for (let q = 0; q < 64; q++) {
      const i = Math.floor(Math.abs(rand()) * s.M) % s.M, j = Math.floor(Math.abs(rand()) * s.N) % s.N;
      let ref = s.bias ? f32[bias + j] : 0, mag = Math.abs(ref);
      for (let k = 0; k < s.K; k++) {
        const av = s.a === 'rows' ? Adata[i * s.K + k] : Adata[k * s.M + i];
        const p = av * Bdata[k * s.N + j];
        ref += p;
        mag += Math.abs(p);
      }
      worst = Math.max(worst, Math.abs(f32[C + i * s.N + j] - ref) / mag);
    }
    return worst;
  };
  return { call, pack, check };
}

/** Milliseconds per call: back-to-back calls for at least minMs. */
function timeIt(fn) {
  fn();
  let reps = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms >= minMs) return ms / reps;
    reps = Math.max(reps * 2, Math.ceil(reps * minMs / Math.max(ms, 0.01) * 1.1));
  }
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

console.log(`bench/gemm: T=${T}, shard b=${b}, input m=${m}; median of ${repeats} repeats (≥ ${minMs} ms each)`);
for (const bd of builds) console.log(`  build ${builds.indexOf(bd)}: ${bd.label} (${bd.relaxed ? 'relaxed-SIMD FMA' : 'plain SIMD'})`);
const records = [];
let failed = false;
for (const n of hiddens) {
  for (const cell of cells) {
    const G = GATES[cell];
    const perStep = builds.map(() => 0);   // ms of GEMM per shard-sequence (forward + backward)
    let fmaStep = 0;
    const header = `${cell.toUpperCase()} n=${n} (G·n=${G * n})`;
    console.log(`\n${header}`);
    console.log(`  ${'shape'.padEnd(11)} ${'M×N×K'.padEnd(16)} ${builds.map((_, i) => `GFMA/s[${i}]`.padStart(12)).join(' ')}  rel.err`);
    for (const s of shapesFor(n, G)) {
      if (shapeFilter && !shapeFilter.some((p) => s.name.startsWith(p))) continue;
      const Adata = Float32Array.from({ length: s.M * s.K }, rand);
      const Bdata = Float32Array.from({ length: s.K * s.N }, rand);
      const runs = builds.map((bd) => setup(bd, s, Adata, Bdata));
      const errs = runs.map((r) => r.check());
      const ms = builds.map(() => []);
      for (let r = 0; r < repeats; r++) {
        for (let i = 0; i < builds.length; i++) {
          const which = (r + i) % builds.length;   // alternate which build goes first
          ms[which].push(timeIt(runs[which].call));
        }
      }
      const fma = s.M * s.N * s.K;
      const gf = ms.map((t) => fma / (median(t) * 1e6));
      fmaStep += fma * s.calls;
      ms.forEach((t, i) => { perStep[i] += median(t) * s.calls; });
      const err = Math.max(...errs);
      if (!(err <= 1e-4)) failed = true;
      console.log(`  ${s.name.padEnd(11)} ${`${s.M}×${s.N}×${s.K}`.padEnd(16)} ${gf.map((g) => g.toFixed(2).padStart(12)).join(' ')}  ${err.toExponential(1)}`);
      records.push({ cell, n, G, shape: s.name, M: s.M, N: s.N, K: s.K, calls: s.calls,
        gfma: gf.map((g) => +g.toFixed(3)), ms: ms.map((t) => +median(t).toFixed(5)), relErr: errs });
      // packB of dA (the B of dU and dK): once per backward.
      if (s.name === 'dU Hᵀ·dA') {
        const ps = builds.map(() => []);
        for (let r = 0; r < repeats; r++) for (let i = 0; i < builds.length; i++) ps[i].push(timeIt(runs[i].pack));
        const gbs = ps.map((t) => (s.K * s.N * 4) / (median(t) * 1e6));
        ps.forEach((t, i) => { perStep[i] += median(t); });
        console.log(`  ${'pack dA'.padEnd(11)} ${`${s.K}×${s.N}`.padEnd(16)} ${gbs.map((g) => `${g.toFixed(2)} GB/s`.padStart(12)).join(' ')}`);
        records.push({ cell, n, G, shape: 'pack dA', K: s.K, N: s.N, calls: 1, gbs: gbs.map((g) => +g.toFixed(3)), ms: ps.map((t) => +median(t).toFixed(5)) });
      }
    }
    const eff = perStep.map((t) => fmaStep / (t * 1e6));
    console.log(`  ${'per shard'.padEnd(11)} ${`${(fmaStep / 1e6).toFixed(0)} MFMA`.padEnd(16)} ${eff.map((g) => g.toFixed(2).padStart(12)).join(' ')}  (${perStep.map((t) => `${t.toFixed(2)} ms`).join(', ')})`);
    records.push({ cell, n, G, shape: 'per shard', fma: fmaStep, gfma: eff.map((g) => +g.toFixed(3)), ms: perStep.map((t) => +t.toFixed(4)) });
  }
}
const out = { date: new Date().toISOString(), node: process.version, builds: builds.map((bd) => ({ file: bd.label, relaxed: bd.relaxed })),
  T, b, m, repeats, minMs, records };
if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(out, null, 2));
console.log(`\n${JSON.stringify(out)}`);
if (failed) { console.error('bench/gemm: a product differs from the float64 reference by more than 1e-4 (relative)'); process.exit(1); }

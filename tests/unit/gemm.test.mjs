// The fused kernels' GEMM (asm/gemm.ts: packB, gemm, gemmBias) against a float64 product computed here,
// on both builds (plain SIMD and, where it validates, relaxed-SIMD FMA): every row count 1–13 (whole 4-row
// blocks, and the 1-, 2- and 3-row tails, which have kernels of their own), column counts that fill and
// part-fill the 8-column panels, K past the 256-deep K block, A read by rows and through strides (Aᵀ),
// accumulating (beta) or not, and with a bias row. Tolerance: |C − C64| ≤ 2e-6·Σ_k |A_ik·B_kj| + 1e-7
// (float32 accumulation of K products); the largest error seen is printed. Rows past M and columns past N
// of C are never written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const K = require(path.join(ROOT, 'dist', 'fused', 'kernels.js'));

const builds = [['plain', path.join(ROOT, 'dist', 'fused', 'recurrent.wasm')]];
// nodeWasmPath() turns on the V8 flag that relaxed SIMD needs here (Node 20), and picks the relaxed build
// when it validates.
const loaded = K.nodeWasmPath();
if (loaded.endsWith('recurrent-relaxed.wasm')) builds.push(['relaxed', loaded]);
else console.log(`gemm: the relaxed-SIMD build does not validate here; only the plain build is tested (${loaded})`);

let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 31 - 1);
const pad16 = (f) => (f + 15) & ~15;

/** Run one product in module `mod`; returns [maxError/bound, maxAbsError, untouched] . */
function check(mod, { M, N, Kd, aCols, beta, bias }) {
  const A = Float64Array.from({ length: M * Kd }, rand);          // logical A [M, K]
  const B = Float64Array.from({ length: Kd * N }, rand);          // [K, N]
  const C0 = Float64Array.from({ length: M * N }, rand);          // C's old values (beta)
  const bv = Float64Array.from({ length: N }, rand);
  const SENT = 12345.5;
  const aF = pad16(M * Kd), bF = pad16(Kd * N), pF = pad16(Math.ceil(N / 8) * 8 * Kd), cF = pad16((M + 1) * (N + 1));
  const need = (mod.base + aF + bF + pF + cF + pad16(N) + 64) * 4;
  const mem = mod.exports.memory;
  if (mem.buffer.byteLength < need) mem.grow(Math.ceil((need - mem.buffer.byteLength) / 65536));
  const f = new Float32Array(mem.buffer);
  const a = mod.base, b = a + aF, p = b + bF, c = p + pF, bi = c + cF;
  const ldc = N + 1;                                               // one spare column: never written
  // A stored row-major [M, K] (ars = K, aks = 1), or as Aᵀ [K, M] row-major (ars = 1, aks = M).
  for (let i = 0; i < M; i++) for (let k = 0; k < Kd; k++) f[a + (aCols ? k * M + i : i * Kd + k)] = A[i * Kd + k];
  f.set(Float32Array.from(B), b);
  f.fill(SENT, c, c + (M + 1) * ldc);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) f[c + i * ldc + j] = C0[i * N + j];
  f.set(Float32Array.from(bv), bi);
  const P = (fl) => fl * 4;
  mod.exports.packB(P(b), N, 1, Kd, N, P(p));
  const [ars, aks] = aCols ? [1, M] : [Kd, 1];
  if (bias) mod.exports.gemmBias(M, N, Kd, P(a), ars, aks, P(p), P(bi), P(c), ldc);
  else mod.exports.gemm(M, N, Kd, P(a), ars, aks, P(p), P(c), ldc, beta ? 1 : 0);
  const out = new Float32Array(mem.buffer);
  let worst = 0, maxAbs = 0, untouched = true;
  for (let i = 0; i <= M; i++) {
    for (let j = 0; j <= N; j++) {
      const v = out[c + i * ldc + j];
      if (i === M || j === N) {
        if (v !== SENT) untouched = false;
        continue;
      }
      // The float64 reference, from the float32-rounded operands the kernel saw.
      let ref = bias ? Math.fround(bv[j]) : beta ? Math.fround(C0[i * N + j]) : 0;
      let mag = Math.abs(ref);
      for (let k = 0; k < Kd; k++) {
        const t = Math.fround(A[i * Kd + k]) * Math.fround(B[k * N + j]);
        ref += t;
        mag += Math.abs(t);
      }
      const err = Math.abs(v - ref);
      maxAbs = Math.max(maxAbs, err);
      worst = Math.max(worst, err / (2e-6 * mag + 1e-7));
    }
  }
  return [worst, maxAbs, untouched];
}

for (const [name, file] of builds) {
  test(`gemm (${name} build): rows 1–13 (4-row blocks and 1-, 2-, 3-row tails), panels full and partial, K past 256, strided A, beta, bias`, () => {
    const mod = K.instantiate(fs.readFileSync(file), file);
    let worst = 0, maxAbs = 0, cases = 0;
    for (let M = 1; M <= 13; M++) {
      for (const N of [3, 8, 13, 24]) {
        for (const Kd of [1, 7, 130, 300]) {
          for (const [aCols, beta, bias] of [[false, false, false], [true, false, false], [false, true, false], [false, false, true]]) {
            const [w, e, untouched] = check(mod, { M, N, Kd, aCols, beta, bias });
            assert.ok(untouched, `M=${M} N=${N} K=${Kd}: wrote outside C's M×N block`);
            assert.ok(w <= 1, `M=${M} N=${N} K=${Kd} aCols=${aCols} beta=${beta} bias=${bias}: error ${e} over the bound (${w.toFixed(2)}×)`);
            worst = Math.max(worst, w);
            maxAbs = Math.max(maxAbs, e);
            cases++;
          }
        }
      }
    }
    console.log(`gemm ${name}: ${cases} products, max |C − C64| ${maxAbs.toExponential(2)} (${(100 * worst).toFixed(1)}% of the bound)`);
  });
}

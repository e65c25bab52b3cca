/**
 * Small dense linear algebra in plain JavaScript (float64) for the diagnostics: the matrices are at
 * most a few hundred wide, and float64 keeps products of 50 Jacobians accurate where float32 tensors
 * would not.
 */

/** A dense matrix as rows. */
export type Matrix = number[][];

export function identity(n: number): Matrix {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
}

export function matmul(A: Matrix, B: Matrix): Matrix {
  const n = A.length, k = B.length, m = B[0]?.length ?? 0;
  if ((A[0]?.length ?? 0) !== k) throw new Error(`matmul: inner sizes differ (${A[0]?.length} vs ${k})`);
  const out = Array.from({ length: n }, () => new Array(m).fill(0));
  for (let i = 0; i < n; i++) {
    const Ai = A[i], Oi = out[i];
    for (let p = 0; p < k; p++) {
      const a = Ai[p];
      if (a === 0) continue;
      const Bp = B[p];
      for (let j = 0; j < m; j++) Oi[j] += a * Bp[j];
    }
  }
  return out;
}

export function transpose(A: Matrix): Matrix {
  return (A[0] ?? []).map((_, j) => A.map((row) => row[j]));
}

function frobenius(A: Matrix): number {
  let s = 0;
  for (const row of A) for (const v of row) s += v * v;
  return Math.sqrt(s);
}

/**
 * Eigenvalues of a symmetric matrix by the cyclic Jacobi method (Golub & Van Loan §8.5), descending.
 */
export function symmetricEigenvalues(S: Matrix, tol = 1e-14, maxSweeps = 100): number[] {
  const n = S.length;
  const A = S.map((r) => r.slice());
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p][q] * A[p][q];
    if (Math.sqrt(off) <= tol * (frobenius(A) || 1)) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(A[p][q]) < 1e-300) continue;
        const theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {            // columns p, q
          const akp = A[k][p], akq = A[k][q];
          A[k][p] = c * akp - s * akq;
          A[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {            // rows p, q
          const apk = A[p][k], aqk = A[q][k];
          A[p][k] = c * apk - s * aqk;
          A[q][k] = s * apk + c * aqk;
        }
      }
    }
  }
  return A.map((r, i) => r[i]).sort((a, b) => b - a);
}

/** All singular values of A, descending: √eig(AᵀA) (exact; for the plots). */
export function singularValues(A: Matrix): number[] {
  const AtA = matmul(transpose(A), A);
  return symmetricEigenvalues(AtA).map((v) => Math.sqrt(Math.max(0, v)));
}

/**
 * Largest singular value by power iteration on AᵀA: v ← AᵀA v / ‖AᵀA v‖, σ = ‖A v‖.
 * Deterministic start (all ones plus a ramp) so results are reproducible.
 */
export function sigmaMaxPower(A: Matrix, iterations = 500, tol = 1e-12): number {
  const m = A[0]?.length ?? 0;
  if (m === 0) return 0;
  let v = Array.from({ length: m }, (_, i) => 1 + i / m);
  let sigma = 0;
  for (let it = 0; it < iterations; it++) {
    const Av = A.map((row) => row.reduce((s, a, j) => s + a * v[j], 0));
    const AtAv = new Array(m).fill(0);
    A.forEach((row, i) => row.forEach((a, j) => { AtAv[j] += a * Av[i]; }));
    const norm = Math.sqrt(AtAv.reduce((s, x) => s + x * x, 0));
    if (norm === 0) return 0;
    v = AtAv.map((x) => x / norm);
    const next = Math.sqrt(norm);                // ‖AᵀA v‖ → σ² for the top singular vector
    if (Math.abs(next - sigma) <= tol * next) { sigma = next; break; }
    sigma = next;
  }
  return sigma;
}

/**
 * Spectral radius ρ(A) = max |λ| by Gelfand's formula ρ = lim ‖A^k‖^(1/k), with k = 2^j by repeated
 * squaring (renormalised each time so nothing overflows). Works for non-symmetric A, whose
 * eigenvalues may be complex.
 */
export function spectralRadius(A: Matrix, squarings = 40): number {
  let M = A.map((r) => r.slice());
  let logNorm = 0;                               // log ‖A^(2^j)‖ accumulated
  let estimate = frobenius(M);
  for (let j = 0; j < squarings; j++) {
    const f = frobenius(M);
    if (f === 0) return 0;
    M = M.map((r) => r.map((v) => v / f));
    logNorm = 2 * (logNorm + Math.log(f));       // ‖A^(2^(j+1))‖ = ‖(A^(2^j))²‖
    M = matmul(M, M);
    const next = Math.exp((logNorm + Math.log(frobenius(M) || 1e-300)) / 2 ** (j + 1));
    if (Math.abs(next - estimate) <= 1e-13 * next) return next;
    estimate = next;
  }
  return estimate;
}

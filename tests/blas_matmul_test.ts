/**
 * The BLAS BatchMatMul kernel for wasm gives the stock kernel's results for
 * every transpose and broadcast combination. Runs where the system BLAS loads
 * (scripts/setup.sh installs OpenBLAS); reported as ignored elsewhere.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { loadBlas } from "../lib/fast/openblas.ts";
import { assert, assertAllClose } from "./helpers.ts";

const backend = await initBackend({ quiet: true });
const active = backend === "wasm" && loadBlas() !== undefined && Deno.env.get("RLHF_FAST_MATMUL") !== "0";

/** A plain triple loop over JS arrays: the reference. */
function naiveMatMul(a: number[][][], b: number[][][], tA: boolean, tB: boolean): number[] {
  const batch = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < batch; i++) {
    const A = a[a.length === 1 ? 0 : i];
    const B = b[b.length === 1 ? 0 : i];
    const M = tA ? A[0].length : A.length;
    const K = tA ? A.length : A[0].length;
    const N = tB ? B.length : B[0].length;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (tA ? A[k][m] : A[m][k]) * (tB ? B[n][k] : B[k][n]);
        out.push(s);
      }
    }
  }
  return out;
}

function random3d(batch: number, rows: number, cols: number, seed: number): number[][][] {
  let x = seed;
  const next = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  return Array.from({ length: batch }, () => Array.from({ length: rows }, () => Array.from({ length: cols }, next)));
}

Deno.test({
  name: "BLAS BatchMatMul matches a naive product for transposes and batch broadcasting",
  ignore: !active,
  fn: async () => {
    const [M, K, N] = [40, 48, 36]; // large enough to take the BLAS path
    for (const [batchA, batchB] of [[1, 1], [3, 3], [3, 1], [1, 3]]) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const a = random3d(batchA, tA ? K : M, tA ? M : K, 1 + batchA);
          const b = random3d(batchB, tB ? N : K, tB ? K : N, 7 + batchB);
          const out = tf.tidy(() => tf.matMul(tf.tensor3d(a), tf.tensor3d(b), tA, tB));
          assert.deepEqual(out.shape, [Math.max(batchA, batchB), M, N]);
          assertAllClose(await out.data(), naiveMatMul(a, b, tA, tB), { atol: 1e-4, what: `batch ${batchA}/${batchB} tA=${tA} tB=${tB}` });
          out.dispose();
        }
      }
    }
  },
});

Deno.test({
  name: "BLAS BatchMatMul leaves small products to the stock kernel and leaks nothing",
  ignore: !active,
  fn: async () => {
    const before = tf.memory().numTensors;
    const small = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 4])));
    assert.deepEqual(Array.from(await small.data()), Array(8).fill(3));
    small.dispose();
    assert.equal(tf.memory().numTensors, before);
  },
});

/**
 * The system BLAS with every product split across the native kernels' thread
 * pool (lib/fast/native/kernels.c: `bind_blas`, `parallel_sgemm`) instead of
 * OpenBLAS' own threads. OpenBLAS' workers spin for a long while after each
 * product, and on a 2-core machine they took the second core from the fused
 * kernels that ran between products (the training attention ran 2× slower
 * right after a product than alone). With one pool for both, OpenBLAS runs on
 * one thread per chunk and the pool's threads spin only 2 ms between jobs.
 * Products of a few rows (a generated token's: one row per sequence) do not
 * reach OpenBLAS at all: register tiles read B where it is, instead of
 * OpenBLAS copying all of it on every call (`few_rows_product`, the same sums).
 * Each entry of a product is the same sum as in one single-threaded OpenBLAS
 * call over the whole product, whatever the number of threads (bit for bit
 * with the SkylakeX kernels, tested); OpenBLAS' own threads split long inner
 * dimensions differently, so the last bits of such products changed with the
 * pool (docs/RESULTS.md).
 */
import type { Blas } from "./openblas.ts";
import type { NativeKernels } from "./native_kernels.ts";

/** `blas` on the kernels' pool of `threads`, or undefined when the library cannot be bound (not OpenBLAS). */
export function blasOnKernelPool(blas: Blas, kernels: NativeKernels, threads: number): Blas | undefined {
  if (kernels.bind_blas(new TextEncoder().encode(`${blas.path}\0`)) !== 0) return undefined;
  return {
    path: blas.path,
    pooled: true,
    sgemm(transA, transB, M, N, K, a, b, c, beta = 0) {
      // parallel_sgemm splits only products large enough for every chunk to keep OpenBLAS' large-product kernels
      kernels.parallel_sgemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, a, b, beta, c, threads);
    },
    linear(M, N, K, x, w, bias, y) {
      kernels.parallel_linear(M, N, K, x, w, bias, y, threads);
    },
    linearGrad(rows, K, M, wTransposed, x, w, dy, dx, dw, db) {
      if (kernels.linear_backward(rows, K, M, wTransposed ? 1 : 0, x, w, dy, dx, dw, db, threads) !== 0) {
        throw new Error(`linear gradient: out of memory for the bias gradient's partial sums ([${rows}, ${M}])`);
      }
    },
  };
}

/**
 * A faster `BatchMatMul` kernel for the tfjs wasm backend: the same inputs and
 * outputs, computed by the system BLAS (see openblas.ts) directly in the wasm
 * heap, with no copies. Small products, where a call's fixed cost (~8 µs)
 * would dominate, go to the stock kernel. Registered in place of wasm's own
 * kernel, so model code and every other backend are untouched.
 */
import { tf } from "../tf.ts";
import type { Blas } from "./openblas.ts";
import { heapOffset, replaceWasmKernel } from "./wasm_heap.ts";

/** Multiply-adds per matrix below which the stock wasm kernel is used. */
export const MIN_MACS = 16 * 1024;

let installed = false;

/** True when matmuls on the active backend run on the system BLAS (then transposed operands cost nothing extra). */
export function blasMatMulActive(): boolean {
  return installed && tf.getBackend() === "wasm";
}

/** Replaces wasm's BatchMatMul with the BLAS one. Returns false if it was already installed or wasm is absent. */
export function installBlasMatMul(blas: Blas): boolean {
  if (installed) return false;
  installed = replaceWasmKernel(tf.BatchMatMul, (inputs, backend, attrs, stock) => {
    const { a, b } = inputs;
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    const M = transposeA ? a.shape.at(-1)! : a.shape.at(-2)!;
    const K = transposeA ? a.shape.at(-2)! : a.shape.at(-1)!;
    const N = transposeB ? b.shape.at(-2)! : b.shape.at(-1)!;
    const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
    const sameOrBroadcast = batchA === batchB || batchA === 1 || batchB === 1;
    if (a.dtype !== "float32" || b.dtype !== "float32" || M * N * K < MIN_MACS || !sameOrBroadcast) {
      return stock();
    }
    const outerDims = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const out = backend.makeOutput([...outerDims, M, N], "float32");
    // Read the heap after makeOutput: an allocation may have grown (replaced) it.
    const heap = backend.wasm.HEAPF32;
    const aOff = heapOffset(backend, a);
    const bOff = heapOffset(backend, b);
    const cOff = heapOffset(backend, out);
    const batch = Math.max(batchA, batchB);
    for (let i = 0; i < batch; i++) {
      const ai = aOff + (batchA === 1 ? 0 : i) * M * K;
      const bi = bOff + (batchB === 1 ? 0 : i) * K * N;
      const ci = cOff + i * M * N;
      blas.sgemm(
        transposeA,
        transposeB,
        M,
        N,
        K,
        heap.subarray(ai, ai + M * K),
        heap.subarray(bi, bi + K * N),
        heap.subarray(ci, ci + M * N),
      );
    }
    return out;
  });
  return installed;
}

/**
 * Linear layers on the system BLAS, in the wasm heap:
 *
 * - `y = x·W + b` as one kernel: the bias is copied into every row of the
 *   output and the system BLAS accumulates the product on top (beta = 1).
 *   This saves a separate broadcast add per layer — and for a decoding step,
 *   where every op costs ~10 µs of tfjs bookkeeping, a quarter of the model's ops.
 * - `y = x·Wᵀ` (the LM head tied to the token embeddings) as the product
 *   tfjs' BatchMatMul kernel makes of it (blas_matmul_kernel.ts), under its
 *   own name so that its gradient can be the one below.
 * - Their gradients dx, dW (and db) in one kernel, where the BLAS offers it
 *   (pooled_blas.ts: the two products side by side on the pool's threads);
 *   the same sums as the products and row sum tfjs' gradients make one by one.
 */
import { tf } from "../tf.ts";
import { LINEAR, LINEAR_GRAD, MATMUL_TRANSPOSE_B } from "./kernel_names.ts";
import type { Blas } from "./openblas.ts";
import { f32View, registerWasmKernel } from "./wasm_heap.ts";

let installed = false;

export function installLinearKernel(blas: Blas): boolean {
  if (installed || !tf.getKernel(tf.BatchMatMul, "wasm")) return false;
  registerWasmKernel(LINEAR, ({ x, weight, bias }, backend) => {
    const [N, K] = x.shape;
    const M = weight.shape[1];
    if (x.shape.length !== 2 || weight.shape.length !== 2 || weight.shape[0] !== K || bias.shape.join() !== String(M)) {
      throw new Error(`${LINEAR}: expected x [N, K], weight [K, M], bias [M]; got [${x.shape}], [${weight.shape}], [${bias.shape}]`);
    }
    const out = backend.makeOutput([N, M], "float32");
    const y = f32View(backend, out);
    const b = f32View(backend, bias);
    if (blas.linear) {
      blas.linear(N, M, K, f32View(backend, x), f32View(backend, weight), b, y);
    } else {
      for (let row = 0; row < N; row++) y.set(b, row * M);
      blas.sgemm(false, false, N, M, K, f32View(backend, x), f32View(backend, weight), y, 1);
    }
    return out;
  });
  const { linearGrad } = blas;
  if (linearGrad) {
    registerWasmKernel(MATMUL_TRANSPOSE_B, ({ x, weight }, backend) => {
      const [N, K] = x.shape;
      const M = weight.shape[0];
      if (x.shape.length !== 2 || weight.shape.length !== 2 || weight.shape[1] !== K) {
        throw new Error(`${MATMUL_TRANSPOSE_B}: expected x [N, K], weight [M, K]; got [${x.shape}], [${weight.shape}]`);
      }
      const out = backend.makeOutput([N, M], "float32");
      blas.sgemm(false, true, N, M, K, f32View(backend, x), f32View(backend, weight), f32View(backend, out));
      return out;
    });
    registerWasmKernel(LINEAR_GRAD, ({ x, weight, dy }, backend, attrs) => {
      const wTransposed = attrs.wTransposed === true;
      const [rows, K] = x.shape;
      const M = wTransposed ? weight.shape[0] : weight.shape[1];
      if (dy.shape.join() !== `${rows},${M}`) {
        throw new Error(`${LINEAR_GRAD}: expected dy [${rows}, ${M}] for x [${x.shape}] and weight [${weight.shape}]; got [${dy.shape}]`);
      }
      const dx = backend.makeOutput(x.shape, "float32");
      const dw = backend.makeOutput(weight.shape, "float32");
      const db = attrs.bias === true ? backend.makeOutput([M], "float32") : undefined;
      const v = (t: tf.TensorInfo) => f32View(backend, t);
      linearGrad(rows, K, M, wTransposed, v(x), v(weight), v(dy), v(dx), v(dw), db ? v(db) : null);
      return db ? [dx, dw, db] : [dx, dw];
    });
  }
  installed = true;
  return true;
}

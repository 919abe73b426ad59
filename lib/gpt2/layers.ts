/**
 * The small building blocks of GPT-2, as pure functions of tensors.
 * Each matches the Hugging Face GPT-2 definition it is named after.
 */
import { tf } from "../tf.ts";
import { fusedGeluNew, fusedKernelAvailable, fusedLayerNorm, fusedLinear } from "../fast/fused_ops.ts";
import { GELU_NEW, LAYER_NORM, LINEAR } from "../fast/kernel_names.ts";
import { blasMatMulActive } from "../fast/blas_matmul_kernel.ts";

/**
 * LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · weight + bias,
 * with the biased variance, as `torch.nn.LayerNorm`. One fused kernel where
 * the backend has it (lib/fast), else the composite below.
 */
export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  return fusedKernelAvailable(LAYER_NORM) ? fusedLayerNorm(x, weight, bias, eps) : layerNormComposite(x, weight, bias, eps);
}

/** LayerNorm from tfjs ops (every backend; the reference for the fused kernel). */
export function layerNormComposite(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, weight), bias);
  });
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * GELU with the tanh approximation, HF's "gelu_new": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
 * One fused kernel where the backend has it (lib/fast), else the composite below.
 */
export function geluNew(x: tf.Tensor): tf.Tensor {
  return fusedKernelAvailable(GELU_NEW) ? fusedGeluNew(x) : geluNewComposite(x);
}

/** gelu_new from tfjs ops (every backend; the reference for the fused kernel). */
export function geluNewComposite(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    // x·x·x rather than pow(x, 3): the same value, and pow is several times slower here.
    const inner = tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

/**
 * HF `Conv1D`: y = x·W + b with W stored as [in, out] (the transpose of
 * `nn.Linear`). x is [N, in]; a 2-D non-transposed matmul is the fast path
 * on every backend.
 */
export function conv1d(x2d: tf.Tensor2D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  if (fusedKernelAvailable(LINEAR)) return fusedLinear(x2d, weight as tf.Tensor2D, bias as tf.Tensor1D);
  return tf.tidy(() => tf.add(matMul2d(x2d, weight as tf.Tensor2D), bias));
}

/**
 * a·b for 2-D a [M, K] and b [K, N], with a gradient made of non-transposed
 * matmuls (da = dy·bᵀ, db = aᵀ·dy with explicit transposes).
 *
 * Why: tfjs' own matMul gradient uses transposed matmuls, which the stock
 * wasm backend runs ~10× slower than plain ones (they miss its XNNPACK
 * path); an explicit transpose is cheap by comparison. Where matmuls run on
 * the system BLAS (lib/fast), a transposed operand is free and tfjs' own
 * gradient is used. The values are the same.
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (blasMatMulActive()) return tf.matMul(a, b);
  const product = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w] = args as [tf.Tensor2D, tf.Tensor2D];
    (args[2] as tf.GradSaveFunc)([x, w]);
    return {
      value: tf.matMul(x, w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sw)), tf.matMul(tf.transpose(sx), dy as tf.Tensor2D)];
      },
    };
  });
  return product(a, b) as tf.Tensor2D;
}

/** a·bᵀ for 2-D a [M, K] and b [N, K] (the tied LM head), fast on every backend. */
export function matMul2dTransposeB(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  // Without BLAS an explicit transpose keeps the matmul (and its gradient) on the fast non-transposed path.
  return blasMatMulActive() ? tf.matMul(a, b, false, true) : matMul2d(a, tf.transpose(b));
}

/**
 * Embedding lookup `table[ids]` with a hand-written gradient.
 *
 * Why: tfjs' own gradient of `gather` uses UnsortedSegmentSum, which the wasm
 * backend lacks, and on the cpu backend it costs vocab × tokens × width. The
 * gradient of a lookup is a scatter-add of the upstream rows into the table's
 * shape; `scatterND` sums duplicate indices, which is exactly that.
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  // customGrad passes (...inputs, save); our one input is the table. The ids
  // are saved for the backward pass: the forward's tidy frees them otherwise.
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([ids]);
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(tf.expandDims(saved[0], 1), dy, t.shape),
    };
  });
  return lookup(table) as tf.Tensor2D;
}

/** Inverted dropout when `rate > 0` (training only); identity otherwise. */
export function dropout(x: tf.Tensor, rate: number, seed?: number): tf.Tensor {
  return rate > 0 ? tf.dropout(x, rate, undefined, seed === undefined ? undefined : tfjsSeed(seed)) : x;
}

/**
 * A seed tfjs' random ops really honour. They test the seed for truthiness, so
 * a seed of 0 silently means "random"; map every integer to 1..2³¹−1.
 */
export function tfjsSeed(seed: number): number {
  return (Math.abs(Math.floor(seed)) % 2147483646) + 1;
}

/**
 * The small building blocks of GPT-2, as pure functions of tensors: the math,
 * in tfjs ops. Each matches the Hugging Face GPT-2 definition it is named
 * after; where the backend has a faster way to compute the same thing
 * (lib/ops/fast_path.ts), that one runs instead.
 */
import { tf } from "../tf.ts";
import { withFastPath } from "../ops/fast_path.ts";

/** LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · weight + bias, with the biased variance, as `torch.nn.LayerNorm`. */
export const layerNorm = withFastPath("layerNorm", (x, weight, bias, eps) =>
  tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, weight), bias);
  }));

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU with the tanh approximation, HF's "gelu_new": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export const geluNew = withFastPath("geluNew", (x) =>
  tf.tidy(() => {
    // x·x·x rather than pow(x, 3): the same value, and pow is several times slower here.
    const inner = tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  }));

/** HF `Conv1D`: y = x·W + b with W stored as [in, out] (the transpose of `nn.Linear`); x is [N, in]. */
export const linear = withFastPath("linear", (x, weight, bias) => tf.tidy(() => tf.add(tf.matMul(x, weight), bias)));

/** a·bᵀ for a [M, K] and b [N, K]: the LM head tied to the token embeddings. */
export const matMulTransposeB = withFastPath("matMulTransposeB", (a, b) => tf.matMul(a, b, false, true));

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

/**
 * Cross-entropy of next-token predictions, optionally weighted by a mask
 * (SFT trains only on the assistant's tokens).
 */
import { tf } from "../tf.ts";
import { withFastPath } from "../ops/fast_path.ts";

/**
 * Mean cross-entropy of `logits` [B, T, V] against int32 `targets` [B, T].
 * With `mask` [B, T] (1 = counts, 0 = ignored) the mean is over counted
 * positions only (a batch with nothing counted gives 0, not NaN).
 *
 * @example
 * ```ts
 * import { createGPT2, crossEntropy, logits, resolveGPT2Config, tf } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const inputs = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
 * const targets = tf.tensor2d([[2, 3, 4]], [1, 3], "int32"); // the next token at each position
 * const loss = crossEntropy(logits(model, inputs), targets); // ≈ ln 16 ≈ 2.77 for a fresh model
 * // SFT counts only the assistant's tokens: mask 1 where they are.
 * const sft = crossEntropy(logits(model, inputs), targets, tf.tensor2d([[0, 1, 1]]));
 * ```
 */
export function crossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask?: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const N = B * T;
    const flatTargets = tf.cast(tf.reshape(targets, [N]), "int32") as tf.Tensor1D;
    const weights = mask ? tf.reshape(tf.cast(mask, "float32"), [N]) : tf.ones([N]);
    const perToken = tf.div(weights, tf.maximum(tf.sum(weights), 1)) as tf.Tensor1D; // [N], sums to 1 (or 0)
    return tf.sum(tf.mul(crossEntropyRows(tf.reshape(logits, [N, V]), flatTargets), perToken)) as tf.Scalar;
  });
}

/**
 * Per-row cross-entropy −log softmax(z)[target] = logsumexp(z) − z[target] of logits [N, V] against
 * int32 targets [N] → [N].
 *
 * Written with its gradient by hand, softmax(z) − onehot(target), because autograd through log-softmax
 * makes several passes over the [N, V] logits, the largest tensor of a small model's step; the values
 * are the same.
 */
export const crossEntropyRows = withFastPath("crossEntropyRows", (logits, targets) => {
  const [N, V] = logits.shape;
  const rows = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const z = args[0] as tf.Tensor2D;
    const lse = tf.logSumExp(z, 1); // [N]
    // The target logit of each row, read from the flattened logits (no gradient needed here).
    const rowStart = tf.mul(tf.range(0, N, 1, "int32"), tf.scalar(V, "int32"));
    const picked = tf.gather(tf.reshape(z, [N * V]), tf.add(rowStart, targets));
    // Everything the backward pass reads is saved: an enclosing tidy frees the rest.
    (args[1] as tf.GradSaveFunc)([z, lse, targets]);
    return {
      value: tf.sub(lse, picked),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sz, slse, sTargets] = saved;
        const softmax = tf.exp(tf.sub(sz, tf.expandDims(slse, 1))); // [N, V]
        return tf.mul(tf.sub(softmax, tf.oneHot(sTargets as tf.Tensor1D, V)), tf.expandDims(dy, 1));
      },
    };
  });
  return rows(logits) as tf.Tensor1D;
});

/**
 * Cross-entropy of next-token predictions, optionally weighted by a mask
 * (SFT trains only on the assistant's tokens).
 */
import { tf } from "../tf.ts";
import { fusedCrossEntropyRows, fusedKernelAvailable } from "../fast/fused_ops.ts";
import { CROSS_ENTROPY } from "../fast/kernel_names.ts";

/**
 * Mean cross-entropy of `logits` [B, T, V] against int32 `targets` [B, T].
 * With `mask` [B, T] (1 = counts, 0 = ignored) the mean is over counted
 * positions only (a batch with nothing counted gives 0, not NaN).
 *
 * Written with its gradient by hand, (softmax − onehot) · weight, because
 * autograd through log-softmax makes several passes over the [B·T, V] logits,
 * the largest tensor of a small model's step; the values are the same.
 */
export function crossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask?: tf.Tensor2D): tf.Scalar {
  return crossEntropyImpl(logits, targets, mask, fusedKernelAvailable(CROSS_ENTROPY));
}

/** The same loss from tfjs ops only (every backend; the reference for the fused kernel). */
export function crossEntropyComposite(logits: tf.Tensor3D, targets: tf.Tensor2D, mask?: tf.Tensor2D): tf.Scalar {
  return crossEntropyImpl(logits, targets, mask, false);
}

function crossEntropyImpl(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D | undefined, fused: boolean): tf.Scalar {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const N = B * T;
    const flatTargets = tf.cast(tf.reshape(targets, [N]), "int32") as tf.Tensor1D;
    const weights = mask ? tf.reshape(tf.cast(mask, "float32"), [N]) : tf.ones([N]);
    const perToken = tf.div(weights, tf.maximum(tf.sum(weights), 1)) as tf.Tensor1D; // [N], sums to 1 (or 0)
    if (fused) {
      // One native pass per row for the loss, one for the gradient (lib/fast).
      return tf.sum(tf.mul(fusedCrossEntropyRows(tf.reshape(logits, [N, V]), flatTargets), perToken)) as tf.Scalar;
    }
    const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const z = args[0] as tf.Tensor2D; // [N, V]
      const lse = tf.logSumExp(z, 1); // [N]
      // The target logit of each row, read from the flattened logits (no gradient needed here).
      const rowStart = tf.mul(tf.range(0, N, 1, "int32"), tf.scalar(V, "int32"));
      const picked = tf.gather(tf.reshape(z, [N * V]), tf.add(rowStart, flatTargets));
      // Everything the backward pass reads is saved: the enclosing tidy frees the rest.
      (args[1] as tf.GradSaveFunc)([z, lse, flatTargets, perToken]);
      return {
        value: tf.sum(tf.mul(tf.sub(lse, picked), perToken)),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sz, slse, sTargets, sPerToken] = saved;
          const softmax = tf.exp(tf.sub(sz, tf.expandDims(slse, 1))); // [N, V]
          const d = tf.sub(softmax, tf.oneHot(sTargets as tf.Tensor1D, V));
          return tf.mul(d, tf.expandDims(tf.mul(sPerToken, dy), 1));
        },
      };
    });
    return loss(tf.reshape(logits, [N, V])) as tf.Scalar;
  });
}

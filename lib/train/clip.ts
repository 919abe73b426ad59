/**
 * Gradient clipping by the global norm, as `torch.nn.utils.clip_grad_norm_`.
 */
import { tf } from "../tf.ts";
import { withFastPath } from "../ops/fast_path.ts";

/**
 * Scales all gradients by min(1, maxNorm / (‖g‖ + 1e-6)), where ‖g‖ is the
 * L2 norm of all gradients together. Returns new tensors and the norm before
 * clipping (the caller disposes them). `maxNorm = Infinity` only measures: the
 * gradients come back as they are (the same tensors), not multiplied by 1.
 *
 * @example
 * ```ts
 * import { clipByGlobalNorm, tf } from "rlhf";
 * const { grads, norm } = clipByGlobalNorm({ a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }, 1);
 * norm.dataSync()[0]; // 5: the norm of all gradients together, before clipping
 * grads.a.dataSync(); // Float32Array [0.6, 0]: every gradient scaled by 1/5
 * ```
 */
export function clipByGlobalNorm(
  grads: Record<string, tf.Tensor>,
  maxNorm: number,
): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = globalNorm(Object.values(grads));
    if (maxNorm === Infinity) return { grads, norm };
    const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    const clipped: Record<string, tf.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) clipped[name] = tf.mul(g, coef);
    return { grads: clipped, norm };
  });
}

/** √(Σ ‖g‖²) over every gradient. */
export const globalNorm = withFastPath(
  "globalNorm",
  (tensors) => tf.tidy(() => tf.sqrt(tf.addN(tensors.map((g) => tf.sum(tf.square(g))))) as tf.Scalar),
);

/**
 * Gradient clipping by the global norm, as `torch.nn.utils.clip_grad_norm_`.
 */
import { tf } from "../tf.ts";

/**
 * Scales all gradients by min(1, maxNorm / (‖g‖ + 1e-6)), where ‖g‖ is the
 * L2 norm of all gradients together. Returns new tensors and the norm before
 * clipping (the caller disposes them). `maxNorm = Infinity` only measures.
 */
export function clipByGlobalNorm(
  grads: Record<string, tf.Tensor>,
  maxNorm: number,
): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    const clipped: Record<string, tf.Tensor> = {};
    for (const [name, g] of Object.entries(grads)) clipped[name] = tf.mul(g, coef);
    return { grads: clipped, norm };
  });
}

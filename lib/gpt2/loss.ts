/**
 * Cross-entropy of next-token predictions, optionally weighted by a mask
 * (SFT trains only on the assistant's tokens).
 */
import { tf } from "../tf.ts";

/**
 * Mean cross-entropy of `logits` [B, T, V] against int32 `targets` [B, T].
 * With `mask` [B, T] (1 = counts, 0 = ignored) the mean is over counted
 * positions only. Uses one-hot · log-softmax so its gradient needs no gather
 * kernel (wasm has none for gather's gradient).
 */
export function crossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask?: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const logp = tf.logSoftmax(tf.reshape(logits, [B * T, V])); // [B*T, V]
    const onehot = tf.oneHot(tf.reshape(targets, [B * T]), V); // [B*T, V]
    const nll = tf.neg(tf.sum(tf.mul(logp, onehot), 1)); // [B*T]
    if (!mask) return tf.mean(nll) as tf.Scalar;
    const m = tf.reshape(tf.cast(mask, "float32"), [B * T]);
    // max(…, 1): a batch with nothing to learn gives 0, not NaN.
    return tf.div(tf.sum(tf.mul(nll, m)), tf.maximum(tf.sum(m), 1)) as tf.Scalar;
  });
}

/**
 * PPO's clipped objectives (tf ops, differentiated through the policy), with
 * the statistics logged under their usual names.
 *
 *   ratio = exp(log π_new − log π_old)
 *   policy loss = mean_masked( max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)) )
 *   value loss  = ½ · mean_masked( max((V − R)², (clip(V, V_old − ε_v, V_old + ε_v) − R)²) )
 */
import { tf } from "../tf.ts";

function maskedMeanT(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

/**
 * PPO's clipped policy loss (above) over the masked tokens, with the share of tokens clipped, the approximate KL
 * ½ (log ratio)² and the mean ratio.
 *
 * @example
 * ```ts
 * import { clippedPolicyLoss, tf } from "rlhf";
 * // A token whose probability rose from 0.4 to 0.6 (ratio 1.5) with advantage 1: the gain counts only up to 1 + ε.
 * const { loss, clipfrac } = clippedPolicyLoss(tf.tensor2d([[Math.log(0.6)]]), tf.tensor2d([[Math.log(0.4)]]), tf.tensor2d([[1]]), tf.tensor2d([[1]]));
 * loss.dataSync()[0]; // -1.2
 * clipfrac.dataSync()[0]; // 1
 * ```
 */
export function clippedPolicyLoss(
  newLogp: tf.Tensor2D,
  oldLogp: tf.Tensor2D,
  advantages: tf.Tensor2D,
  mask: tf.Tensor2D,
  clipRange = 0.2,
): { loss: tf.Scalar; clipfrac: tf.Scalar; approxkl: tf.Scalar; ratio: tf.Scalar } {
  return tf.tidy(() => {
    const logRatio = tf.sub(newLogp, oldLogp);
    const ratio = tf.exp(logRatio);
    const unclipped = tf.mul(tf.neg(advantages), ratio);
    const clipped = tf.mul(tf.neg(advantages), tf.clipByValue(ratio, 1 - clipRange, 1 + clipRange));
    const loss = maskedMeanT(tf.maximum(unclipped, clipped), mask);
    const clipfrac = maskedMeanT(tf.cast(tf.greater(clipped, unclipped), "float32"), mask);
    const approxkl = maskedMeanT(tf.mul(0.5, tf.square(logRatio)), mask);
    return { loss, clipfrac, approxkl, ratio: maskedMeanT(ratio, mask) };
  });
}

/**
 * PPO's clipped value loss (above) over the masked tokens, and the share of tokens where the clipped prediction counts.
 *
 * @example
 * ```ts
 * import { clippedValueLoss, tf } from "rlhf";
 * // The value moved from 0 to 1 towards a return of 2: only the clipped move, to 0.2, counts.
 * const { loss } = clippedValueLoss(tf.tensor2d([[1]]), tf.tensor2d([[0]]), tf.tensor2d([[2]]), tf.tensor2d([[1]]));
 * loss.dataSync()[0]; // 1.62 = ½ · (0.2 − 2)²
 * ```
 */
export function clippedValueLoss(
  values: tf.Tensor2D,
  oldValues: tf.Tensor2D,
  returns: tf.Tensor2D,
  mask: tf.Tensor2D,
  clipRange = 0.2,
): { loss: tf.Scalar; clipfrac: tf.Scalar } {
  return tf.tidy(() => {
    const clippedValues = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -clipRange, clipRange));
    const lossUnclipped = tf.square(tf.sub(values, returns));
    const lossClipped = tf.square(tf.sub(clippedValues, returns));
    return {
      loss: tf.mul(0.5, maskedMeanT(tf.maximum(lossUnclipped, lossClipped), mask)) as tf.Scalar,
      clipfrac: maskedMeanT(tf.cast(tf.greater(lossClipped, lossUnclipped), "float32"), mask),
    };
  });
}

/**
 * The KL between the policy and the frozen reference, estimated on the policy's own samples. Per token,
 * with r = log π(y_t) − log π_ref(y_t) for the sampled token (Schulman, "Approximating KL divergence"):
 *
 *   k1 = r                   unbiased, can be negative on a token; the default everywhere
 *   k3 = (e^{−r} − 1) + r    unbiased, never negative, lower variance
 *
 * An answer's KL is the sum over its tokens: the sequence KL that PPO's penalty, the held-out view and the
 * frontier of methods all measure. GRPO puts β × the mean k3 per token into its loss (`k3Tensor`).
 */
import { tf } from "../tf.ts";
import type { Matrix } from "./sequence_batch.ts";

export type KlEstimator = "k1" | "k3";

/**
 * One token's estimate from its log-probs under the policy and the reference.
 *
 * @example
 * ```ts
 * import { klPerToken } from "rlhf";
 * klPerToken(-1.0, -1.5); // 0.5: k1 = log π − log π_ref
 * klPerToken(-1.0, -1.5, "k3"); // 0.107: e^(−0.5) − 1 + 0.5, never negative
 * ```
 */
export function klPerToken(logp: number, logpRef: number, estimator: KlEstimator = "k1"): number {
  const r = logp - logpRef;
  return estimator === "k1" ? r : Math.expm1(-r) + r;
}

/**
 * Each answer's KL: the sum of the per-token estimates over the tokens where `mask` is 1.
 *
 * @example
 * ```ts
 * import { sequenceKl } from "rlhf";
 * sequenceKl([[-1, -2, -9]], [[-1.5, -2, -3]], [[1, 1, 0]]); // [0.5]: summed over the answer's two tokens, not the padding
 * ```
 */
export function sequenceKl(logp: Matrix, logpRef: Matrix, mask: Matrix, estimator: KlEstimator = "k1"): number[] {
  return logp.map((row, b) => row.reduce((sum, lp, t) => sum + (mask[b][t] ? klPerToken(lp, logpRef[b][t], estimator) : 0), 0));
}

/**
 * k3 per token on tensors, differentiable in `logp` (GRPO's KL loss): e^{ref − logp} − (ref − logp) − 1.
 * Call inside tf.tidy / a gradient closure (its intermediates belong to the caller's scope).
 *
 * @example
 * ```ts
 * import { k3Tensor, tf } from "rlhf";
 * k3Tensor(tf.tensor2d([[-1]]), tf.tensor2d([[-1.5]])).dataSync(); // [0.107], as klPerToken(-1, -1.5, "k3")
 * ```
 */
export function k3Tensor(logp: tf.Tensor2D, ref: tf.Tensor2D): tf.Tensor2D {
  const d = tf.sub(ref, logp);
  return tf.sub(tf.sub(tf.exp(d), d), 1) as tf.Tensor2D;
}

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

/** One token's estimate from its log-probs under the policy and the reference. */
export function klPerToken(logp: number, logpRef: number, estimator: KlEstimator = "k1"): number {
  const r = logp - logpRef;
  return estimator === "k1" ? r : Math.expm1(-r) + r;
}

/** Each answer's KL: the sum of the per-token estimates over the tokens where `mask` is 1. */
export function sequenceKl(logp: Matrix, logpRef: Matrix, mask: Matrix, estimator: KlEstimator = "k1"): number[] {
  return logp.map((row, b) => row.reduce((sum, lp, t) => sum + (mask[b][t] ? klPerToken(lp, logpRef[b][t], estimator) : 0), 0));
}

/**
 * k3 per token on tensors, differentiable in `logp` (GRPO's KL loss): e^{ref − logp} − (ref − logp) − 1.
 * Call inside tf.tidy / a gradient closure (its intermediates belong to the caller's scope).
 */
export function k3Tensor(logp: tf.Tensor2D, ref: tf.Tensor2D): tf.Tensor2D {
  const d = tf.sub(ref, logp);
  return tf.sub(tf.sub(tf.exp(d), d), 1) as tf.Tensor2D;
}

/**
 * Direct Preference Optimization (Rafailov et al., 2023). The RLHF objective
 * max E[r] − β KL(π ‖ π_ref) has the closed-form optimum
 * π*(y|x) ∝ π_ref(y|x) exp(r(x, y) / β); read backwards, every policy defines
 * an implicit reward r̂(x, y) = β (log π(y|x) − log π_ref(y|x)) (up to a term
 * of x alone). Putting r̂ into the reward model's Bradley–Terry loss gives a
 * loss on the policy itself — no reward model, no sampling:
 *
 *   L = −log σ( r̂(x, y_w) − r̂(x, y_l) )
 *     = −log σ( β [(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))] )
 *
 * log π(y|x) is summed over the response's tokens only (the prompt and the
 * padding are masked), with dropout off in both models.
 */
import { tf } from "../tf.ts";
import { logits } from "../gpt2/forward.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { LMBatch } from "../data/lm_batches.ts";
import { batchTensors } from "../train/train_step.ts";
import { truncatedLogprobs } from "../rollout/logprobs.ts";

/**
 * log π(response | prompt) of each row of a next-token batch: the sum of
 * log p(target) over the positions where `mask` is 1 (the response's tokens).
 */
export function sequenceLogprobs(model: GPT2Model, batch: LMBatch): tf.Tensor1D {
  return tf.tidy(() => {
    const t = batchTensors(batch);
    if (!t.mask) throw new Error("sequenceLogprobs: the batch needs a mask (1 on the response's tokens)");
    const [B, T] = t.ids.shape;
    const z = logits(model, t.ids); // [B, T, V]
    const V = z.shape[2];
    const perToken = truncatedLogprobs(tf.reshape(z, [B * T, V]) as tf.Tensor2D, tf.reshape(t.targets, [B * T]) as tf.Tensor1D);
    return tf.sum(tf.mul(tf.reshape(perToken, [B, T]), t.mask), 1) as tf.Tensor1D;
  });
}

/** The statistics of a DPO batch, under TRL's names. */
export interface DpoStats {
  /** mean β (log π − log π_ref) of the chosen answers: their implicit reward */
  readonly "rewards/chosen": number;
  readonly "rewards/rejected": number;
  /** share of pairs whose chosen answer has the higher implicit reward */
  readonly "rewards/accuracies": number;
  /** mean implicit reward of chosen − rejected */
  readonly "rewards/margins": number;
  /** mean log π(y_w|x) */
  readonly "logps/chosen": number;
  readonly "logps/rejected": number;
}

/**
 * The DPO loss (mean over pairs) from the four sequence log-prob vectors [P],
 * and the implicit rewards β (log π − log π_ref) of chosen and rejected.
 */
export function dpoLoss(
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  referenceChosen: tf.Tensor1D,
  referenceRejected: tf.Tensor1D,
  beta: number,
): { loss: tf.Scalar; chosenRewards: tf.Tensor1D; rejectedRewards: tf.Tensor1D } {
  return tf.tidy(() => {
    const chosenRewards = tf.mul(beta, tf.sub(policyChosen, referenceChosen)) as tf.Tensor1D;
    const rejectedRewards = tf.mul(beta, tf.sub(policyRejected, referenceRejected)) as tf.Tensor1D;
    const loss = tf.mean(tf.softplus(tf.neg(tf.sub(chosenRewards, rejectedRewards)))) as tf.Scalar; // −log σ(m) = softplus(−m)
    return { loss, chosenRewards, rejectedRewards };
  });
}

/** TRL's statistics from the values of one batch. */
export function dpoStats(chosenRewards: number[], rejectedRewards: number[], policyChosen: number[], policyRejected: number[]): DpoStats {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    "rewards/chosen": mean(chosenRewards),
    "rewards/rejected": mean(rejectedRewards),
    "rewards/accuracies": mean(chosenRewards.map((c, i) => (c > rejectedRewards[i] ? 1 : 0))),
    "rewards/margins": mean(chosenRewards.map((c, i) => c - rejectedRewards[i])),
    "logps/chosen": mean(policyChosen),
    "logps/rejected": mean(policyRejected),
  };
}

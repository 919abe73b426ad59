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
import { gpt2Hidden, lmHeadAt, logits } from "../gpt2/forward.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { countedPositions, type LMBatch } from "../data/lm_batches.ts";
import { batchTensors } from "../train/train_step.ts";
import { truncatedLogprobs } from "../rollout/logprobs.ts";

/**
 * log π(response | prompt) of each row of a next-token batch: the sum of
 * log p(target) over the positions where `mask` is 1 (the response's tokens).
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, createGPT2, encodeChat, resolveGPT2Config, sequenceLogprobs, sftBatch } from "rlhf";
 * const tok = buildCharVocab(["写诗春风秋雨"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * const model = createGPT2(resolveGPT2Config({ vocab_size: tok.vocabSize, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const answer = (content: string) => encodeChat([{ role: "user", content: "写诗" }, { role: "assistant", content }], tok);
 * const logp = sequenceLogprobs(model, sftBatch([answer("春风"), answer("秋雨")], tok.eosId));
 * logp.shape; // [2]: log π(answer | request) of each, summed over the answer's tokens (春 风 <|end|>)
 * ```
 */
export function sequenceLogprobs(model: GPT2Model, batch: LMBatch): tf.Tensor1D {
  const { mask } = batch;
  if (!mask) throw new Error("sequenceLogprobs: the batch needs a mask (1 on the response's tokens)");
  const B = batch.ids.length;
  // The LM head (V columns: about half of a step's work) runs only where the mask is 1, the response's
  // tokens: the prompt and the padding, often half the positions, are never projected to the vocabulary.
  const { at, rows, targets } = countedPositions({ ...batch, mask });
  return tf.tidy(() => {
    if (at.length === 0) return tf.zeros([B]) as tf.Tensor1D;
    const hidden = gpt2Hidden(model, tf.tensor2d(batch.ids, undefined, "int32")); // [B, T, C]
    const z = lmHeadAt(model, hidden, at); // [N, V]
    const perToken = truncatedLogprobs(z, tf.tensor1d(targets, "int32")); // [N]
    // Σ over each row's tokens: [B, N] one-hot of the rows · [N, 1].
    const byRow = tf.transpose(tf.cast(tf.oneHot(tf.tensor1d(rows, "int32"), B), "float32")) as tf.Tensor2D;
    return tf.reshape(tf.matMul(byRow, tf.expandDims(perToken, 1) as tf.Tensor2D), [B]) as tf.Tensor1D;
  });
}

/**
 * The same sum over the full [B, T, V] logits, masked afterwards: the plain formula, which
 * `sequenceLogprobs` must equal (tests/dpo_test.ts).
 */
export function sequenceLogprobsComposite(model: GPT2Model, batch: LMBatch): tf.Tensor1D {
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
 *
 * @example
 * ```ts
 * import { dpoLoss, tf } from "rlhf";
 * // log π(answer | prompt) of two pairs, under the policy and under the frozen reference
 * const { loss, chosenRewards } = dpoLoss(
 *   tf.tensor1d([-10, -12]), // policy, chosen
 *   tf.tensor1d([-14, -12]), // policy, rejected
 *   tf.tensor1d([-11, -12]), // reference, chosen
 *   tf.tensor1d([-13, -12]), // reference, rejected
 *   0.1,
 * );
 * chosenRewards.dataSync(); // [0.1, 0]: β (log π − log π_ref) of each chosen answer
 * loss.dataSync()[0]; // 0.646: the mean of −log σ(0.2) and −log σ(0)
 * ```
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

/**
 * TRL's statistics from the values of one batch.
 *
 * @example
 * ```ts
 * import { dpoStats } from "rlhf";
 * dpoStats([0.1, 0], [-0.1, 0], [-10, -12], [-14, -12]);
 * // { "rewards/chosen": 0.05, "rewards/rejected": -0.05, "rewards/accuracies": 0.5, "rewards/margins": 0.1,
 * //   "logps/chosen": -11, "logps/rejected": -13 }
 * ```
 */
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

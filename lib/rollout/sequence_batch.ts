/**
 * Prompts and their sampled answers as one batch of token rows, and what a model says about the answer
 * tokens: their log-probs under the sampling distribution and (with a value head) the values of the states
 * before them. PPO, RLOO/GRPO, DPO's sibling methods and the held-out evaluation all score answers here.
 */
import { tf } from "../tf.ts";
import { gpt2Hidden, lmHead } from "../gpt2/forward.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { SamplingOptions } from "../generate/sampling.ts";
import { logprobsAndEntropy } from "./logprobs.ts";

/** [batch][time] numbers (per answer, per answer token). */
export type Matrix = number[][];

/** A value head `Linear(C, 1)` on the model's last hidden states (PPO's critic). */
export interface ValueHead {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
}

/**
 * Query + response token rows, as one batch: each row is
 * [left padding | prompt | response | right padding]; the prompt part has
 * length P for every row (left-padded) and the response part length R.
 */
export interface SequenceBatch {
  readonly ids: number[][]; // [B, P + R]
  readonly attentionMask: number[][]; // 1 on prompt and response tokens
  readonly positionIds: number[][]; // positions from each row's first real token
  readonly promptLength: number; // P
  readonly responseLength: number; // R
  readonly responseTokens: number[][]; // [B, R], padded
  readonly responseMask: number[][]; // [B, R], 1 on real response tokens
}

/**
 * Builds a SequenceBatch from prompts and their responses. `minLengths` pads
 * further, so that a minibatch lines up with the [B, R] arrays of its batch.
 *
 * @example
 * ```ts
 * import { sequenceBatch } from "rlhf";
 * const batch = sequenceBatch([[1, 2], [1, 2, 4]], [[5, 3], [6]], 0);
 * batch.ids; // [[0, 1, 2, 5, 3], [1, 2, 4, 6, 0]]: prompts left-padded, answers right-padded
 * batch.responseMask; // [[1, 1], [1, 0]]
 * ```
 */
export function sequenceBatch(
  prompts: readonly number[][],
  responses: readonly number[][],
  padId: number,
  minLengths: { prompt?: number; response?: number } = {},
): SequenceBatch {
  const P = Math.max(minLengths.prompt ?? 0, ...prompts.map((p) => p.length));
  const R = Math.max(1, minLengths.response ?? 0, ...responses.map((r) => r.length));
  const ids: number[][] = [];
  const attentionMask: number[][] = [];
  const positionIds: number[][] = [];
  const responseTokens: number[][] = [];
  const responseMask: number[][] = [];
  prompts.forEach((prompt, b) => {
    const pad = P - prompt.length;
    const response = responses[b];
    const tail = R - response.length;
    ids.push([...Array(pad).fill(padId), ...prompt, ...response, ...Array(tail).fill(padId)]);
    attentionMask.push([...Array(pad).fill(0), ...Array(prompt.length + response.length).fill(1), ...Array(tail).fill(0)]);
    positionIds.push(ids[b].map((_, j) => Math.max(0, j - pad)));
    responseTokens.push([...response, ...Array(tail).fill(padId)]);
    responseMask.push([...Array(response.length).fill(1), ...Array(tail).fill(0)]);
  });
  return { ids, attentionMask, positionIds, promptLength: P, responseLength: R, responseTokens, responseMask };
}

/**
 * Log-probs [B, R] of the response tokens under the sampling distribution of
 * `lm`, and (with a value head) the values [B, R] of the states before them.
 * Dropout is off. Call inside tf.tidy / variableGrads.
 *
 * @example
 * ```ts
 * import { createGPT2, evaluateResponses, resolveGPT2Config, sequenceBatch, tf } from "rlhf";
 * const lm = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const batch = sequenceBatch([[1, 2], [1, 2, 4]], [[5, 3], [6]], 0);
 * const logprobs = tf.tidy(() => evaluateResponses(lm, undefined, batch, { topP: 0.9 }).logprobs);
 * logprobs.shape; // [2, 2]: log π of each answer token, in the top-p distribution it would be sampled from
 * ```
 */
export function evaluateResponses(
  lm: GPT2Model,
  valueHead: ValueHead | undefined,
  batch: SequenceBatch,
  sampling: SamplingOptions,
  options: {
    entropy?: boolean;
    /**
     * Run the forward pass in training mode, dropout on with this seed. PPO never does (log-probs and
     * values must not change between two passes over the same tokens); notebook 03 shows what goes wrong if it did.
     */
    dropoutSeed?: number;
  } = {},
): { logprobs: tf.Tensor2D; values?: tf.Tensor2D; entropy?: tf.Tensor2D } {
  const B = batch.ids.length;
  const { promptLength: P, responseLength: R } = batch;
  const hidden = gpt2Hidden(lm, tf.tensor2d(batch.ids, undefined, "int32"), {
    attentionMask: tf.tensor2d(batch.attentionMask, undefined, "int32"),
    positionIds: tf.tensor2d(batch.positionIds, undefined, "int32"),
    ...(options.dropoutSeed === undefined ? {} : { training: true, seed: options.dropoutSeed }),
  }); // [B, P + R, C]
  // The state before response token t is position P − 1 + t.
  const states = tf.slice(hidden, [0, P - 1, 0], [B, R, -1]) as tf.Tensor3D; // [B, R, C]
  const logits = tf.reshape(lmHead(lm, states), [B * R, lm.config.vocab_size]) as tf.Tensor2D;
  const tokens = tf.tensor1d(batch.responseTokens.flat(), "int32");
  const scored = logprobsAndEntropy(logits, tokens, sampling, options.entropy === true);
  const logprobs = tf.reshape(scored.logprobs, [B, R]) as tf.Tensor2D;
  const C = lm.config.n_embd;
  const values = valueHead
    ? tf.reshape(tf.add(tf.matMul(tf.reshape(states, [B * R, C]) as tf.Tensor2D, valueHead.weight as tf.Tensor2D), valueHead.bias), [
      B,
      R,
    ]) as tf.Tensor2D
    : undefined;
  const entropy = scored.entropy && tf.reshape(scored.entropy, [B, R]) as tf.Tensor2D;
  return { logprobs, values, entropy };
}

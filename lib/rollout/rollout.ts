/**
 * Sampling answers and scoring them under two models: the first phases of every online method (PPO,
 * RLOO, GRPO) and of the held-out evaluation.
 *
 *   rollout                  sample answers with the KV cache (dropout off), stop at the end token
 *   underPolicyAndReference  each answer token's log-prob under the policy and under the frozen
 *                            reference (the sampling distribution), and with a value head the values
 */
import { tf } from "../tf.ts";
import { generate } from "../generate/generate.ts";
import type { SamplingOptions } from "../generate/sampling.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { Rng } from "../rng.ts";
import { evaluateResponses, type Matrix, type SequenceBatch, sequenceBatch, type ValueHead } from "./sequence_batch.ts";

/** Scores a batch of (prompt index, response tokens); higher is better. */
export type RewardFunction = (promptIndices: number[], responses: number[][]) => Promise<number[]>;

/** Phase 1's result. */
export interface Rollout {
  readonly prompts: readonly number[][];
  /** The sampled tokens of each response (may be empty). */
  readonly tokens: number[][];
  /** Whether each response produced the stop token. */
  readonly finished: boolean[];
  /** The responses as scored and trained: an empty one becomes [padId], so that it still has a state. */
  readonly responses: number[][];
  /** Prompts and responses padded into one batch. */
  readonly batch: SequenceBatch;
}

/**
 * Phase 1 of every online method: an answer to each prompt, sampled with the KV cache (dropout off) until
 * `stopId`, and the prompts and answers padded into one batch.
 *
 * @example
 * ```ts
 * import { createGPT2, resolveGPT2Config, Rng, rollout } from "rlhf";
 * const lm = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const config = { sampling: { temperature: 1 }, maxNewTokens: 6 };
 * const r = await rollout({ lm, prompts: [[1, 2], [1, 2, 4]], config, stopId: 3, padId: 0, rng: new Rng(0) });
 * r.tokens; // the two answers: up to 6 tokens each, ending with 3 where it was drawn
 * r.batch.responseMask; // 1 on each answer's tokens: the tokens PPO trains on
 * ```
 */
export async function rollout(o: {
  /** The language model that samples (the policy's). */
  lm: GPT2Model;
  prompts: readonly number[][];
  config: { readonly sampling: SamplingOptions; readonly maxNewTokens: number };
  stopId: number;
  padId: number;
  rng: Rng;
}): Promise<Rollout> {
  const generation = await generate(o.lm, o.prompts, {
    ...o.config.sampling,
    maxNewTokens: o.config.maxNewTokens,
    stopIds: [o.stopId],
    padId: o.padId,
    rng: o.rng,
  });
  const responses = generation.tokens.map((r) => (r.length ? r : [o.padId]));
  return {
    prompts: o.prompts,
    tokens: generation.tokens,
    finished: generation.finished,
    responses,
    batch: sequenceBatch(o.prompts, responses, o.padId),
  };
}

const toMatrix = async (t: tf.Tensor) => (await t.array()) as Matrix;

/**
 * The log-probs of each response token under the policy and under the frozen reference (both in the
 * sampling distribution), [B, R] each, and with a value head the values and the policy's entropy.
 * No gradients, dropout off. PPO's scoring phase, the group methods and the held-out evaluation (lib/eval) use it.
 *
 * @example
 * ```ts
 * import { cloneGPT2, createGPT2, resolveGPT2Config, Rng, rollout, underPolicyAndReference } from "rlhf";
 * const lm = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const reference = cloneGPT2(lm, { trainable: false });
 * const sampling = { topP: 0.9 };
 * const r = await rollout({ lm, prompts: [[1, 2]], config: { sampling, maxNewTokens: 6 }, stopId: 3, padId: 0, rng: new Rng(0) });
 * const { logp, refLogp } = await underPolicyAndReference({ lm, reference, batch: r.batch, sampling });
 * // logp[0][t] − refLogp[0][t] is 0 on every token: the policy has not moved from its reference yet
 * ```
 */
export async function underPolicyAndReference(o: {
  lm: GPT2Model;
  value?: ValueHead;
  reference: GPT2Model;
  batch: SequenceBatch;
  sampling: SamplingOptions;
}): Promise<{ logp: Matrix; refLogp: Matrix; values?: Matrix; entropy?: Matrix }> {
  const ev = tf.tidy(() => {
    const p = evaluateResponses(o.lm, o.value, o.batch, o.sampling, { entropy: o.value !== undefined });
    const ref = evaluateResponses(o.reference, undefined, o.batch, o.sampling);
    return [p.logprobs, ref.logprobs, ...(o.value ? [p.values!, p.entropy!] : [])];
  });
  const [logp, refLogp, values, entropy] = await Promise.all(ev.map(toMatrix));
  tf.dispose(ev);
  return { logp, refLogp, values, entropy };
}

/**
 * The reward model: a GPT-2 backbone (initialised from the SFT model) and a
 * `Linear(C, 1)` head read at the last real token of prompt + response.
 * Dropout is off (a reward must not depend on a random mask). After training,
 * rewards are normalised with a gain and bias so that SFT samples score mean
 * 0, std 1 (PPO's reward scale then does not depend on the RM run).
 */
import { tf, variableOf } from "../tf.ts";
import { gpt2Hidden } from "../gpt2/forward.ts";
import { cloneGPT2, disposeGPT2 } from "../gpt2/init.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { tfjsSeed } from "../gpt2/layers.ts";

export interface RewardModel {
  readonly backbone: GPT2Model;
  /** `score.weight` [C, 1] and `score.bias` [1]. */
  readonly head: { readonly weight: tf.Variable; readonly bias: tf.Variable };
  /** normalised = gain · raw + bias. */
  normalisation: { gain: number; bias: number };
}

/**
 * A reward model whose backbone is a trainable copy of `sft`; head ~ N(0, 1/√(C+1)), bias 0.
 *
 * @example
 * ```ts
 * import { createGPT2, createRewardModel, resolveGPT2Config } from "rlhf";
 * const sft = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const rm = createRewardModel(sft, { seed: 0 }); // a trainable copy of sft, and a Linear(8, 1) head
 * rm.head.weight.shape; // [8, 1]
 * ```
 */
export function createRewardModel(sft: GPT2Model, options: { seed?: number } = {}): RewardModel {
  const C = sft.config.n_embd;
  const weight = variableOf(() => tf.randomNormal([C, 1], 0, 1 / Math.sqrt(C + 1), "float32", tfjsSeed(options.seed ?? 0)));
  const bias = variableOf(() => tf.zeros([1]));
  return { backbone: cloneGPT2(sft, { trainable: true }), head: { weight, bias }, normalisation: { gain: 1, bias: 0 } };
}

/** All trainable variables of the reward model, keyed for the optimiser (HF names + `score.*`). */
export function rewardModelParams(rm: RewardModel): Record<string, tf.Variable> {
  return { ...rm.backbone.params, "score.weight": rm.head.weight, "score.bias": rm.head.bias };
}

/**
 * Raw rewards [B] of right-padded sequences `ids` [B, T] whose last real
 * token is at `lastIndex[b]`. The read-out is a one-hot weighted sum over
 * positions (differentiable on every backend, unlike a gather).
 *
 * @example
 * ```ts
 * import { createGPT2, createRewardModel, rawRewards, resolveGPT2Config, tf } from "rlhf";
 * const rm = createRewardModel(createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 })));
 * const ids = tf.tensor2d([[5, 6, 7, 3], [5, 8, 3, 0]], [2, 4], "int32"); // two answers, the second right-padded
 * rawRewards(rm, ids, [3, 2]).shape; // [2]: one reward each, read at its last real token
 * ```
 */
export function rawRewards(rm: RewardModel, ids: tf.Tensor2D, lastIndex: readonly number[]): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, T] = ids.shape;
    const hidden = gpt2Hidden(rm.backbone, ids); // [B, T, C], dropout off
    const pick = tf.oneHot(tf.tensor1d([...lastIndex], "int32"), T); // [B, T]
    const last = tf.sum(tf.mul(hidden, tf.expandDims(pick, 2)), 1) as tf.Tensor2D; // [B, C]
    return tf.reshape(tf.add(tf.matMul(last, rm.head.weight as tf.Tensor2D), rm.head.bias), [B]) as tf.Tensor1D;
  });
}

/**
 * A raw reward normalised: gain · raw + bias (SFT samples: mean 0, std 1).
 *
 * @example
 * ```ts
 * import { createGPT2, createRewardModel, fitNormalisation, normalisedReward, resolveGPT2Config } from "rlhf";
 * const rm = createRewardModel(createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 })));
 * fitNormalisation(rm, [1, 2, 3]); // the raw rewards of SFT answers
 * normalisedReward(rm, 2); // 0: an average SFT answer
 * normalisedReward(rm, 3); // 1.22: one SFT standard deviation (0.82) above
 * ```
 */
export function normalisedReward(rm: RewardModel, raw: number): number {
  return rm.normalisation.gain * raw + rm.normalisation.bias;
}

/**
 * Sets the normalisation so that these raw rewards (of SFT samples) get mean 0 and std 1.
 *
 * @example
 * ```ts
 * import { createGPT2, createRewardModel, fitNormalisation, resolveGPT2Config } from "rlhf";
 * const rm = createRewardModel(createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 })));
 * fitNormalisation(rm, [1, 2, 3]); // the raw rewards of SFT answers
 * rm.normalisation; // { gain: 1.22, bias: -2.45 }: those three become −1.22, 0, 1.22
 * ```
 */
export function fitNormalisation(rm: RewardModel, rawOfSftSamples: readonly number[]): void {
  rm.normalisation = standardisation(rawOfSftSamples);
}

/** The gain and bias that give `values` mean 0 and std 1 (gain 1 if they are all equal). */
export function standardisation(values: readonly number[]): { gain: number; bias: number } {
  const n = values.length;
  if (n < 2) throw new Error("standardisation: need at least 2 values");
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  const gain = std > 1e-8 ? 1 / std : 1;
  return { gain, bias: -mean * gain };
}

/**
 * Frees the reward model's weights: its backbone (a copy of the SFT model's) and its head.
 *
 * @example
 * ```ts
 * import { createGPT2, createRewardModel, disposeRewardModel, resolveGPT2Config } from "rlhf";
 * const sft = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const rm = createRewardModel(sft);
 * disposeRewardModel(rm); // sft keeps its weights
 * ```
 */
export function disposeRewardModel(rm: RewardModel): void {
  disposeGPT2(rm.backbone);
  rm.head.weight.dispose();
  rm.head.bias.dispose();
}

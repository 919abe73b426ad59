/**
 * The PPO policy: the SFT model's GPT-2 (trainable copy) plus a value head
 * `Linear(C, 1)` initialised to zero (so the first values say nothing and the
 * first advantages are the rewards themselves). `evaluateResponses`
 * (lib/rollout/sequence_batch.ts) scores a rollout's response tokens with it.
 */
import { tf, variableOf } from "../tf.ts";
import { cloneGPT2, disposeGPT2 } from "../gpt2/init.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { ValueHead } from "../rollout/sequence_batch.ts";
import { AdamW } from "../train/adamw.ts";
import type { PPOConfig } from "./ppo_config.ts";

export interface Policy {
  readonly lm: GPT2Model;
  readonly value: ValueHead;
}

/**
 * The policy PPO trains: a trainable copy of the SFT model and a value head at zero.
 *
 * @example
 * ```ts
 * import { createGPT2, createPolicy, resolveGPT2Config } from "rlhf";
 * const sft = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const policy = createPolicy(sft); // sft itself stays as it is: it becomes the frozen reference
 * policy.value.weight.shape; // [8, 1], zeros: the first values say nothing
 * ```
 */
export function createPolicy(sft: GPT2Model): Policy {
  const C = sft.config.n_embd;
  return {
    lm: cloneGPT2(sft, { trainable: true }),
    value: { weight: variableOf(() => tf.zeros([C, 1])), bias: variableOf(() => tf.zeros([1])) },
  };
}

/**
 * Every trainable variable of the policy by name: the GPT-2's (HF names), `value.weight` and `value.bias`.
 *
 * @example
 * ```ts
 * import { createGPT2, createPolicy, policyParams, resolveGPT2Config } from "rlhf";
 * const policy = createPolicy(createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 })));
 * Object.keys(policyParams(policy)).length; // 18: the GPT-2's 16 and the value head's 2
 * ```
 */
export function policyParams(p: Policy): Record<string, tf.Variable> {
  return { ...p.lm.params, "value.weight": p.value.weight, "value.bias": p.value.bias };
}

/**
 * PPO's optimiser for the policy (the PPO stage and notebook 03 use it): AdamW without weight decay, the value
 * head at `valueHeadLrScale` × the learning rate, since it starts at zero and must reach the scale of the returns.
 *
 * @example
 * ```ts
 * import { createGPT2, createPolicy, createPolicyOptimizer, resolveGPT2Config, resolvePPOConfig } from "rlhf";
 * const policy = createPolicy(createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 })));
 * const optimizer = createPolicyOptimizer(policy, resolvePPOConfig()); // the value head at 10× the learning rate
 * ```
 */
export function createPolicyOptimizer(p: Policy, config: Pick<PPOConfig, "valueHeadLrScale">): AdamW {
  const scale = config.valueHeadLrScale;
  return new AdamW(policyParams(p), { weightDecay: 0, lrScale: { "value.weight": scale, "value.bias": scale } });
}

/**
 * Frees the policy's weights: its copy of the GPT-2 and the value head.
 *
 * @example
 * ```ts
 * import { createGPT2, createPolicy, disposePolicy, resolveGPT2Config } from "rlhf";
 * const sft = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * disposePolicy(createPolicy(sft)); // sft keeps its weights
 * ```
 */
export function disposePolicy(p: Policy): void {
  disposeGPT2(p.lm);
  p.value.weight.dispose();
  p.value.bias.dispose();
}

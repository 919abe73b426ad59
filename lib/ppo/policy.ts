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

export function createPolicy(sft: GPT2Model): Policy {
  const C = sft.config.n_embd;
  return {
    lm: cloneGPT2(sft, { trainable: true }),
    value: { weight: variableOf(() => tf.zeros([C, 1])), bias: variableOf(() => tf.zeros([1])) },
  };
}

export function policyParams(p: Policy): Record<string, tf.Variable> {
  return { ...p.lm.params, "value.weight": p.value.weight, "value.bias": p.value.bias };
}

/**
 * PPO's optimiser for the policy (the PPO stage and notebook 03 use it): AdamW without weight decay, the value
 * head at `valueHeadLrScale` × the learning rate, since it starts at zero and must reach the scale of the returns.
 */
export function createPolicyOptimizer(p: Policy, config: Pick<PPOConfig, "valueHeadLrScale">): AdamW {
  const scale = config.valueHeadLrScale;
  return new AdamW(policyParams(p), { weightDecay: 0, lrScale: { "value.weight": scale, "value.bias": scale } });
}

export function disposePolicy(p: Policy): void {
  disposeGPT2(p.lm);
  p.value.weight.dispose();
  p.value.bias.dispose();
}

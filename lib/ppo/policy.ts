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

export function disposePolicy(p: Policy): void {
  disposeGPT2(p.lm);
  p.value.weight.dispose();
  p.value.bias.dispose();
}

/**
 * Evaluating a policy on held-out prompts: its answers' gold score, reward-
 * model score, and KL to the reference model (sum over the answer's tokens of
 * log π − log π_ref under the sampling distribution). Plotting gold against RM
 * score against KL makes reward over-optimisation visible.
 */
import { tf } from "../tf.ts";
import { generate } from "../generate/generate.ts";
import type { SamplingOptions } from "../generate/sampling.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { evaluateResponses, sequenceBatch } from "../ppo/policy.ts";
import { normalisedReward, type RewardModel } from "../reward/reward_model.ts";
import { rawRewardsOfPairs } from "../reward/train_reward.ts";
import type { Task, TaskPrompt } from "../tasks/types.ts";
import { decodeReply, encodePrompt, endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { Rng } from "../train/rng.ts";

export interface PolicySample {
  readonly prompt: TaskPrompt;
  readonly response: string;
  readonly gold: number;
  readonly rm: number;
  readonly kl: number;
}

/** Normalised reward-model scores of (prompt, response) texts. */
export async function rewardModelScores(rm: RewardModel, tokenizer: Tokenizer, pairs: { prompt: TaskPrompt; response: string }[]): Promise<number[]> {
  const raw = await rawRewardsOfPairs(rm, tokenizer, pairs.map((p) => ({ prompt: p.prompt.messages, response: p.response })), 16);
  return raw.map((r) => normalisedReward(rm, r));
}

export async function evaluatePolicy(
  lm: GPT2Model,
  reference: GPT2Model,
  rm: RewardModel,
  tokenizer: Tokenizer,
  task: Task,
  prompts: readonly TaskPrompt[],
  options: { sampling: SamplingOptions; maxNewTokens: number; seed: number },
): Promise<{ samples: PolicySample[]; gold: number; rm: number; kl: number }> {
  const rng = new Rng(options.seed);
  const samples: PolicySample[] = [];
  for (let i = 0; i < prompts.length; i += 64) {
    const chunk = prompts.slice(i, i + 64);
    const ids = chunk.map((p) => encodePrompt(p.messages, tokenizer));
    const gen = await generate(lm, ids, { ...options.sampling, maxNewTokens: options.maxNewTokens, stopIds: [endOfTurnId(tokenizer)], padId: tokenizer.eosId, rng });
    const batch = sequenceBatch(ids, gen.tokens.map((r) => (r.length ? r : [tokenizer.eosId])), tokenizer.eosId);
    const lp = tf.tidy(() => [evaluateResponses(lm, undefined, batch, options.sampling).logprobs, evaluateResponses(reference, undefined, batch, options.sampling).logprobs]);
    const [pol, ref] = (await Promise.all(lp.map((t) => t.array()))) as number[][][];
    tf.dispose(lp);
    const texts = gen.tokens.map((t) => decodeReply(t, tokenizer).text);
    const rmScores = await rewardModelScores(rm, tokenizer, chunk.map((prompt, b) => ({ prompt, response: texts[b] })));
    chunk.forEach((prompt, b) => {
      const kl = pol[b].reduce((s, v, t) => s + (t < gen.tokens[b].length ? v - ref[b][t] : 0), 0);
      samples.push({ prompt, response: texts[b], gold: task.score(prompt, texts[b]).total, rm: rmScores[b], kl });
    });
  }
  const mean = (f: (s: PolicySample) => number) => samples.reduce((a, s) => a + f(s), 0) / Math.max(1, samples.length);
  return { samples, gold: mean((s) => s.gold), rm: mean((s) => s.rm), kl: mean((s) => s.kl) };
}

/**
 * Evaluating a policy on held-out prompts: its answers' gold score, reward-
 * model score, and KL to the reference model (sum over the answer's tokens of
 * log π − log π_ref under the sampling distribution). Plotting gold against RM
 * score against KL makes reward over-optimisation visible.
 */
import type { SamplingOptions } from "../generate/sampling.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { rollout, underPolicyAndReference } from "../rollout/rollout.ts";
import { sequenceKl } from "../rollout/kl_estimators.ts";
import { normalisedReward, type RewardModel } from "../reward/reward_model.ts";
import { rawRewardsOfPairs } from "../reward/train_reward.ts";
import type { Task, TaskPrompt } from "../tasks/types.ts";
import { decodeReply, encodePrompt, endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { Rng } from "../rng.ts";
import { ProgressBar } from "../train/progress.ts";

export interface PolicySample {
  readonly prompt: TaskPrompt;
  readonly response: string;
  readonly gold: number;
  /** The parts of the gold score. */
  readonly parts: Readonly<Record<string, number>>;
  readonly rm: number;
  /** The answer's KL to the reference: k1 summed over its tokens … */
  readonly kl: number;
  /** … and k3 summed over them (a check: both estimate the same KL). */
  readonly k3: number;
}

/** Means over the samples, with the standard errors (sd / √n) of the gold and reward-model scores. */
export interface PolicyEvaluation {
  readonly samples: PolicySample[];
  readonly gold: number;
  readonly goldSe: number;
  readonly rm: number;
  readonly rmSe: number;
  readonly kl: number;
  /** Mean of each gold part. */
  readonly parts: Record<string, number>;
}

/**
 * Normalised reward-model scores of (prompt, response) texts.
 *
 * @example
 * ```ts
 * import { loadRewardModel, loadTask, loadTokenizer, rewardModelScores } from "rlhf";
 * const rm = await loadRewardModel("checkpoints/rm"); // written by deno task rlhf
 * const tokenizer = (await loadTokenizer("checkpoints/rm"))!;
 * const [prompt] = (await loadTask()).prompts("heldout", 0);
 * await rewardModelScores(rm, tokenizer, [{ prompt, response: "春风得意马蹄疾，一日看尽长安花。" }]);
 * // one score, in units of the spread of SFT answers' scores (0 = their mean)
 * ```
 */
export async function rewardModelScores(
  rm: RewardModel,
  tokenizer: Tokenizer,
  pairs: { prompt: TaskPrompt; response: string }[],
): Promise<number[]> {
  const raw = await rawRewardsOfPairs(rm, tokenizer, pairs.map((p) => ({ prompt: p.prompt.messages, response: p.response })), 16);
  return raw.map((r) => normalisedReward(rm, r));
}

/**
 * The held-out view of a policy: gold and reward-model scores of its answers (± SE) and their KL to `reference`.
 *
 * @example
 * ```ts
 * import { cloneGPT2, evaluatePolicy, loadPretrained, loadRewardModel, loadTask } from "rlhf";
 * const sft = await loadPretrained("checkpoints/sft"); // written by deno task rlhf
 * const rm = await loadRewardModel("checkpoints/rm");
 * const task = await loadTask();
 * const reference = cloneGPT2(sft, { trainable: false });
 * const prompts = task.prompts("heldout", 0).slice(0, 16);
 * const view = await evaluatePolicy(sft, reference, rm, sft.tokenizer!, task, prompts, { sampling: {}, maxNewTokens: 64, seed: 0 });
 * console.log(view.gold, view.goldSe, view.rm, view.kl); // the SFT model's level; KL 0, as it is its own reference
 * ```
 */
export async function evaluatePolicy(
  lm: GPT2Model,
  reference: GPT2Model,
  rm: RewardModel,
  tokenizer: Tokenizer,
  task: Task,
  prompts: readonly TaskPrompt[],
  options: {
    sampling: SamplingOptions;
    maxNewTokens: number;
    seed: number;
    /** Show a progress bar with this label (long evaluations, e.g. the frontier's best-of-n answers). */
    progress?: string;
  },
): Promise<PolicyEvaluation> {
  const rng = new Rng(options.seed);
  const samples: PolicySample[] = [];
  const bar = options.progress ? new ProgressBar({ total: prompts.length, label: options.progress, unit: "answer" }) : undefined;
  for (let i = 0; i < prompts.length; i += 64) {
    const chunk = prompts.slice(i, i + 64);
    // Sampled and scored as PPO's rollout and scoring phases do.
    const gen = await rollout({
      lm,
      prompts: chunk.map((p) => encodePrompt(p.messages, tokenizer)),
      config: options,
      stopId: endOfTurnId(tokenizer),
      padId: tokenizer.eosId,
      rng,
    });
    const { logp: pol, refLogp: ref } = await underPolicyAndReference({ lm, reference, batch: gen.batch, sampling: options.sampling });
    const texts = gen.tokens.map((t) => decodeReply(t, tokenizer).text);
    const rmScores = await rewardModelScores(rm, tokenizer, chunk.map((prompt, b) => ({ prompt, response: texts[b] })));
    // k1 over the answer's own tokens (an empty answer, scored as one pad token, has none).
    const sampled = gen.tokens.map((tokens, b) => pol[b].map((_, t) => (t < tokens.length ? 1 : 0)));
    const [kl, k3] = [sequenceKl(pol, ref, sampled, "k1"), sequenceKl(pol, ref, sampled, "k3")];
    chunk.forEach((prompt, b) => {
      const score = task.score(prompt, texts[b]);
      samples.push({ prompt, response: texts[b], gold: score.total, parts: score.parts, rm: rmScores[b], kl: kl[b], k3: k3[b] });
    });
    bar?.update(samples.length);
  }
  bar?.finish();
  const n = Math.max(1, samples.length);
  const mean = (f: (s: PolicySample) => number) => samples.reduce((a, s) => a + f(s), 0) / n;
  const se = (f: (s: PolicySample) => number) => {
    const m = mean(f);
    return n < 2 ? 0 : Math.sqrt(samples.reduce((a, s) => a + (f(s) - m) ** 2, 0) / (n - 1) / n);
  };
  const parts: Record<string, number> = {};
  for (const key of Object.keys(samples[0]?.parts ?? {})) parts[key] = mean((s) => s.parts[key] ?? 0);
  return {
    samples,
    gold: mean((s) => s.gold),
    goldSe: se((s) => s.gold),
    rm: mean((s) => s.rm),
    rmSe: se((s) => s.rm),
    kl: mean((s) => s.kl),
    parts,
  };
}

/** One point of a policy's held-out curve during training (iteration 0 = the SFT model). */
export type HeldoutRow = Omit<PolicyEvaluation, "samples"> & { readonly iteration: number };

/** The row of an evaluation at `iteration` (the samples left out: the history stays small). */
export function heldoutRow(iteration: number, e: PolicyEvaluation): HeldoutRow {
  return { iteration, gold: e.gold, goldSe: e.goldSe, rm: e.rm, rmSe: e.rmSe, kl: e.kl, parts: e.parts };
}

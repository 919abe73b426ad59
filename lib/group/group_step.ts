/**
 * One iteration of critic-free online RL (RLOO or GRPO): each prompt is
 * answered G times, the reward model scores the answers, and the group's own
 * mean is the baseline (group_advantages.ts) — no value head. The update is
 * PPO's clipped ratio objective with that one advantage on every token of an
 * answer. The KL to the frozen SFT model enters either the reward
 * (r − β·KL(answer), as in PPO and RLOO) or the loss (+ β × the k3 estimate
 * per token, as in GRPO).
 */
import { PPO_DEFAULTS } from "../ppo/ppo_config.ts";
import { tf } from "../tf.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { SamplingOptions } from "../generate/sampling.ts";
import type { AdamW } from "../train/adamw.ts";
import { gradientStepStats } from "../train/gradient_step.ts";
import { minibatchEpochs } from "../train/minibatch_epochs.ts";
import type { Rng } from "../rng.ts";
import { groupAdvantages, type GroupMethod } from "./group_advantages.ts";
import { clippedPolicyLoss } from "../ppo/losses.ts";
import { evaluateResponses, type Matrix, sequenceBatch } from "../rollout/sequence_batch.ts";
import { type RewardFunction, rollout, underPolicyAndReference } from "../rollout/rollout.ts";
import { k3Tensor, sequenceKl } from "../rollout/kl_estimators.ts";
import { positions } from "../work.ts";

export interface GroupConfig {
  /** "rloo" (leave-one-out mean) or "grpo" (group mean and std). @default "grpo" */
  readonly method: GroupMethod;
  /** Answers per prompt. @default 4 */
  readonly groupSize: number;
  /** Where the KL to the reference goes: "reward" (r − β·KL) or "loss" (+ β·k3). @default "loss" */
  readonly klIn: "reward" | "loss";
  /** The KL coefficient. @default 0.2 (GRPO's, GROUP_BETA) */
  readonly beta: number;
  /** @default 1e-4 (PPO's, PPO_DEFAULTS.lr) */
  readonly lr: number;
  /** Passes over each batch of answers. @default 1 */
  readonly epochs: number;
  /** Answers per gradient step. @default 16 */
  readonly miniBatchSize: number;
  /** @default 0.2 */
  readonly clipRange: number;
  /** @default 1 */
  readonly gradClip: number;
  /** @default 80 */
  readonly maxNewTokens: number;
  /** @default temperature 1 */
  readonly sampling: SamplingOptions;
}

/**
 * Each method's KL coefficient, the frontier sweep's choice (docs/runs/frontier): the smallest β whose run
 * keeps every part of the gold but the preference within 0.02 of SFT's at every point the sweep measured. Smaller ones drift into repeating
 * bright characters (GRPO at 0.05 ends at KL 50 with its variety down from 1.00 to 0.42).
 *
 * @example
 * ```ts
 * import { GROUP_BETA } from "rlhf";
 * GROUP_BETA.rloo; // 0.1 (the KL in the reward)
 * GROUP_BETA.grpo; // 0.2 (the KL as a loss term)
 * ```
 */
export const GROUP_BETA: Readonly<Record<GroupMethod, number>> = Object.freeze({ rloo: 0.1, grpo: 0.2 });

/**
 * Every field of `GroupConfig` at its default: GRPO with 4 answers a prompt and the KL in the loss.
 *
 * @example
 * ```ts
 * import { GROUP_DEFAULTS } from "rlhf";
 * const rloo = { ...GROUP_DEFAULTS, method: "rloo" as const, klIn: "reward" as const }; // RLOO, the KL in the reward
 * ```
 */
export const GROUP_DEFAULTS: Readonly<GroupConfig> = Object.freeze({
  method: "grpo",
  groupSize: 4,
  klIn: "loss",
  beta: GROUP_BETA.grpo,
  lr: PPO_DEFAULTS.lr,
  epochs: 1,
  miniBatchSize: 16,
  clipRange: 0.2,
  gradClip: 1,
  maxNewTokens: 80,
  sampling: Object.freeze({ temperature: 1 }),
});

/** The iteration's statistics (TRL's names where they exist). */
export interface GroupStats {
  "objective/scores": number;
  /** Mean KL(answer) to the reference, nats. */
  "objective/kl": number;
  "policy/clipfrac": number;
  "policy/approxkl": number;
  "loss/policy": number;
  /** β × mean k3 per token (klIn "loss"), else 0. */
  "loss/kl": number;
  /** Share of groups whose answers all scored the same (they teach nothing). */
  "group/flat": number;
  "response/length": number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * One iteration of RLOO or GRPO (the steps above); returns its statistics, the answers and their scores.
 *
 * @example
 * ```ts
 * import { AdamW, cloneGPT2, createGPT2, GROUP_DEFAULTS, groupIteration, resolveGPT2Config, Rng } from "rlhf";
 * const sft = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const lm = cloneGPT2(sft);
 * const { stats } = await groupIteration({
 *   lm,
 *   reference: cloneGPT2(sft, { trainable: false }),
 *   optimizer: new AdamW(lm.params, { weightDecay: 0 }),
 *   prompts: [[1, 2], [1, 4]], // each answered groupSize = 4 times
 *   reward: (_, answers) => Promise.resolve(answers.map((a) => a.filter((t) => t === 5).length)),
 *   config: { ...GROUP_DEFAULTS, maxNewTokens: 6, miniBatchSize: 4 },
 *   stopId: 3,
 *   padId: 0,
 *   rng: new Rng(0),
 * });
 * stats["group/flat"]; // the share of groups whose answers all scored the same
 * ```
 */
export async function groupIteration(o: {
  lm: GPT2Model;
  reference: GPT2Model;
  optimizer: AdamW;
  /** Distinct prompts; each is answered `groupSize` times. */
  prompts: readonly number[][];
  reward: RewardFunction;
  config: GroupConfig;
  stopId: number;
  padId: number;
  rng: Rng;
}): Promise<{ stats: GroupStats; responses: number[][]; scores: number[] }> {
  const { config: c } = o;
  const G = c.groupSize;
  const prompts = o.prompts.flatMap((p) => Array.from({ length: G }, () => p)); // group by group
  const rolled = await rollout({
    lm: o.lm,
    prompts,
    config: c,
    stopId: o.stopId,
    padId: o.padId,
    rng: o.rng,
  });
  const scores = await o.reward(prompts.map((_, i) => i), rolled.tokens);
  const { logp: oldLogp, refLogp } = await underPolicyAndReference({
    lm: o.lm,
    reference: o.reference,
    batch: rolled.batch,
    sampling: c.sampling,
  });
  const mask = rolled.batch.responseMask;
  const seqKl = sequenceKl(oldLogp, refLogp, mask);
  const rewards = c.klIn === "reward" ? scores.map((s, b) => s - c.beta * seqKl[b]) : scores;
  const adv = groupAdvantages(rewards, G, c.method);
  const advMatrix = mask.map((row, b) => row.map((m) => m * adv[b]));
  const params = o.lm.params;
  const stat = { pg: [] as number[], kl: [] as number[], clip: [] as number[], approxkl: [] as number[] };
  const B = prompts.length;
  await minibatchEpochs(B, { epochs: c.epochs, miniBatchSize: c.miniBatchSize, rng: o.rng }, async (idx) => {
    const mb = sequenceBatch(idx.map((i) => prompts[i]), idx.map((i) => rolled.responses[i]), o.padId);
    const pick = (rows: Matrix) => idx.map((i) => rows[i].slice(0, mb.responseLength));
    const got = await gradientStepStats(params, o.optimizer, () => {
      const m = tf.tensor2d(pick(mask));
      const logp = evaluateResponses(o.lm, undefined, mb, c.sampling).logprobs;
      const pl = clippedPolicyLoss(logp, tf.tensor2d(pick(oldLogp)), tf.tensor2d(pick(advMatrix)), m, c.clipRange);
      const klLoss = c.klIn === "loss"
        ? tf.mul(c.beta, tf.div(tf.sum(tf.mul(k3Tensor(logp, tf.tensor2d(pick(refLogp))), m)), tf.maximum(tf.sum(m), 1))) as tf.Scalar
        : tf.scalar(0);
      return { loss: tf.add(pl.loss, klLoss) as tf.Scalar, keep: { pg: pl.loss, kl: klLoss, clip: pl.clipfrac, approxkl: pl.approxkl } };
    }, { lr: c.lr, gradClip: c.gradClip, tokens: positions(mb.ids) });
    for (const key of Object.keys(stat) as (keyof typeof stat)[]) stat[key].push(got[key]);
    return false;
  });
  let flat = 0;
  for (let g = 0; g < B; g += G) if (new Set(rewards.slice(g, g + G)).size === 1) flat++;
  return {
    stats: {
      "objective/scores": mean(scores),
      "objective/kl": mean(seqKl),
      "policy/clipfrac": mean(stat.clip),
      "policy/approxkl": mean(stat.approxkl),
      "loss/policy": mean(stat.pg),
      "loss/kl": mean(stat.kl),
      "group/flat": flat / (B / G),
      "response/length": mean(rolled.tokens.map((t) => t.length)),
    },
    responses: rolled.tokens,
    scores,
  };
}

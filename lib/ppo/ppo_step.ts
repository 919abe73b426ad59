/**
 * One PPO iteration for language models, in the steps of the literature
 * (Ziegler et al. 2019; InstructGPT; lm-human-preferences / TRL); each phase
 * is a function of its own in ppo_phases.ts:
 *
 *   1. rollout: sample responses with the KV cache (dropout off); stop at the end token (lib/rollout)
 *   2. score each (prompt, response) with the reward function; penalise responses that never end
 *   3. log-probs under the sampling distribution for the policy (old) and the frozen reference; values
 *   4. per-token rewards: −β·KL_t, plus the score at the last response token
 *   5. advantages by GAE (γ, λ) and returns = A + V
 *   6. whiten the advantages over the whole batch (masked)
 *   7. several epochs over shuffled minibatches: clipped policy loss + c·clipped value loss
 *      (+ c_ptx · next-token loss on a supervised batch: InstructGPT's PPO-ptx, when c_ptx > 0),
 *      gradient clipping, AdamW; stop the epochs early if approx KL exceeds its limit
 *   8. update the KL controller with this batch's mean KL
 */
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { AdamW } from "../train/adamw.ts";
import type { Rng } from "../rng.ts";
import type { BatchSource } from "../data/lm_batches.ts";
import { maskedVar } from "./advantages.ts";
import type { Matrix } from "../rollout/sequence_batch.ts";
import type { AdaptiveKLController, FixedKLController } from "./kl.ts";
import type { PPOConfig } from "./ppo_config.ts";
import type { Policy } from "./policy.ts";
import { advantages, ppoUpdate, scoreRollout } from "./ppo_phases.ts";
import { type RewardFunction, rollout } from "../rollout/rollout.ts";

export interface PPOStats {
  "objective/kl": number;
  "objective/scores": number;
  "objective/rlhf_reward": number;
  "objective/entropy": number;
  "objective/kl_coef": number;
  "policy/approxkl": number;
  "policy/clipfrac": number;
  "loss/policy": number;
  "loss/value": number;
  /** Next-token loss on the supervised batches (PPO-ptx); 0 when c_ptx = 0. */
  "loss/ptx": number;
  "val/clipfrac": number;
  "val/explained_variance": number;
  "val/ratio": number;
  "response/length": number;
  "response/ended": number;
  "ppo/epochs_done": number;
  "time/rollout_s": number;
  "time/score_s": number;
  "time/update_s": number;
}

export interface PPOIterationResult {
  readonly stats: PPOStats;
  readonly responses: number[][];
  readonly scores: number[];
}

/** What one iteration needs. */
export interface PPOIterationOptions {
  readonly policy: Policy;
  /** The frozen SFT model. */
  readonly reference: GPT2Model;
  readonly optimizer: AdamW;
  readonly klController: AdaptiveKLController | FixedKLController;
  /** Token ids of each prompt (ending with the assistant's role marker). */
  readonly prompts: readonly number[][];
  readonly reward: RewardFunction;
  readonly config: PPOConfig;
  readonly stopId: number;
  readonly padId: number;
  readonly rng: Rng;
  /**
   * Supervised batches for PPO-ptx (used when config.ptxCoef > 0) and this iteration's number: minibatch n of
   * iteration i takes batch i · (minibatches per iteration) + n, so a resumed run reads the same batches.
   */
  readonly ptx?: { batches: BatchSource; iteration: number };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * One PPO iteration, the eight steps above; returns its statistics under TRL's names, the answers and their scores.
 *
 * @example
 * ```ts
 * import { AdaptiveKLController, cloneGPT2, createGPT2, createPolicy, createPolicyOptimizer, ppoIteration, resolveGPT2Config, resolvePPOConfig, Rng } from "rlhf";
 * const sft = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const policy = createPolicy(sft);
 * const config = resolvePPOConfig({ batchSize: 4, miniBatchSize: 2, maxNewTokens: 6, ptxCoef: 0 });
 * const { stats } = await ppoIteration({
 *   policy,
 *   reference: cloneGPT2(sft, { trainable: false }),
 *   optimizer: createPolicyOptimizer(policy, config),
 *   klController: new AdaptiveKLController(config.initKlCoef, config.klTarget!, config.klHorizon),
 *   prompts: [[1, 2], [1, 4], [1, 2, 4], [1]],
 *   reward: (_, answers) => Promise.resolve(answers.map((a) => a.filter((t) => t === 5).length)), // more 5s, more reward
 *   config,
 *   stopId: 3,
 *   padId: 0,
 *   rng: new Rng(0),
 * });
 * stats["objective/scores"]; // the batch's mean reward; also "objective/kl", "policy/clipfrac", "val/explained_variance", …
 * ```
 */
export async function ppoIteration(o: PPOIterationOptions): Promise<PPOIterationResult> {
  const { config } = o;
  if (config.ptxCoef > 0 && !o.ptx) throw new Error("ppoIteration: config.ptxCoef > 0 needs options.ptx (the supervised batches)");
  const t0 = performance.now();
  const rolled = await rollout({ lm: o.policy.lm, prompts: o.prompts, config, stopId: o.stopId, padId: o.padId, rng: o.rng });
  const t1 = performance.now();
  const scored = await scoreRollout({ policy: o.policy, reference: o.reference, rollout: rolled, reward: o.reward, config });
  const beta = o.klController.value;
  const adv = advantages({ scored, beta, config });
  const t2 = performance.now();
  const update = await ppoUpdate({
    policy: o.policy,
    optimizer: o.optimizer,
    rollout: rolled,
    scored,
    advantages: adv,
    config,
    padId: o.padId,
    rng: o.rng,
    ptx: o.ptx,
  });
  const t3 = performance.now();
  // The KL controller sees this batch's mean KL per answer.
  const seqKl = adv.kl.map((row) => row.reduce((a, b) => a + b, 0));
  o.klController.update(mean(seqKl), o.prompts.length);
  return { stats: iterationStats(rolled, scored, adv, update, beta, [t0, t1, t2, t3]), responses: rolled.tokens, scores: scored.scores };
}

/** The iteration's statistics under the usual names (TRL / lm-human-preferences). */
function iterationStats(
  rolled: Awaited<ReturnType<typeof rollout>>,
  scored: Awaited<ReturnType<typeof scoreRollout>>,
  adv: ReturnType<typeof advantages>,
  update: Awaited<ReturnType<typeof ppoUpdate>>,
  beta: number,
  [t0, t1, t2, t3]: number[],
): PPOStats {
  const { mask, oldValues, entropy } = scored;
  const flatMasked = (x: Matrix) => x.flatMap((row, b) => row.filter((_, t) => mask[b][t]));
  const residual = adv.returns.map((row, b) => row.map((r, t) => r - oldValues[b][t]));
  return {
    "objective/kl": mean(adv.kl.map((row) => row.reduce((a, b) => a + b, 0))),
    "objective/scores": mean(scored.scores),
    "objective/rlhf_reward": mean(adv.rewards.map((row) => row.reduce((a, b) => a + b, 0))),
    "objective/entropy": mean(entropy.map((row, b) => row.reduce((a, h, t) => a + (mask[b][t] ? h : 0), 0))),
    "objective/kl_coef": beta,
    "policy/approxkl": mean(update.approxkl),
    "policy/clipfrac": mean(update.clip),
    "loss/policy": mean(update.pg),
    "loss/value": mean(update.vf),
    "loss/ptx": mean(update.ptx),
    "val/clipfrac": mean(update.vclip),
    "val/explained_variance": flatMasked(mask).length > 1
      ? 1 - maskedVar(residual, mask) / Math.max(1e-8, maskedVar(adv.returns, mask))
      : 0,
    "val/ratio": mean(update.ratio),
    "response/length": mean(rolled.tokens.map((r) => r.length)),
    "response/ended": mean(rolled.finished.map((f) => (f ? 1 : 0))),
    "ppo/epochs_done": update.epochsDone,
    "time/rollout_s": (t1 - t0) / 1000,
    "time/score_s": (t2 - t1) / 1000,
    "time/update_s": (t3 - t2) / 1000,
  };
}

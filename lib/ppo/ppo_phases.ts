/**
 * The phases of one PPO iteration, each a function that takes an options
 * object and returns plain data (number arrays), so that a notebook can run
 * and inspect one phase at a time. `ppoIteration` (ppo_step.ts) composes them:
 *
 *   rollout      sample responses with the KV cache (dropout off); stop at the end token (lib/rollout)
 *   scoreRollout the reward of each response (a penalty for one that never ends), and under the
 *                sampling distribution the log-probs of the policy (old) and the frozen reference, the values
 *   advantages   per-token rewards −β·KL_t plus the score at the last token; GAE (γ, λ); returns = A + V;
 *                the advantages whitened over the whole batch (masked)
 *   ppoUpdate    epochs over shuffled minibatches: clipped policy loss + c·clipped value loss
 *                (+ the PPO-ptx coefficient × the next-token loss of a supervised batch), one gradient step
 *                each; the epochs stop early when the approximate KL exceeds its limit
 */
import { tf } from "../tf.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { AdamW } from "../train/adamw.ts";
import { gradientStepStats } from "../train/gradient_step.ts";
import { minibatchEpochs } from "../train/minibatch_epochs.ts";
import type { Rng } from "../rng.ts";
import { nextTokenLoss } from "../train/train_step.ts";
import type { BatchSource } from "../data/lm_batches.ts";
import { computeGae, maskedWhiten } from "./advantages.ts";
import { perTokenRewards } from "./kl.ts";
import { clippedPolicyLoss, clippedValueLoss } from "./losses.ts";
import type { PPOConfig } from "./ppo_config.ts";
import { type Policy, policyParams } from "./policy.ts";
import { evaluateResponses, type Matrix, sequenceBatch } from "../rollout/sequence_batch.ts";
import { type RewardFunction, type Rollout, underPolicyAndReference } from "../rollout/rollout.ts";
import { positions } from "../work.ts";

/** Phase 2's result: per response and per response token. */
export interface ScoredRollout {
  /** The reward of each response (clipped, minus the penalty when it never ended). */
  readonly scores: number[];
  readonly oldLogp: Matrix;
  readonly refLogp: Matrix;
  readonly oldValues: Matrix;
  readonly entropy: Matrix;
  /** 1 on response tokens, 0 on padding. */
  readonly mask: Matrix;
}

/**
 * Phase 2: each answer's reward (clipped, less `noEndPenalty` when it never ended), and per token the log-probs
 * under the policy (old) and the reference, the values and the entropy.
 *
 * @example
 * ```ts
 * import { cloneGPT2, createGPT2, createPolicy, resolveGPT2Config, resolvePPOConfig, Rng, rollout, scoreRollout } from "rlhf";
 * const sft = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const policy = createPolicy(sft);
 * const config = resolvePPOConfig({ batchSize: 2, miniBatchSize: 2, maxNewTokens: 6 });
 * const rolled = await rollout({ lm: policy.lm, prompts: [[1, 2], [1, 4]], config, stopId: 3, padId: 0, rng: new Rng(0) });
 * const reward = (_: number[], answers: number[][]) => Promise.resolve(answers.map((a) => a.filter((t) => t === 5).length));
 * const scored = await scoreRollout({ policy, reference: cloneGPT2(sft, { trainable: false }), rollout: rolled, reward, config });
 * scored.scores; // the number of 5s in each answer, less 1 where it never produced the stop token 3
 * scored.oldValues; // all 0: the value head starts at zero
 * ```
 */
export async function scoreRollout(o: {
  policy: Policy;
  reference: GPT2Model;
  rollout: Rollout;
  reward: RewardFunction;
  config: PPOConfig;
}): Promise<ScoredRollout> {
  const { config, rollout: r } = o;
  const raw = await o.reward(r.prompts.map((_, i) => i), r.tokens);
  const scores = raw.map((s, b) => {
    const clipped = config.scoreClip > 0 ? Math.max(-config.scoreClip, Math.min(config.scoreClip, s)) : s;
    return r.finished[b] ? clipped : clipped - config.noEndPenalty;
  });
  const { logp, refLogp, values, entropy } = await underPolicyAndReference({
    lm: o.policy.lm,
    value: o.policy.value,
    reference: o.reference,
    batch: r.batch,
    sampling: config.sampling,
  });
  return { scores, oldLogp: logp, refLogp, oldValues: values!, entropy: entropy!, mask: r.batch.responseMask };
}

/** Phase 3's result. */
export interface Advantages {
  /** Per-token rewards: −β·KL_t, plus the score at the last response token. */
  readonly rewards: Matrix;
  /** Per-token KL estimate log π − log π_ref (or k3). */
  readonly kl: Matrix;
  readonly advantages: Matrix;
  readonly returns: Matrix;
  /** The advantages whitened over the whole batch. */
  readonly whitened: Matrix;
}

/**
 * Phase 3: per-token rewards (−β·KL, the score at the last token), GAE advantages and returns, and the
 * advantages whitened over the batch.
 *
 * @example
 * ```ts
 * import { advantages, resolvePPOConfig, type ScoredRollout } from "rlhf";
 * const scored: ScoredRollout = {
 *   scores: [1, -1], // two answers of two tokens
 *   oldLogp: [[-1, -2], [-1, -1]],
 *   refLogp: [[-1.5, -2], [-1, -1]],
 *   oldValues: [[0, 0], [0, 0]],
 *   entropy: [[1, 1], [1, 1]],
 *   mask: [[1, 1], [1, 1]],
 * };
 * const adv = advantages({ scored, beta: 0.1, config: resolvePPOConfig() });
 * adv.rewards; // [[-0.05, 1], [0, -1]]
 * adv.whitened; // the advantages with mean 0 and standard deviation 1 over all four tokens
 * ```
 */
export function advantages(o: { scored: ScoredRollout; beta: number; config: PPOConfig }): Advantages {
  const { scored: s, config } = o;
  const { rewards, kl } = perTokenRewards(s.scores, s.oldLogp, s.refLogp, s.mask, o.beta, config.klEstimator);
  const { advantages, returns } = computeGae(rewards, s.oldValues, s.mask, { gamma: config.gamma, lambda: config.lambda });
  return { rewards, kl, advantages, returns, whitened: maskedWhiten(advantages, s.mask) };
}

/** Phase 4's result: one value per minibatch step, and how many epochs ran. */
export interface UpdateStats {
  readonly pg: number[];
  readonly vf: number[];
  readonly ptx: number[];
  readonly clip: number[];
  readonly vclip: number[];
  readonly approxkl: number[];
  readonly ratio: number[];
  readonly epochsDone: number;
}

/**
 * Phase 4: epochs over shuffled minibatches, each one gradient step on the clipped policy and value losses
 * (+ PPO-ptx); the epochs stop early when a minibatch's approximate KL passes `maxApproxKl`.
 *
 * @example
 * ```ts
 * import { advantages, cloneGPT2, createGPT2, createPolicy, createPolicyOptimizer, ppoUpdate, resolveGPT2Config, resolvePPOConfig, Rng, rollout, scoreRollout } from "rlhf";
 * const sft = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const policy = createPolicy(sft);
 * const config = resolvePPOConfig({ batchSize: 2, miniBatchSize: 1, maxNewTokens: 6, ptxCoef: 0 });
 * const rolled = await rollout({ lm: policy.lm, prompts: [[1, 2], [1, 4]], config, stopId: 3, padId: 0, rng: new Rng(0) });
 * const reward = (_: number[], answers: number[][]) => Promise.resolve(answers.map((a) => a.filter((t) => t === 5).length));
 * const scored = await scoreRollout({ policy, reference: cloneGPT2(sft, { trainable: false }), rollout: rolled, reward, config });
 * const update = await ppoUpdate({
 *   policy,
 *   optimizer: createPolicyOptimizer(policy, config),
 *   rollout: rolled,
 *   scored,
 *   advantages: advantages({ scored, beta: 0.05, config }),
 *   config,
 *   padId: 0,
 *   rng: new Rng(1),
 * });
 * update.pg; // the policy loss of each of the 4 steps (2 epochs × 2 minibatches)
 * ```
 */
export async function ppoUpdate(o: {
  policy: Policy;
  optimizer: AdamW;
  rollout: Rollout;
  scored: ScoredRollout;
  advantages: Advantages;
  config: PPOConfig;
  padId: number;
  rng: Rng;
  /**
   * Supervised batches for PPO-ptx (used when the coefficient is > 0) and this iteration's number: minibatch n of
   * iteration i takes batch i · (minibatches per iteration) + n, so a resumed run reads the same batches.
   */
  ptx?: { batches: BatchSource; iteration: number };
}): Promise<UpdateStats> {
  const { config, rollout: r, scored: s, advantages: a } = o;
  const params = policyParams(o.policy);
  const B = r.prompts.length;
  const stat = {
    pg: [] as number[],
    vf: [] as number[],
    ptx: [] as number[],
    clip: [] as number[],
    vclip: [] as number[],
    approxkl: [] as number[],
    ratio: [] as number[],
  };
  let ptxStep = o.ptx ? o.ptx.iteration * config.ppoEpochs * Math.ceil(B / config.miniBatchSize) : 0;
  const epochsDone = await minibatchEpochs(
    B,
    { epochs: config.ppoEpochs, miniBatchSize: config.miniBatchSize, rng: o.rng },
    async (idx) => {
      // Padded to the minibatch's own longest prompt and response (not the whole batch's: less wasted
      // compute); the [B, R] arrays (oldLogp, whitened, …) are right-padded, so their first R columns line up.
      const mb = sequenceBatch(idx.map((i) => r.prompts[i]), idx.map((i) => r.responses[i]), o.padId);
      const pick = (rows: Matrix) => idx.map((i) => rows[i].slice(0, mb.responseLength));
      const ptxBatch = config.ptxCoef > 0 ? o.ptx!.batches.batch(ptxStep++) : undefined;
      const got = await gradientStepStats(params, o.optimizer, () => {
        const m = tf.tensor2d(pick(s.mask));
        const ev = evaluateResponses(o.policy.lm, o.policy.value, mb, config.sampling);
        const pl = clippedPolicyLoss(ev.logprobs, tf.tensor2d(pick(s.oldLogp)), tf.tensor2d(pick(a.whitened)), m, config.clipRange);
        const vl = clippedValueLoss(ev.values!, tf.tensor2d(pick(s.oldValues)), tf.tensor2d(pick(a.returns)), m, config.clipRangeValue);
        const ptx = ptxBatch ? nextTokenLoss(o.policy.lm, ptxBatch) : tf.scalar(0);
        const ppoLoss = tf.add(pl.loss, tf.mul(config.vfCoef, vl.loss)) as tf.Scalar;
        return {
          loss: ptxBatch ? tf.add(ppoLoss, tf.mul(config.ptxCoef, ptx)) as tf.Scalar : ppoLoss,
          keep: { pg: pl.loss, vf: vl.loss, ptx, clip: pl.clipfrac, vclip: vl.clipfrac, approxkl: pl.approxkl, ratio: pl.ratio },
        };
      }, { lr: config.lr, gradClip: config.gradClip, tokens: positions(mb.ids) + (ptxBatch ? positions(ptxBatch.ids) : 0) });
      for (const key of Object.keys(stat) as (keyof typeof stat)[]) stat[key].push(got[key]);
      return got.approxkl > config.maxApproxKl;
    },
  );
  return { ...stat, epochsDone };
}

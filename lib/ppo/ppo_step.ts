/**
 * One PPO iteration for language models, in the steps of the literature
 * (Ziegler et al. 2019; InstructGPT; lm-human-preferences / TRL):
 *
 *   1. rollout: sample responses with the KV cache (dropout off); stop at the end token
 *   2. score each (prompt, response) with the reward function; penalise responses that never end
 *   3. log-probs under the sampling distribution for the policy (old) and the frozen reference; values
 *   4. per-token rewards: −β·KL_t, plus the score at the last response token
 *   5. advantages by GAE (γ, λ) and returns = A + V
 *   6. whiten the advantages over the whole batch (masked)
 *   7. several epochs over shuffled minibatches: clipped policy loss + c·clipped value loss
 *      (+ γ·next-token loss on a supervised batch: InstructGPT's PPO-ptx, when γ > 0),
 *      gradient clipping, AdamW; stop the epochs early if approx KL exceeds its limit
 *   8. update the KL controller with this batch's mean KL
 */
import { tf } from "../tf.ts";
import { generate } from "../generate/generate.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { AdamW } from "../train/adamw.ts";
import { gradientStep } from "../train/gradient_step.ts";
import type { Rng } from "../train/rng.ts";
import { batchLoss } from "../train/train_step.ts";
import type { BatchSource } from "../data/lm_batches.ts";
import { computeGae, maskedVar, maskedWhiten, type Matrix } from "./advantages.ts";
import { type AdaptiveKLController, type FixedKLController, perTokenRewards } from "./kl.ts";
import { clippedPolicyLoss, clippedValueLoss } from "./losses.ts";
import type { PPOConfig } from "./ppo_config.ts";
import { evaluateResponses, type Policy, policyParams, sequenceBatch } from "./policy.ts";

/** Scores a batch of (prompt index, response tokens); higher is better. */
export type RewardFunction = (promptIndices: number[], responses: number[][]) => Promise<number[]>;

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
  /** Next-token loss on the supervised batches (PPO-ptx); 0 when γ = 0. */
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

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const toMatrix = async (t: tf.Tensor) => (await t.array()) as Matrix;

export async function ppoIteration(
  policy: Policy,
  reference: GPT2Model,
  optimizer: AdamW,
  klController: AdaptiveKLController | FixedKLController,
  prompts: readonly number[][],
  reward: RewardFunction,
  config: PPOConfig,
  options: {
    stopId: number;
    padId: number;
    rng: Rng;
    /**
     * Supervised batches for PPO-ptx (used when config.ptxCoef > 0) and this iteration's number: minibatch n of
     * iteration i takes batch i · (minibatches per iteration) + n, so a resumed run reads the same batches.
     */
    ptx?: { batches: BatchSource; iteration: number };
  },
): Promise<PPOIterationResult> {
  if (config.ptxCoef > 0 && !options.ptx) throw new Error("ppoIteration: config.ptxCoef > 0 needs options.ptx (the supervised batches)");
  const t0 = performance.now();
  // 1. rollout
  const generation = await generate(policy.lm, prompts, {
    ...config.sampling,
    maxNewTokens: config.maxNewTokens,
    stopIds: [options.stopId],
    padId: options.padId,
    rng: options.rng,
  });
  const responses = generation.tokens.map((r) => (r.length ? r : [options.padId])); // an empty response still gets a state
  const batch = sequenceBatch(prompts, responses, options.padId);
  const t1 = performance.now();

  // 2. scores (with the penalty for responses that never end)
  const raw = await reward(prompts.map((_, i) => i), generation.tokens);
  const scores = raw.map((s, b) => {
    const clipped = config.scoreClip > 0 ? Math.max(-config.scoreClip, Math.min(config.scoreClip, s)) : s;
    return generation.finished[b] ? clipped : clipped - config.noEndPenalty;
  });
  const t2 = performance.now();

  // 3. old log-probs, reference log-probs and values (no gradients; dropout off)
  const [oldLogp, refLogp, oldValues, entropy] = await (async () => {
    const ev = tf.tidy(() => {
      const p = evaluateResponses(policy.lm, policy.value, batch, config.sampling, { entropy: true });
      const r = evaluateResponses(reference, undefined, batch, config.sampling);
      return [p.logprobs, r.logprobs, p.values!, p.entropy!];
    });
    const out = await Promise.all(ev.map(toMatrix));
    tf.dispose(ev);
    return out;
  })();
  const mask = batch.responseMask;

  // 4. per-token rewards
  const beta = klController.value;
  const { rewards, kl } = perTokenRewards(scores, oldLogp, refLogp, mask, beta, config.klEstimator);
  // 5. advantages and returns
  const { advantages, returns } = computeGae(rewards, oldValues, mask, { gamma: config.gamma, lambda: config.lambda });
  // 6. whiten over the whole batch
  const whitened = maskedWhiten(advantages, mask);

  // 7. epochs of minibatch updates
  const params = policyParams(policy);
  const B = prompts.length;
  const stat = {
    pg: [] as number[],
    vf: [] as number[],
    ptx: [] as number[],
    clip: [] as number[],
    vclip: [] as number[],
    approxkl: [] as number[],
    ratio: [] as number[],
  };
  let epochsDone = 0;
  let ptxStep = options.ptx ? options.ptx.iteration * config.ppoEpochs * Math.ceil(B / config.miniBatchSize) : 0;
  outer: for (let epoch = 0; epoch < config.ppoEpochs; epoch++) {
    const order = options.rng.shuffle(Array.from({ length: B }, (_, i) => i));
    for (let start = 0; start < B; start += config.miniBatchSize) {
      const idx = order.slice(start, start + config.miniBatchSize);
      // Padded to the minibatch's own longest prompt and response (not the whole batch's: less wasted
      // compute); the [B, R] arrays (oldLogp, whitened, …) are right-padded, so their first R columns line up.
      const mb = sequenceBatch(idx.map((i) => prompts[i]), idx.map((i) => responses[i]), options.padId);
      const pick = (rows: Matrix) => idx.map((i) => rows[i].slice(0, mb.responseLength));
      const ptxBatch = config.ptxCoef > 0 ? options.ptx!.batches.batch(ptxStep++) : undefined;
      const out = tf.tidy(() => {
        const m = tf.tensor2d(pick(mask));
        const step = gradientStep(params, optimizer, () => {
          const ev = evaluateResponses(policy.lm, policy.value, mb, config.sampling);
          const pl = clippedPolicyLoss(ev.logprobs, tf.tensor2d(pick(oldLogp)), tf.tensor2d(pick(whitened)), m, config.clipRange);
          const vl = clippedValueLoss(ev.values!, tf.tensor2d(pick(oldValues)), tf.tensor2d(pick(returns)), m, config.clipRangeValue);
          const ptx = ptxBatch ? batchLoss(policy.lm, ptxBatch) : tf.scalar(0);
          const ppoLoss = tf.add(pl.loss, tf.mul(config.vfCoef, vl.loss)) as tf.Scalar;
          return {
            loss: ptxBatch ? tf.add(ppoLoss, tf.mul(config.ptxCoef, ptx)) as tf.Scalar : ppoLoss,
            // the minibatch's statistics, kept past the gradient scope
            keep: { pg: pl.loss, vf: vl.loss, ptx, clip: pl.clipfrac, vclip: vl.clipfrac, approxkl: pl.approxkl, ratio: pl.ratio },
          };
        }, { lr: config.lr, gradClip: config.gradClip });
        step.loss.dispose();
        step.gradNorm.dispose();
        const k = step.kept;
        return [k.pg, k.vf, k.ptx, k.clip, k.vclip, k.approxkl, k.ratio];
      });
      const [pg, vf, ptx, clip, vclip, approxkl, ratio] = await Promise.all(out.map(async (t) => (await t.data())[0]));
      tf.dispose(out);
      stat.pg.push(pg);
      stat.vf.push(vf);
      stat.ptx.push(ptx);
      stat.clip.push(clip);
      stat.vclip.push(vclip);
      stat.approxkl.push(approxkl);
      stat.ratio.push(ratio);
      if (approxkl > config.maxApproxKl) {
        epochsDone = epoch + 1;
        break outer;
      }
    }
    epochsDone = epoch + 1;
  }
  const t3 = performance.now();

  // 8. KL controller
  const seqKl = kl.map((row) => row.reduce((a, b) => a + b, 0));
  klController.update(mean(seqKl), B);

  const flatMasked = (x: Matrix) => x.flatMap((row, b) => row.filter((_, t) => mask[b][t]));
  const residual = returns.map((row, b) => row.map((r, t) => r - oldValues[b][t]));
  const stats: PPOStats = {
    "objective/kl": mean(seqKl),
    "objective/scores": mean(scores),
    "objective/rlhf_reward": mean(rewards.map((row) => row.reduce((a, b) => a + b, 0))),
    "objective/entropy": mean(entropy.map((row, b) => row.reduce((a, h, t) => a + (mask[b][t] ? h : 0), 0))),
    "objective/kl_coef": beta,
    "policy/approxkl": mean(stat.approxkl),
    "policy/clipfrac": mean(stat.clip),
    "loss/policy": mean(stat.pg),
    "loss/value": mean(stat.vf),
    "loss/ptx": mean(stat.ptx),
    "val/clipfrac": mean(stat.vclip),
    "val/explained_variance": flatMasked(mask).length > 1 ? 1 - maskedVar(residual, mask) / Math.max(1e-8, maskedVar(returns, mask)) : 0,
    "val/ratio": mean(stat.ratio),
    "response/length": mean(generation.tokens.map((r) => r.length)),
    "response/ended": mean(generation.finished.map((f) => (f ? 1 : 0))),
    "ppo/epochs_done": epochsDone,
    "time/rollout_s": (t1 - t0) / 1000,
    "time/score_s": (t2 - t1) / 1000,
    "time/update_s": (t3 - t2) / 1000,
  };
  return { stats, responses: generation.tokens, scores };
}

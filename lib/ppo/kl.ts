/**
 * The KL penalty that keeps the policy near the SFT model, and the controller
 * of its coefficient β. The per-token estimators (k1, k3) are in
 * lib/rollout/kl_estimators.ts.
 */
import { type KlEstimator, klPerToken } from "../rollout/kl_estimators.ts";

/**
 * β that stays put.
 *
 * @example
 * ```ts
 * import { FixedKLController } from "rlhf";
 * const beta = new FixedKLController(0.05);
 * beta.update(12, 64); // whatever the batch's KL
 * beta.value; // 0.05
 * ```
 */
export class FixedKLController {
  constructor(public value: number) {}
  update(_currentKl: number, _nSteps: number): void {}
  state() {
    return { kind: "fixed" as const, value: this.value };
  }
}

/**
 * Adaptive β (Ziegler et al. 2019, as used by InstructGPT): after each batch,
 *   e = clip(KL / target − 1, −0.2, 0.2),  β ← β · (1 + e · n / horizon)
 * where n is the number of samples in the batch: β grows while the KL is above
 * target and shrinks below it.
 *
 * @example
 * ```ts
 * import { AdaptiveKLController } from "rlhf";
 * const beta = new AdaptiveKLController(0.05, 6, 10000); // β, target KL 6 nats per answer, horizon 10000 answers
 * beta.update(12, 64); // a batch of 64 answers at twice the target: the error is clipped to 0.2
 * beta.value; // 0.050064 = 0.05 · (1 + 0.2 · 64 / 10000)
 * ```
 */
export class AdaptiveKLController {
  constructor(public value: number, readonly target: number, readonly horizon: number) {
    if (!(target > 0)) throw new Error(`AdaptiveKLController.target: expected > 0, got ${target}`);
    if (!(horizon > 0)) throw new Error(`AdaptiveKLController.horizon: expected > 0, got ${horizon}`);
  }
  update(currentKl: number, nSteps: number): void {
    const error = Math.min(0.2, Math.max(-0.2, currentKl / this.target - 1));
    this.value *= 1 + (error * nSteps) / this.horizon;
  }
  state() {
    return { kind: "adaptive" as const, value: this.value, target: this.target, horizon: this.horizon };
  }
}

/**
 * Per-token rewards of a rollout: −β·KL_t on every response token, plus the
 * sequence score on its last real token.
 *
 * @example
 * ```ts
 * import { perTokenRewards } from "rlhf";
 * // One answer of two tokens, score 1; β = 0.1.
 * const { rewards, kl } = perTokenRewards([1], [[-1, -2]], [[-1.5, -2]], [[1, 1]], 0.1);
 * kl; // [[0.5, 0]]
 * rewards; // [[-0.05, 1]]: −β·KL on each token, the score added at the last
 * ```
 */
export function perTokenRewards(
  scores: readonly number[],
  logp: number[][],
  logpRef: number[][],
  mask: number[][],
  beta: number,
  estimator: KlEstimator = "k1",
): { rewards: number[][]; kl: number[][] } {
  const kl = logp.map((row, b) => row.map((lp, t) => (mask[b][t] ? klPerToken(lp, logpRef[b][t], estimator) : 0)));
  const rewards = kl.map((row, b) => row.map((k, t) => (mask[b][t] ? -beta * k : 0)));
  rewards.forEach((row, b) => {
    const last = mask[b].lastIndexOf(1);
    if (last >= 0) row[last] += scores[b];
  });
  return { rewards, kl };
}

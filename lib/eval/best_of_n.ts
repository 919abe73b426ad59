/**
 * Best-of-n: sample n answers from the SFT model and let the reward model
 * pick one. The simplest way to use a reward model, and the baseline the
 * literature puts beside PPO (Stiennon et al. 2020; Gao et al. 2022): it
 * needs no training, and its KL to the SFT model is known in closed form,
 *
 *   KL(best-of-n ‖ SFT) = log n − (n − 1) / n     (0.636 nats for n = 4)
 *
 * (an upper bound that is exact when the n answers are distinct, as sampled
 * poems are).
 */

/**
 * The closed-form KL of best-of-n sampling to the sampling model, in nats.
 *
 * @example
 * ```ts
 * import { bestOfNKl } from "rlhf";
 * bestOfNKl(4); // 0.636 nats: log 4 − 3/4
 * ```
 */
export function bestOfNKl(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`bestOfNKl: n must be a positive integer, got ${n}`);
  return Math.log(n) - (n - 1) / n;
}

/**
 * For requests asked in rounds (answer r of request i at index r · requests + i,
 * the layout of `inRounds`), the index of the answer with the highest reward
 * for each request (the first on a tie).
 *
 * @example
 * ```ts
 * import { bestOfN } from "rlhf";
 * // Two requests asked in three rounds: the reward of answer r to request i is at r · 2 + i.
 * bestOfN([0.1, 0.5, 0.9, 0.2, 0.3, 0.4], 2); // [2, 1]: request 0's best answer is at 2, request 1's at 1
 * ```
 */
export function bestOfN(rewards: readonly number[], requests: number): number[] {
  if (requests < 1 || rewards.length % requests !== 0) {
    throw new Error(`bestOfN: ${rewards.length} rewards is not a whole number of rounds of ${requests} requests`);
  }
  const rounds = rewards.length / requests;
  return Array.from({ length: requests }, (_, i) => {
    let best = i;
    for (let r = 1; r < rounds; r++) if (rewards[r * requests + i] > rewards[best]) best = r * requests + i;
    return best;
  });
}

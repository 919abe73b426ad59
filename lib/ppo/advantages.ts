/**
 * Advantages for PPO, in plain JavaScript over [batch][time] arrays (a
 * rollout is small, and the recursion runs backwards in time).
 *
 * GAE (Schulman et al. 2016), per response, over its real tokens (mask 1):
 *   δ_t = r_t + γ·V_{t+1} − V_t          (V after the last token is 0)
 *   A_t = δ_t + γ·λ·A_{t+1}
 *   returns_t = A_t + V_t                (the value head's regression target)
 * Then advantages are whitened over the whole batch (all masked tokens of all
 * responses together), never per sequence.
 */

import type { Matrix } from "../rollout/sequence_batch.ts";

/**
 * Mean of x over positions where mask = 1.
 *
 * @example
 * ```ts
 * import { maskedMean } from "rlhf";
 * maskedMean([[1, 2, 9], [3, 9, 9]], [[1, 1, 0], [1, 0, 0]]); // 2: the padding (the 9s) is left out
 * ```
 */
export function maskedMean(x: Matrix, mask: Matrix): number {
  let sum = 0;
  let n = 0;
  x.forEach((row, b) =>
    row.forEach((v, t) => {
      if (mask[b][t]) {
        sum += v;
        n++;
      }
    })
  );
  if (n === 0) throw new Error("maskedMean: the mask selects nothing");
  return sum / n;
}

/**
 * Variance over masked positions; `unbiased` divides by n − 1 (as torch.var).
 *
 * @example
 * ```ts
 * import { maskedVar } from "rlhf";
 * maskedVar([[1, 2, 9], [3, 9, 9]], [[1, 1, 0], [1, 0, 0]]); // 1: of 1, 2 and 3, divided by n − 1 as torch.var
 * ```
 */
export function maskedVar(x: Matrix, mask: Matrix, unbiased = true): number {
  const mean = maskedMean(x, mask);
  let sum = 0;
  let n = 0;
  x.forEach((row, b) =>
    row.forEach((v, t) => {
      if (mask[b][t]) {
        sum += (v - mean) ** 2;
        n++;
      }
    })
  );
  if (unbiased) {
    if (n < 2) throw new Error("maskedVar: need at least 2 masked values for an unbiased variance");
    return sum / (n - 1);
  }
  return sum / n;
}

/**
 * (x − mean) / √(var + 1e-8) over masked positions; masked-out positions
 * become 0. With `shiftMean = false` the mean is added back (scale only).
 *
 * @example
 * ```ts
 * import { maskedWhiten } from "rlhf";
 * maskedWhiten([[1, 2, 9], [3, 9, 9]], [[1, 1, 0], [1, 0, 0]]); // [[-1, 0, 0], [1, 0, 0]]
 * ```
 */
export function maskedWhiten(x: Matrix, mask: Matrix, shiftMean = true): Matrix {
  const mean = maskedMean(x, mask);
  const scale = 1 / Math.sqrt(maskedVar(x, mask) + 1e-8);
  return x.map((row, b) => row.map((v, t) => (mask[b][t] ? (v - mean) * scale + (shiftMean ? 0 : mean) : 0)));
}

/**
 * GAE advantages and returns for each response; positions with mask 0 get 0.
 *
 * @example
 * ```ts
 * import { computeGae } from "rlhf";
 * // One answer of 3 tokens: the score 1 comes at its last token; the value head predicted 0.5 everywhere.
 * const { advantages, returns } = computeGae([[0, 0, 1]], [[0.5, 0.5, 0.5]], [[1, 1, 1]], { gamma: 1, lambda: 1 });
 * advantages; // [[0.5, 0.5, 0.5]]: with γ = λ = 1, A_t = the rewards from t on − V_t
 * returns; // [[1, 1, 1]]: what the value head learns to predict
 * ```
 */
export function computeGae(
  rewards: Matrix,
  values: Matrix,
  mask: Matrix,
  options: { gamma?: number; lambda?: number } = {},
): { advantages: Matrix; returns: Matrix } {
  const gamma = options.gamma ?? 1;
  const lambda = options.lambda ?? 0.95;
  const advantages = rewards.map((row) => row.map(() => 0));
  const returns = rewards.map((row) => row.map(() => 0));
  rewards.forEach((row, b) => {
    let next = 0; // A_{t+1}
    let nextValue = 0; // V_{t+1}: 0 after the last real token
    for (let t = row.length - 1; t >= 0; t--) {
      if (!mask[b][t]) continue;
      const delta = row[t] + gamma * nextValue - values[b][t];
      next = delta + gamma * lambda * next;
      advantages[b][t] = next;
      returns[b][t] = next + values[b][t];
      nextValue = values[b][t];
    }
  });
  return { advantages, returns };
}

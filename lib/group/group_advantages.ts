/**
 * Critic-free baselines: sample G answers to the same prompt and let the
 * group be its own baseline, instead of PPO's learned value head.
 *
 *   RLOO (Ahmadian et al. 2024):  A_i = r_i − mean_{j ≠ i} r_j          (leave one out)
 *   GRPO (Shao et al. 2024):      A_i = (r_i − mean_j r_j) / (std_j r_j + ε)
 *
 * One advantage per answer, the same for every token of it. A group whose
 * answers all score the same teaches nothing: every advantage is 0.
 */

export type GroupMethod = "rloo" | "grpo";

/**
 * Advantages of `rewards` laid out group by group (answers i·G … i·G + G − 1
 * answer prompt i). GRPO's std is the sample standard deviation (as torch.std).
 *
 * @example
 * ```ts
 * import { groupAdvantages } from "rlhf";
 * // Two prompts, three answers each, group by group.
 * groupAdvantages([1, 0, 0, 1, 1, 1], 3, "rloo"); // [1, -0.5, -0.5, 0, 0, 0]: the second group teaches nothing
 * groupAdvantages([1, 0, 0], 3, "grpo"); // [1.15, -0.58, -0.58]: (r − mean) / std
 * ```
 */
export function groupAdvantages(rewards: readonly number[], groupSize: number, method: GroupMethod, eps = 1e-4): number[] {
  const G = groupSize;
  if (!Number.isInteger(G) || G < 2) throw new Error(`groupAdvantages: groupSize must be an integer ≥ 2, got ${G}`);
  if (rewards.length % G !== 0) throw new Error(`groupAdvantages: ${rewards.length} rewards is not a whole number of groups of ${G}`);
  const out: number[] = [];
  for (let g = 0; g < rewards.length; g += G) {
    const group = rewards.slice(g, g + G);
    const sum = group.reduce((a, b) => a + b, 0);
    const mean = sum / G;
    if (method === "rloo") {
      for (const r of group) out.push(r - (sum - r) / (G - 1));
    } else {
      const std = Math.sqrt(group.reduce((a, r) => a + (r - mean) ** 2, 0) / (G - 1));
      for (const r of group) out.push((r - mean) / (std + eps));
    }
  }
  return out;
}

/**
 * What did the reward model learn? For every pair of answers to the same
 * request that the gold scorer tells apart, which part of the gold score
 * differs (only line count, only rhyme, … or several), and how often the
 * reward model orders that pair the gold scorer's way. A kind of pair at 0.5
 * is one the reward model cannot see at all.
 */
import type { GoldScore } from "../tasks/types.ts";
import { rankPairs } from "../reward/ranking_loss.ts";

export interface PartAgreement {
  /** The one gold part that differs, or "several". */
  readonly kind: string;
  readonly pairs: number;
  /** Fraction of those pairs the reward model orders as the gold score does. */
  readonly agreement: number;
}

/**
 * `rewards[l][i]` is the reward-model score of answer i of list l and
 * `gold[l][i]` its gold score; pairs with equal gold totals are skipped.
 * Sorted by number of pairs, most first.
 *
 * @example
 * ```ts
 * import { agreementByPart } from "rlhf";
 * // One list of two answers: the gold scorer prefers the first only for its rhyme, and so does the reward model.
 * const gold = [[{ total: 1, parts: { rhyme: 1, form: 1 } }, { total: 0.5, parts: { rhyme: 0, form: 1 } }]];
 * agreementByPart([[0.3, 0.1]], gold); // [{ kind: "rhyme", pairs: 1, agreement: 1 }]
 * ```
 */
export function agreementByPart(rewards: readonly (readonly number[])[], gold: readonly (readonly GoldScore[])[]): PartAgreement[] {
  const counts = new Map<string, { pairs: number; agree: number }>();
  rewards.forEach((row, l) => {
    for (const [i, j] of rankPairs(row.length)) {
      const [gi, gj] = [gold[l][i], gold[l][j]];
      const difference = gi.total - gj.total;
      if (difference === 0) continue;
      const differing = Object.keys(gi.parts).filter((k) => gi.parts[k] !== gj.parts[k]);
      const kind = differing.length === 1 ? differing[0] : "several";
      const c = counts.get(kind) ?? { pairs: 0, agree: 0 };
      c.pairs++;
      if ((row[i] - row[j]) * difference > 0) c.agree++;
      counts.set(kind, c);
    }
  });
  return [...counts].map(([kind, c]) => ({ kind, pairs: c.pairs, agreement: c.agree / c.pairs })).sort((a, b) => b.pairs - a.pairs);
}

/**
 * The reward model's loss on human rankings (InstructGPT): for a rank list
 * of K responses ordered best → worst, every one of the C(K,2) pairs (i, j)
 * with i ranked above j contributes −log σ(r_i − r_j), averaged over the pairs
 * and then over the lists. Bradley–Terry: P(i preferred to j) = σ(r_i − r_j).
 * Pairs the labeler marked as tied say nothing about which is better: they
 * are left out of the loss and of the accuracy.
 */
import { tf } from "../tf.ts";

/**
 * All pairs (better, worse) of a rank list of length K: C(K, 2) of them.
 *
 * @example
 * ```ts
 * import { rankPairs } from "rlhf";
 * rankPairs(3); // [[0, 1], [0, 2], [1, 2]]: the C(3, 2) pairs (better, worse) of a list of 3
 * ```
 */
export function rankPairs(K: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < K; i++) for (let j = i + 1; j < K; j++) pairs.push([i, j]);
  return pairs;
}

/** Whether pair (i, j) of a list with these ranks says something (i ranked strictly above j). */
const strict = (ranks: readonly number[] | undefined, i: number, j: number) => !ranks || ranks[i] < ranks[j];

/**
 * Mean pairwise loss of `scores` [L, K], each row the rewards of one rank list
 * in its best → worst order; `ranks[l]` (optional) marks ties in list l.
 *
 * @example
 * ```ts
 * import { rankingLoss, tf } from "rlhf";
 * // The rewards of one list of 3 answers, in the labeler's best → worst order.
 * const rewards = tf.tensor2d([[2, 1, 0]]);
 * rankingLoss(rewards).dataSync()[0]; // 0.251: the mean of −log σ(1), −log σ(2), −log σ(1)
 * rankingLoss(rewards, [[1, 2, 2]]).dataSync()[0]; // 0.220: the 2nd and 3rd are tied, their pair is left out
 * ```
 */
export function rankingLoss(scores: tf.Tensor2D, ranks?: readonly (readonly number[] | undefined)[]): tf.Scalar {
  return tf.tidy(() => {
    const [L, K] = scores.shape;
    const pairs = rankPairs(K);
    // Differences through a fixed [K, P] matrix (+1 for the better, −1 for the worse):
    // a matmul instead of a gather, whose gradient wasm lacks.
    const select = new Float32Array(K * pairs.length);
    pairs.forEach(([i, j], p) => {
      select[i * pairs.length + p] = 1;
      select[j * pairs.length + p] = -1;
    });
    const margins = tf.matMul(scores, tf.tensor2d(select, [K, pairs.length])); // [L, P]: r_better − r_worse
    const losses = tf.softplus(tf.neg(margins)); // −log σ(m) = softplus(−m)
    if (!ranks?.some((r) => r)) return tf.mean(losses) as tf.Scalar;
    // Mean over each list's strict pairs, then over the lists that have any.
    const mask = tf.tensor2d(Array.from({ length: L }, (_, l) => pairs.map(([i, j]) => (strict(ranks[l], i, j) ? 1 : 0))), [
      L,
      pairs.length,
    ]);
    const counts = tf.sum(mask, 1);
    const perList = tf.div(tf.sum(tf.mul(losses, mask), 1), tf.maximum(counts, 1));
    const lists = tf.sum(tf.cast(tf.greater(counts, 0), "float32"));
    return tf.div(tf.sum(perList), tf.maximum(lists, 1)) as tf.Scalar;
  });
}

/**
 * Fraction of strict pairs ordered correctly (r_better > r_worse), and of
 * lists whose strict pairs are all ordered correctly (lists with none are left out).
 *
 * @example
 * ```ts
 * import { rankingAccuracy } from "rlhf";
 * // Two lists, each in the labeler's best → worst order: the first ordered right, the second reversed.
 * rankingAccuracy([[2, 1, 0], [0, 1, 2]]); // { pairwise: 0.5, exactOrder: 0.5 }
 * ```
 */
export function rankingAccuracy(
  scores: readonly (readonly number[])[],
  ranks?: readonly (readonly number[] | undefined)[],
): { pairwise: number; exactOrder: number } {
  let pairsRight = 0;
  let pairsTotal = 0;
  let listsRight = 0;
  let listsTotal = 0;
  scores.forEach((row, l) => {
    let all = true;
    let any = false;
    for (const [i, j] of rankPairs(row.length)) {
      if (!strict(ranks?.[l], i, j)) continue;
      any = true;
      pairsTotal++;
      if (row[i] > row[j]) pairsRight++;
      else all = false;
    }
    if (!any) return;
    listsTotal++;
    if (all) listsRight++;
  });
  return { pairwise: pairsTotal ? pairsRight / pairsTotal : 0, exactOrder: listsTotal ? listsRight / listsTotal : 0 };
}

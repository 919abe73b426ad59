/**
 * The reward model's loss on human rankings (InstructGPT): for a rank list
 * of K responses ordered best → worst, every one of the C(K,2) pairs (i, j)
 * with i ranked above j contributes −log σ(r_i − r_j), averaged over the pairs
 * and then over the lists. Bradley–Terry: P(i preferred to j) = σ(r_i − r_j).
 */
import { tf } from "../tf.ts";

/** All pairs (better, worse) of a rank list of length K: C(K, 2) of them. */
export function rankPairs(K: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < K; i++) for (let j = i + 1; j < K; j++) pairs.push([i, j]);
  return pairs;
}

/**
 * Mean pairwise loss of `scores` [L, K], each row the rewards of one rank list
 * in its best → worst order.
 */
export function rankingLoss(scores: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const K = scores.shape[1];
    const pairs = rankPairs(K);
    // Differences through a fixed [K, P] matrix (+1 for the better, −1 for the worse):
    // a matmul instead of a gather, whose gradient wasm lacks.
    const select = new Float32Array(K * pairs.length);
    pairs.forEach(([i, j], p) => {
      select[i * pairs.length + p] = 1;
      select[j * pairs.length + p] = -1;
    });
    const margins = tf.matMul(scores, tf.tensor2d(select, [K, pairs.length])); // [L, P]: r_better − r_worse
    return tf.mean(tf.softplus(tf.neg(margins))) as tf.Scalar; // −log σ(m) = softplus(−m)
  });
}

/** Fraction of pairs ordered correctly (r_better > r_worse), and of lists ordered entirely correctly. */
export function rankingAccuracy(scores: readonly (readonly number[])[]): { pairwise: number; exactOrder: number } {
  let pairsRight = 0;
  let pairsTotal = 0;
  let listsRight = 0;
  for (const row of scores) {
    let all = true;
    for (const [i, j] of rankPairs(row.length)) {
      pairsTotal++;
      if (row[i] > row[j]) pairsRight++;
      else all = false;
    }
    if (all) listsRight++;
  }
  return { pairwise: pairsTotal ? pairsRight / pairsTotal : 0, exactOrder: scores.length ? listsRight / scores.length : 0 };
}

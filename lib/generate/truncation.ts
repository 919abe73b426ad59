/**
 * Top-k and top-p (nucleus) truncation: which tokens of one logits row the
 * sampler may draw, and with what probability. One rule, written twice:
 *
 * - `samplingDistribution`, for readers: sort, cut, renormalise;
 * - `truncatedDistribution`, the same set without sorting the vocabulary,
 *   which the sampler (sampling.ts) and the log-probs of answers (lib/rollout/logprobs.ts)
 *   use. tests/sampling_test.ts checks the two against each other.
 *
 * The rule, as Hugging Face's logits processors and warpers apply it: suppressed
 * ids (e.g. the tokenizer's `[UNK]`) are never drawn; divide by the
 * temperature; top-k keeps the k largest logits and any tied with the k-th;
 * top-p then keeps, of the softmax over those, the most likely tokens until
 * their probability reaches p (and any tied with the last one kept); the kept
 * probabilities are renormalised to sum to 1.
 */

/** How tokens are chosen; see SamplingOptions in sampling.ts (`suppressIds`: ids never drawn). */
export interface TruncationOptions {
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly suppressIds?: readonly number[];
}

/**
 * The truncated, renormalised sampling distribution of one logits row: the kept token ids, most likely
 * first (ties by id), and their probabilities (summing to 1). Without truncation, every id (but the suppressed ones)
 * in vocabulary order.
 *
 * @example
 * ```ts
 * import { samplingDistribution } from "rlhf";
 * samplingDistribution([Math.log(0.5), Math.log(0.3), Math.log(0.2)], { topP: 0.7 }); // { ids: [0, 1], probs: [0.625, 0.375] }
 * ```
 */
export function samplingDistribution(logits: ArrayLike<number>, options: TruncationOptions = {}): { ids: number[]; probs: number[] } {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  const suppressed = new Set(options.suppressIds ?? []);
  let ids = Array.from({ length: logits.length }, (_, i) => i).filter((i) => !suppressed.has(i));
  const V = ids.length;
  const truncating = (topK > 0 && topK < V) || topP < 1;
  if (truncating) ids.sort((a, b) => logits[b] - logits[a] || a - b); // most likely first
  if (topK > 0 && topK < V) {
    const kth = logits[ids[topK - 1]];
    ids = ids.filter((i) => logits[i] >= kth);
  }
  let probs = softmax(ids.map((i) => logits[i] / temperature));
  if (topP < 1) {
    let cumulative = 0;
    let last = 0; // the position at which the running sum first reaches topP
    while (last < probs.length - 1 && (cumulative += probs[last]) < topP) last++;
    const cutoff = probs[last];
    const kept = ids.map((_, j) => j).filter((j) => probs[j] >= cutoff);
    ids = kept.map((j) => ids[j]);
    probs = kept.map((j) => probs[j]);
  }
  const mass = probs.reduce((a, b) => a + b, 0);
  return { ids, probs: probs.map((p) => p / mass) };
}

function softmax(z: readonly number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/**
 * The same distribution in vocabulary order, without sorting every id: the softmax over the top-k
 * candidates (0 outside, and at suppressed ids), which tokens top-p keeps (`isKept`), and the kept tokens'
 * total probability (`probs[i] / mass` is the renormalised probability of a kept token i).
 */
export function truncatedDistribution(
  logits: ArrayLike<number>,
  options: TruncationOptions = {},
): { probs: Float64Array; isKept: (i: number) => boolean; mass: number } {
  const { temperature = 1, topK = 0, topP = 1, suppressIds = [] } = options;
  const V = logits.length;
  const suppressed = new Set(suppressIds.filter((i) => i >= 0 && i < V));
  const allowed = V - suppressed.size;
  const kth = topK > 0 && topK < allowed ? kthLargest(logits, topK, suppressed) : -Infinity;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
  const probs = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) if (logits[i] >= kth && !suppressed.has(i)) sum += probs[i] = Math.exp((logits[i] - max) / temperature);
  for (let i = 0; i < V; i++) probs[i] /= sum;
  const cutoff = topP < 1 ? nucleusCutoff(probs, topP) : 0;
  const isKept = (i: number) => logits[i] >= kth && probs[i] >= cutoff && !suppressed.has(i);
  let mass = 0;
  for (let i = 0; i < V; i++) if (isKept(i)) mass += probs[i];
  return { probs, isKept, mass };
}

/**
 * The smallest probability in the top-p nucleus: walking probabilities from
 * the largest, the one at which the running sum first reaches `topP` (so
 * tokens tied with it are kept too). Only tokens above a threshold that
 * already holds `topP` of the mass are sorted (natively, as a Float64Array).
 */
function nucleusCutoff(probs: Float64Array, topP: number): number {
  const threshold = likelyThreshold(probs, topP);
  const sorted = probs.filter((p) => p >= threshold).sort(); // ascending
  let cumulative = 0;
  for (let i = sorted.length - 1; i >= 0; i--) {
    cumulative += sorted[i];
    if (cumulative >= topP) return sorted[i];
  }
  return sorted[0] > 0 ? sorted[0] : Number.MIN_VALUE; // rounding kept the sum below topP: keep every candidate
}

/**
 * A probability threshold such that the tokens at or above it already hold
 * `topP` of the mass (1e-3, else 1e-5, …; 0 if none does): the nucleus is
 * among them, and sorting only them is enough.
 */
function likelyThreshold(probs: Float64Array, topP: number): number {
  for (let threshold = 1e-3; threshold > 1e-12; threshold /= 100) {
    let mass = 0;
    for (let i = 0; i < probs.length; i++) if (probs[i] >= threshold) mass += probs[i];
    if (mass >= topP) return threshold;
  }
  return 0;
}

/** The k-th largest value (1-based) outside `skip`, by sorting a float64 copy (typed-array sort is native). */
function kthLargest(values: ArrayLike<number>, k: number, skip: ReadonlySet<number>): number {
  const copy = Float64Array.from(values);
  for (const i of skip) copy[i] = -Infinity;
  const sorted = copy.sort();
  return sorted[values.length - k];
}

/** 1 where the sampler may draw token j of row i of `rows` ([N, V], row-major), else 0: the kept sets of every row. */
export function keptMask(rows: Float32Array, V: number, options: TruncationOptions): Float32Array {
  const mask = new Float32Array(rows.length);
  for (let r = 0; r < rows.length / V; r++) {
    const row = rows.subarray(r * V, (r + 1) * V);
    const { isKept } = truncatedDistribution(row, options);
    for (let j = 0; j < V; j++) if (isKept(j)) mask[r * V + j] = 1;
  }
  return mask;
}

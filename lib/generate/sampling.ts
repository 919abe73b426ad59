/**
 * Choosing the next token from one row of logits, in plain JavaScript
 * (float64), and reporting its log-probability under exactly the distribution
 * it was drawn from: after temperature, top-k and top-p truncation and
 * renormalisation. PPO later scores tokens with the same rules; scoring with
 * the full softmax instead (as much RLHF code does) is quietly wrong.
 */

/** Where uniform random numbers in [0, 1) come from (seeded in practice). */
export interface RandomSource {
  nextFloat(): number;
}

export interface SamplingOptions {
  /** Divides the logits; < 1 sharpens, > 1 flattens. @default 1 */
  readonly temperature?: number;
  /** Keep only the k most likely tokens, and any tied with the k-th (0 = off). @default 0 */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = off). @default 1 */
  readonly topP?: number;
  /** Take the most likely token instead of sampling. @default false */
  readonly greedy?: boolean;
}

export interface SampledToken {
  readonly token: number;
  /** log p(token) under the sampling distribution (greedy: under the temperature softmax). */
  readonly logprob: number;
}

/** Validates sampling options; throws naming the field. */
export function checkSamplingOptions(options: SamplingOptions): void {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (!(temperature > 0)) throw new Error(`sampling.temperature: expected > 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`sampling.topK: expected an integer ≥ 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`sampling.topP: expected a number in (0, 1], got ${topP}`);
}

/**
 * The truncated, renormalised sampling distribution of one logits row:
 * the kept token ids and their probabilities (summing to 1). Without
 * truncation ids are in vocabulary order; with top-k/top-p they are sorted by
 * logit, descending (ties by id), which is the order `sampleToken` walks.
 */
export function samplingDistribution(
  logits: ArrayLike<number>,
  options: SamplingOptions = {},
): { ids: number[]; probs: number[] } {
  const { ids, probs } = keptDistribution(logits, options);
  return { ids: Array.from(ids), probs: Array.from(probs) };
}

/** Draws the next token from one logits row. */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: RandomSource): SampledToken {
  checkSamplingOptions(options);
  if (options.greedy) {
    const token = argmax(logits);
    const t = options.temperature ?? 1;
    return { token, logprob: logSoftmaxAt(logits, token, t) };
  }
  const { topK = 0, topP = 1, temperature = 1 } = options;
  if (topK === 0 && topP >= 1) return sampleFullSoftmax(logits, temperature, rng);
  return sampleTruncated(logits, temperature, topK, topP, rng);
}

/** The first index where the running sum of `weights` exceeds `target` (the last one if rounding never gets there). */
function walk(weights: Float64Array, target: number): number {
  let cumulative = 0;
  for (let i = 0; i < weights.length; i++) {
    cumulative += weights[i];
    if (target < cumulative) return i;
  }
  return weights.length - 1;
}

/**
 * Sampling without truncation, the common case, in one exp pass: walk the
 * unnormalised weights against u·Σw (the same draw as walking the
 * probabilities against u).
 */
function sampleFullSoftmax(logits: ArrayLike<number>, temperature: number, rng: RandomSource): SampledToken {
  const V = logits.length;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
  const weights = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += weights[i] = Math.exp((logits[i] - max) / temperature);
  const pick = walk(weights, rng.nextFloat() * sum);
  return { token: pick, logprob: Math.log(weights[pick] / sum) };
}

/**
 * Sampling with top-k / top-p, the same distribution as `keptDistribution`
 * without sorting ids: find the smallest kept probability (the nucleus
 * cutoff), then walk the kept tokens in vocabulary order. Sorting every row's
 * ids with a comparator made top-p sampling 3× slower than plain sampling.
 */
function sampleTruncated(logits: ArrayLike<number>, temperature: number, topK: number, topP: number, rng: RandomSource): SampledToken {
  const V = logits.length;
  const z = Float64Array.from(logits);
  const kth = topK > 0 && topK < V ? kthLargest(z, topK) : -Infinity;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (z[i] > max) max = z[i];
  // Probabilities over the top-k candidates (0 outside), as keptDistribution computes them.
  const probs = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) if (z[i] >= kth) sum += Math.exp((z[i] - max) / temperature);
  for (let i = 0; i < V; i++) if (z[i] >= kth) probs[i] = Math.exp((z[i] - max) / temperature) / sum;
  const cutoff = topP < 1 ? nucleusCutoff(probs, topP) : Number.MIN_VALUE;
  let mass = 0;
  for (let i = 0; i < V; i++) if (probs[i] >= cutoff) mass += probs[i];
  const target = rng.nextFloat() * mass;
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < V; i++) {
    if (probs[i] < cutoff) continue;
    last = i;
    cumulative += probs[i];
    if (target < cumulative) break;
  }
  return { token: last, logprob: Math.log(probs[last] / mass) };
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
 * The kept ids and their renormalised probabilities, in typed arrays (float64).
 * Sampling runs once per row and step, so this avoids sorting the whole
 * vocabulary: top-k keeps the tokens at or above the k-th largest logit, and
 * top-p sorts only the tokens that can be in the nucleus.
 */
function keptDistribution(logits: ArrayLike<number>, options: SamplingOptions): { ids: Int32Array; probs: Float64Array } {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  const V = logits.length;
  const z = new Float64Array(V);
  for (let i = 0; i < V; i++) z[i] = logits[i];
  if (topK === 0 && topP >= 1) {
    const ids = allIds(V);
    return { ids, probs: probabilities(z, ids, temperature, normaliser(z, ids, temperature)) };
  }
  // Candidates: every token (top-p only) or those at or above the k-th largest logit (ties kept, as HF's warpers and lib/ppo/logprobs.ts do).
  let candidates = allIds(V);
  if (topK > 0 && topK < V) {
    const kth = kthLargest(z, topK);
    candidates = candidates.filter((i) => z[i] >= kth);
  }
  // Probabilities are over all candidates, also when top-p sorts only the likely ones.
  const norm = normaliser(z, candidates, temperature);
  if (topP < 1) candidates = nucleusCandidates(z, candidates, temperature, topP, norm);
  const ids = sortByLogit(candidates, z);
  let probs = probabilities(z, ids, temperature, norm);
  if (topP < 1) {
    // ids are sorted by probability: keep the shortest prefix reaching topP (at least one), plus ties with its last.
    let cumulative = 0;
    let keep = 0;
    while (keep < ids.length && cumulative < topP) cumulative += probs[keep++];
    while (keep < ids.length && z[ids[keep]] === z[ids[keep - 1]]) keep++;
    probs = probs.slice(0, keep);
    let sum = 0;
    for (const p of probs) sum += p;
    for (let i = 0; i < keep; i++) probs[i] /= sum;
    return { ids: ids.slice(0, keep), probs };
  }
  return { ids, probs };
}

/**
 * A subset of `candidates` that surely contains the top-p nucleus: the tokens
 * whose probability is at least some threshold, once those alone reach `topP`
 * (every token left out is less likely than every token kept).
 */
function nucleusCandidates(z: Float64Array, candidates: Int32Array, temperature: number, topP: number, norm: Normaliser): Int32Array {
  const probs = probabilities(z, candidates, temperature, norm);
  const threshold = likelyThreshold(probs, topP);
  return candidates.filter((_, i) => probs[i] >= threshold);
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

function allIds(V: number): Int32Array {
  const ids = new Int32Array(V);
  for (let i = 0; i < V; i++) ids[i] = i;
  return ids;
}

/** Ids sorted by logit, descending, ties by id (deterministic). */
function sortByLogit(ids: Int32Array, z: Float64Array): Int32Array {
  return ids.slice().sort((a, b) => z[b] - z[a] || a - b);
}

/** The k-th largest value of `z` (1-based), by sorting a copy (typed-array sort is native). */
function kthLargest(z: Float64Array, k: number): number {
  const sorted = z.slice().sort();
  return sorted[z.length - k];
}

/** What softmax over a set of ids divides by: its largest logit and Σ exp((z − max)/t). */
interface Normaliser {
  max: number;
  sum: number;
}

function normaliser(z: Float64Array, ids: Int32Array, temperature: number): Normaliser {
  let max = -Infinity;
  for (let i = 0; i < ids.length; i++) if (z[ids[i]] > max) max = z[ids[i]];
  let sum = 0;
  for (let i = 0; i < ids.length; i++) sum += Math.exp((z[ids[i]] - max) / temperature);
  return { max, sum };
}

/** exp((z[id] − max)/t) / sum for each id, in the order of `ids`. */
function probabilities(z: Float64Array, ids: Int32Array, temperature: number, norm: Normaliser): Float64Array {
  const probs = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) probs[i] = Math.exp((z[ids[i]] - norm.max) / temperature) / norm.sum;
  return probs;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** log softmax(logits / t)[index], computed stably. */
export function logSoftmaxAt(logits: ArrayLike<number>, index: number, t = 1): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] / t > max) max = logits[i] / t;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] / t - max);
  return logits[index] / t - max - Math.log(sum);
}

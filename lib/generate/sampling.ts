/**
 * Choosing the next token from one row of logits, in plain JavaScript
 * (float64), and reporting its log-probability under exactly the distribution
 * it was drawn from: after temperature, top-k and top-p truncation and
 * renormalisation. PPO later scores tokens with the same rules; scoring with
 * the full softmax instead (as much RLHF code does) is quietly wrong.
 * `sampleRows` hands plain sampling of a whole batch to a C kernel when one is loaded.
 */
import { loadedNativeKernels } from "../fast/native_kernels.ts";

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
 * logit, descending (ties by id). `sampleToken` draws from the same
 * distribution without sorting.
 */
export function samplingDistribution(
  logits: ArrayLike<number>,
  options: SamplingOptions = {},
): { ids: number[]; probs: number[] } {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  const d = truncatedDistribution(logits, temperature, topK, topP);
  const kept: number[] = [];
  for (let i = 0; i < logits.length; i++) if (d.isKept(i)) kept.push(i);
  if (topK > 0 || topP < 1) kept.sort((a, b) => logits[b] - logits[a] || a - b);
  // Top-p renormalises over the nucleus; without it the probabilities already sum to 1.
  const scale = topP < 1 ? d.mass : 1;
  return { ids: kept, probs: kept.map((i) => d.probs[i] / scale) };
}

/**
 * True when sampling keeps every token (no top-k, or one that keeps the whole
 * vocabulary; no top-p): the distribution is plain softmax(logits / temperature).
 * The samplers here and PPO's log-probs (lib/ppo/logprobs.ts) take their fast
 * paths on the same condition.
 */
export function keepsEveryToken(options: SamplingOptions, vocabSize: number): boolean {
  const topK = options.topK ?? 0;
  return (topK <= 0 || topK >= vocabSize) && (options.topP ?? 1) >= 1;
}

/**
 * Draws the next token of the rows `wanted[i]` of a [n, V] block of logits
 * (row i at values[i·V …]); undefined for the other rows. Each wanted row
 * takes one draw from `rng`, in row order, as `sampleToken` does. Plain
 * sampling (no top-k/top-p, not greedy) runs in the native kernel when the
 * backend set-up has loaded it (lib/fast: the same walk, in C); the rest in JS.
 */
export function sampleRows(
  values: Float32Array,
  V: number,
  wanted: readonly boolean[],
  options: SamplingOptions,
  rng: RandomSource,
): (SampledToken | undefined)[] {
  checkSamplingOptions(options);
  const native = loadedNativeKernels();
  const plain = !options.greedy && keepsEveryToken(options, V);
  if (!native || !plain) return wanted.map((w, i) => (w ? sampleToken(values.subarray(i * V, (i + 1) * V), options, rng) : undefined));
  const n = wanted.length;
  const uniforms = Float64Array.from(wanted, (w) => (w ? rng.nextFloat() : 0));
  const tokens = new Int32Array(n);
  const logprobs = new Float32Array(n);
  native.sample_softmax_rows(values, uniforms, n, V, options.temperature ?? 1, tokens, logprobs);
  if (tokens.some((t) => t < 0)) throw new Error("sample_softmax_rows: out of memory");
  return wanted.map((w, i) => (w ? { token: tokens[i], logprob: logprobs[i] } : undefined));
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
  if (keepsEveryToken(options, logits.length)) return sampleFullSoftmax(logits, temperature, rng);
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
 * Sampling with top-k / top-p: walk the kept tokens in vocabulary order.
 * Sorting every row's ids with a comparator (as `samplingDistribution` does
 * for people and tests) made top-p sampling 3× slower than plain sampling.
 */
function sampleTruncated(logits: ArrayLike<number>, temperature: number, topK: number, topP: number, rng: RandomSource): SampledToken {
  const { probs, isKept, mass } = truncatedDistribution(logits, temperature, topK, topP);
  const target = rng.nextFloat() * mass;
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (!isKept(i)) continue;
    last = i;
    cumulative += probs[i];
    if (target < cumulative) break;
  }
  return { token: last, logprob: Math.log(probs[last] / mass) };
}

/**
 * One logits row after temperature and top-k: the softmax over the top-k
 * candidates (0 outside; ties with the k-th kept, as HF's warpers and
 * lib/ppo/logprobs.ts do), which tokens top-p then keeps (probability at or
 * above the nucleus cutoff), and the kept tokens' total probability.
 */
function truncatedDistribution(logits: ArrayLike<number>, temperature: number, topK: number, topP: number) {
  const V = logits.length;
  const kth = topK > 0 && topK < V ? kthLargest(logits, topK) : -Infinity;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
  const probs = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) if (logits[i] >= kth) sum += probs[i] = Math.exp((logits[i] - max) / temperature);
  for (let i = 0; i < V; i++) probs[i] /= sum;
  const cutoff = topP < 1 ? nucleusCutoff(probs, topP) : 0;
  const isKept = (i: number) => logits[i] >= kth && probs[i] >= cutoff;
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

/** The k-th largest value (1-based), by sorting a float64 copy (typed-array sort is native). */
function kthLargest(values: ArrayLike<number>, k: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[values.length - k];
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

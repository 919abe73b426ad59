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
 * the kept token ids and their probabilities (summing to 1).
 */
export function samplingDistribution(
  logits: ArrayLike<number>,
  options: SamplingOptions = {},
): { ids: number[]; probs: number[] } {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  const V = logits.length;
  let ids: number[];
  if (topK > 0 || topP < 1) {
    // Sort once by logit, descending (ties by id so the order is deterministic).
    ids = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
    // Tokens tied with the last kept one are kept too (as HF's warpers and lib/ppo/logprobs.ts do).
    if (topK > 0 && topK < V) ids = keepTies(ids, topK, logits);
  } else {
    ids = Array.from({ length: V }, (_, i) => i);
  }
  let probs = softmaxOf(ids.map((i) => logits[i] / temperature));
  if (topP < 1) {
    // ids are sorted by probability: keep the shortest prefix reaching topP (at least one).
    let cumulative = 0;
    let keep = 0;
    while (keep < ids.length && cumulative < topP) cumulative += probs[keep++];
    const kept = keepTies(ids, keep, logits);
    ids = kept;
    probs = normalise(probs.slice(0, kept.length));
  }
  return { ids, probs };
}

/** Draws the next token from one logits row. */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: RandomSource): SampledToken {
  checkSamplingOptions(options);
  if (options.greedy) {
    const token = argmax(logits);
    const t = options.temperature ?? 1;
    return { token, logprob: logSoftmaxAt(logits, token, t) };
  }
  const { ids, probs } = samplingDistribution(logits, options);
  const u = rng.nextFloat();
  let cumulative = 0;
  let pick = ids.length - 1; // rounding guard: if u ≥ the float sum, take the last kept token
  for (let i = 0; i < ids.length; i++) {
    cumulative += probs[i];
    if (u < cumulative) {
      pick = i;
      break;
    }
  }
  return { token: ids[pick], logprob: Math.log(probs[pick]) };
}

/** The first `n` of `sorted` plus any further ids whose logit equals the n-th one's. */
function keepTies(sorted: number[], n: number, logits: ArrayLike<number>): number[] {
  let end = n;
  while (end < sorted.length && logits[sorted[end]] === logits[sorted[n - 1]]) end++;
  return sorted.slice(0, end);
}

function softmaxOf(z: number[]): number[] {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  return normalise(z.map((v) => Math.exp(v - max)));
}

function normalise(weights: number[]): number[] {
  let sum = 0;
  for (const w of weights) sum += w;
  return weights.map((w) => w / sum);
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

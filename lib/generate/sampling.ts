/**
 * Choosing the next token from one row of logits, in plain JavaScript
 * (float64), and reporting its log-probability under exactly the distribution
 * it was drawn from: after temperature, top-k and top-p truncation and
 * renormalisation. PPO later scores tokens with the same rules; scoring with
 * the full softmax instead (as much RLHF code does) is quietly wrong.
 * `sampleRows` samples a whole batch; plain sampling (`sampleSoftmaxRows`) has
 * a fast path in C (lib/ops/fast_path.ts).
 */
import { type SampledToken, withFastPath } from "../ops/fast_path.ts";
import { truncatedDistribution } from "./truncation.ts";

/** Where uniform random numbers in [0, 1) come from (seeded in practice); plain JS, no tfjs calls (see sampleRows). */
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
  /**
   * Token ids never drawn (Hugging Face's `suppress_tokens`), e.g. the tokenizer's `[UNK]`
   * (`unknownTokenIds`): their probability is 0 and the rest renormalised, before top-k and top-p.
   * The log-probs of answers (PPO's ratio, the KL) must be taken with the same options. @default []
   */
  readonly suppressIds?: readonly number[];
}

/** Validates sampling options; throws naming the field. */
export function checkSamplingOptions(options: SamplingOptions): void {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (!(temperature > 0)) throw new Error(`sampling.temperature: expected > 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`sampling.topK: expected an integer ≥ 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`sampling.topP: expected a number in (0, 1], got ${topP}`);
  const bad = (options.suppressIds ?? []).find((id) => !Number.isInteger(id) || id < 0);
  if (bad !== undefined) throw new Error(`sampling.suppressIds: expected token ids (integers ≥ 0), got ${bad}`);
}

/**
 * True when sampling keeps every token (no top-k, or one that keeps the whole
 * vocabulary; no top-p; nothing suppressed): the distribution is plain softmax(logits / temperature).
 * The samplers here and the log-probs of answers (lib/rollout/logprobs.ts) take their fast
 * paths on the same condition.
 */
export function keepsEveryToken(options: SamplingOptions, vocabSize: number): boolean {
  const topK = options.topK ?? 0;
  const suppressesAny = (options.suppressIds ?? []).some((id) => id >= 0 && id < vocabSize);
  return (topK <= 0 || topK >= vocabSize) && (options.topP ?? 1) >= 1 && !suppressesAny;
}

/**
 * Draws the next token of the rows `wanted[i]` of a [n, V] block of logits
 * (row i at values[i·V …]); undefined for the other rows. Each wanted row
 * takes one draw from `rng`, in row order, as `sampleToken` does. Plain
 * sampling (no top-k/top-p, not greedy) goes to `sampleSoftmaxRows` for the
 * whole block; the rest row by row.
 * `values` may be a view of the wasm heap (generate does this): nothing here,
 * `rng` included, may call tfjs, which could grow the heap and detach the view.
 */
export function sampleRows(
  values: Float32Array,
  V: number,
  wanted: readonly boolean[],
  options: SamplingOptions,
  rng: RandomSource,
): (SampledToken | undefined)[] {
  checkSamplingOptions(options);
  if (options.greedy || !keepsEveryToken(options, V)) {
    return wanted.map((w, i) => (w ? sampleToken(values.subarray(i * V, (i + 1) * V), options, rng) : undefined));
  }
  const uniforms = wanted.map((w) => (w ? rng.nextFloat() : undefined));
  return sampleSoftmaxRows(values, V, uniforms, options.temperature ?? 1);
}

/**
 * Plain sampling of each row of a [n, V] block with its uniform number (undefined: the row is skipped),
 * in JS (float64); where the C kernels are loaded, in C (lib/ops/fast_path.ts).
 */
export const sampleSoftmaxRows = withFastPath(
  "sampleSoftmaxRows",
  (logits, V, uniforms, temperature) =>
    uniforms.map((u, i) => (u === undefined ? undefined : sampleFullSoftmax(logits.subarray(i * V, (i + 1) * V), temperature, u))),
);

/**
 * Draws the next token from one logits row; its log-prob is under the sampling distribution (greedy: under the temperature softmax).
 *
 * @example
 * ```ts
 * import { Rng, sampleToken } from "rlhf";
 * const { token, logprob } = sampleToken([2, 1, 0, -1], { topK: 2 }, new Rng(0)); // token 0 or 1; logprob among those two
 * ```
 */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: RandomSource): SampledToken {
  checkSamplingOptions(options);
  if (options.greedy) {
    const t = options.temperature ?? 1;
    const suppressIds = options.suppressIds ?? [];
    if (suppressIds.length === 0) {
      const token = argmax(logits);
      return { token, logprob: logSoftmaxAt(logits, token, t) };
    }
    const { probs, isKept, mass } = truncatedDistribution(logits, { temperature: t, suppressIds });
    const token = argmax(Array.from(probs, (p, i) => (isKept(i) ? p : -1)));
    return { token, logprob: Math.log(probs[token] / mass) };
  }
  if (keepsEveryToken(options, logits.length)) return sampleFullSoftmax(logits, options.temperature ?? 1, rng.nextFloat());
  return sampleTruncated(logits, options, rng);
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
 * probabilities against u), for a uniform number u in [0, 1).
 */
function sampleFullSoftmax(logits: ArrayLike<number>, temperature: number, u: number): SampledToken {
  const V = logits.length;
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
  const weights = new Float64Array(V);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += weights[i] = Math.exp((logits[i] - max) / temperature);
  const pick = walk(weights, u * sum);
  return { token: pick, logprob: Math.log(weights[pick] / sum) };
}

/**
 * Sampling with top-k / top-p / suppressed ids: walk the kept tokens in vocabulary order.
 * Sorting every row's ids with a comparator (as `samplingDistribution` in
 * truncation.ts does, for readers) made top-p sampling 3× slower than plain sampling.
 */
function sampleTruncated(logits: ArrayLike<number>, options: SamplingOptions, rng: RandomSource): SampledToken {
  const { probs, isKept, mass } = truncatedDistribution(logits, options);
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

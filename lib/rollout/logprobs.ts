/**
 * Log-probabilities of tokens under the distribution that sampled them:
 * logits / temperature, restricted to the top-k / top-p set, renormalised.
 * (Scoring sampled tokens with the full softmax when sampling used top-p is a
 * common, quiet bug: the ratio π_new/π_old then compares two different
 * distributions.)
 *
 * The truncated log-softmax is one custom op with its own gradient; the kept
 * set is the sampler's own (generate/truncation.ts, computed on the values
 * read back), a constant of the op, so it stays out of the backward pass: for kept tokens ∂/∂z_j = dy_j − p_j·Σ_i dy_i, for dropped
 * tokens the gradient is 0.
 */
import { tf } from "../tf.ts";
import { keepsEveryToken, type SamplingOptions } from "../generate/sampling.ts";
import { keptMask } from "../generate/truncation.ts";
import { crossEntropyRows } from "../gpt2/loss.ts";
import { withFastPath } from "../ops/fast_path.ts";

/** A large negative logit for tokens outside the kept set (−∞ would give NaN in 0·∞). */
const DROPPED = -1e9;

/**
 * 1 for the tokens the sampler may draw at each row of `logits` [N, V], else 0: the sampler's own rule
 * (generate/truncation.ts), on the values read back (one device sync).
 */
function keptSet(logits: tf.Tensor2D, sampling: SamplingOptions): tf.Tensor2D {
  const [N, V] = logits.shape;
  return tf.tensor2d(keptMask(logits.dataSync() as Float32Array, V, sampling), [N, V]);
}

/**
 * log p(token) for every row of `logits` [N, V] and `tokens` [N], under the sampling distribution.
 *
 * @example
 * ```ts
 * import { tf, truncatedLogprobs } from "rlhf";
 * const logits = tf.tensor2d([[Math.log(0.5), Math.log(0.3), Math.log(0.2)]]);
 * const token = tf.tensor1d([1], "int32");
 * truncatedLogprobs(logits, token).dataSync(); // [log 0.3]
 * truncatedLogprobs(logits, token, { topP: 0.7 }).dataSync(); // [log 0.375]: top-p keeps 0.5 and 0.3, renormalised
 * ```
 */
export function truncatedLogprobs(logits: tf.Tensor2D, tokens: tf.Tensor1D, sampling: SamplingOptions = {}): tf.Tensor1D {
  if (keepsEveryToken(sampling, logits.shape[1])) {
    // Nothing truncated: log p = −cross-entropy of logits / temperature (one native pass per row where the
    // backend has the fused kernel, and one for the gradient) instead of ~10 tfjs ops over the [N, V] logits.
    return tf.tidy(() => {
      const temperature = sampling.temperature ?? 1;
      const z = temperature === 1 ? logits : tf.div(logits, temperature) as tf.Tensor2D;
      return tf.neg(crossEntropyRows(z, tf.cast(tokens, "int32") as tf.Tensor1D)) as tf.Tensor1D;
    });
  }
  return truncatedLogprobsComposite(logits, tokens, sampling);
}

/**
 * The same log-probs for every truncation, from tfjs ops and the sampler's kept set (the reference for the
 * cross-entropy path). `keep`: that kept set when the caller has it already (logprobsAndEntropy).
 */
export function truncatedLogprobsComposite(
  logits: tf.Tensor2D,
  tokens: tf.Tensor1D,
  sampling: SamplingOptions = {},
  keep?: tf.Tensor2D,
): tf.Tensor1D {
  const temperature = sampling.temperature ?? 1;
  return tf.tidy(() => {
    const V = logits.shape[1];
    const onehot = tf.oneHot(tf.cast(tokens, "int32"), V); // [N, V]
    const kept = keep ?? keptSet(logits, sampling); // a constant of the op: no gradient flows into it
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const z = tf.div(args[0] as tf.Tensor2D, temperature) as tf.Tensor2D;
      const logp = tf.logSoftmax(tf.add(z, tf.mul(tf.sub(1, kept), DROPPED))); // log of the renormalised truncated distribution
      (args[1] as tf.GradSaveFunc)([logp, kept, onehot]);
      return {
        value: tf.sum(tf.mul(logp, onehot), 1),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sLogp, sKeep, sOnehot] = saved;
          const p = tf.mul(tf.exp(sLogp), sKeep); // [N, V], zero outside the kept set
          // d(log p_token)/dz_j = onehot_j − p_j; chain through dy per row and the 1/temperature.
          return tf.div(tf.mul(tf.sub(sOnehot, p), tf.expandDims(dy, 1)), temperature);
        },
      };
    });
    return op(logits) as tf.Tensor1D;
  });
}

/** Entropy of softmax(scale · logits) of each row [N, V] → [N]: −Σ p log p with log p = logSoftmax. */
export const rowEntropy = withFastPath("rowEntropy", (logits, scale) =>
  tf.tidy(() => {
    const logp = tf.logSoftmax(tf.mul(logits, scale) as tf.Tensor2D);
    return tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1)) as tf.Tensor1D;
  }));

/**
 * Entropy (nats) of the sampling distribution at each row, no gradient needed. [N] `keep`: as for truncatedLogprobsComposite.
 *
 * @example
 * ```ts
 * import { samplingEntropy, tf } from "rlhf";
 * samplingEntropy(tf.tensor2d([[0, 0, 0, 0]])).dataSync(); // [1.386]: ln 4, four tokens equally likely
 * samplingEntropy(tf.tensor2d([[2, 2, 0, 0]]), { topK: 2 }).dataSync(); // [0.693]: ln 2, top-k keeps two
 * ```
 */
export function samplingEntropy(logits: tf.Tensor2D, sampling: SamplingOptions = {}, keep?: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    if (keepsEveryToken(sampling, logits.shape[1])) return rowEntropy(logits, 1 / (sampling.temperature ?? 1));
    const z = tf.div(logits, sampling.temperature ?? 1) as tf.Tensor2D;
    const kept = keep ?? keptSet(logits, sampling);
    const logp = tf.logSoftmax(tf.add(z, tf.mul(tf.sub(1, kept), DROPPED)));
    return tf.neg(tf.sum(tf.mul(tf.mul(tf.exp(logp), kept), logp), 1)) as tf.Tensor1D;
  });
}

/**
 * The log-probs of `tokens` and, with `withEntropy`, the entropy of every row, both under the sampling
 * distribution: with top-k/top-p the kept set is read back once for the two.
 */
export function logprobsAndEntropy(
  logits: tf.Tensor2D,
  tokens: tf.Tensor1D,
  sampling: SamplingOptions,
  withEntropy: boolean,
): { logprobs: tf.Tensor1D; entropy?: tf.Tensor1D } {
  if (keepsEveryToken(sampling, logits.shape[1])) {
    return { logprobs: truncatedLogprobs(logits, tokens, sampling), entropy: withEntropy ? samplingEntropy(logits, sampling) : undefined };
  }
  return tf.tidy(() => {
    const keep = keptSet(logits, sampling);
    const logprobs = truncatedLogprobsComposite(logits, tokens, sampling, keep);
    return withEntropy ? { logprobs, entropy: samplingEntropy(logits, sampling, keep) } : { logprobs };
  });
}

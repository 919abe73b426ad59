/**
 * One optimisation step of a causal language model:
 * forward (dropout on) → masked cross-entropy → gradients → global-norm
 * clipping → AdamW. Returns the loss and the pre-clip gradient norm as
 * tensors, so the caller reads every scalar of the step with one await.
 */
import { tf } from "../tf.ts";
import { type ForwardOptions, gpt2Hidden, lmHeadAt, logits } from "../gpt2/forward.ts";
import { crossEntropy, crossEntropyRows } from "../gpt2/loss.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { countedPositions, type LMBatch } from "../data/lm_batches.ts";
import type { AdamW } from "./adamw.ts";
import { gradientStep } from "./gradient_step.ts";
import { positions } from "../work.ts";

export interface StepResult {
  readonly loss: tf.Scalar;
  readonly gradNorm: tf.Scalar;
}

/** Converts a batch of JS arrays to int32/float32 tensors (caller disposes). */
export function batchTensors(batch: LMBatch): { ids: tf.Tensor2D; targets: tf.Tensor2D; mask?: tf.Tensor2D } {
  const B = batch.ids.length;
  const T = batch.ids[0].length;
  return {
    ids: tf.tensor2d(batch.ids, [B, T], "int32"),
    targets: tf.tensor2d(batch.targets, [B, T], "int32"),
    mask: batch.mask ? tf.tensor2d(batch.mask, [B, T], "float32") : undefined,
  };
}

/**
 * Mean next-token cross-entropy of a batch over the positions its mask counts (all without a mask). With a
 * mask (SFT: the assistant's tokens) only the counted positions go through the LM head — an SFT batch's
 * prompts and padding are about half its positions.
 *
 * @example
 * ```ts
 * import { createGPT2, nextTokenLoss, resolveGPT2Config } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const batch = { ids: [[1, 2, 3]], targets: [[2, 3, 4]], mask: [[0, 1, 1]] }; // the answer: the last two targets
 * nextTokenLoss(model, batch).dataSync(); // ≈ ln 16 ≈ 2.77 for a fresh model, over two positions
 * ```
 */
export function nextTokenLoss(model: GPT2Model, batch: LMBatch, options: ForwardOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    if (!batch.mask) {
      const t = batchTensors(batch);
      return crossEntropy(logits(model, t.ids, options), t.targets);
    }
    const { at, targets } = countedPositions({ ...batch, mask: batch.mask });
    if (at.length === 0) return tf.scalar(0); // nothing counted, as crossEntropy gives
    const z = lmHeadAt(model, gpt2Hidden(model, tf.tensor2d(batch.ids, undefined, "int32"), options), at); // [N, V]
    return tf.mean(crossEntropyRows(z, tf.tensor1d(targets, "int32"))) as tf.Scalar;
  });
}

/**
 * Runs one training step in place on `model` and `optimizer`.
 * `seed` fixes the dropout masks, so a resumed run repeats the same step.
 */
export function trainStep(
  model: GPT2Model,
  optimizer: AdamW,
  batch: LMBatch,
  options: { lr: number; gradClip: number; seed: number },
): StepResult {
  return tf.tidy(() => {
    const { loss, gradNorm } = gradientStep(model.params, optimizer, () => ({
      loss: nextTokenLoss(model, batch, { training: true, seed: options.seed }),
    }), { ...options, tokens: positions(batch.ids) });
    return { loss, gradNorm };
  });
}

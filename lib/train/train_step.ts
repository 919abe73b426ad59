/**
 * One optimisation step of a causal language model:
 * forward (dropout on) → masked cross-entropy → gradients → global-norm
 * clipping → AdamW. Returns the loss and the pre-clip gradient norm as
 * tensors, so the caller reads every scalar of the step with one await.
 */
import { tf } from "../tf.ts";
import { logits } from "../gpt2/forward.ts";
import { crossEntropy } from "../gpt2/loss.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { LMBatch } from "../data/lm_batches.ts";
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

/** Mean (masked) next-token loss of a batch, dropout off. */
export function batchLoss(model: GPT2Model, batch: LMBatch): tf.Scalar {
  return tf.tidy(() => {
    const t = batchTensors(batch);
    return crossEntropy(logits(model, t.ids), t.targets, t.mask);
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
    const t = batchTensors(batch);
    const { loss, gradNorm } = gradientStep(model.params, optimizer, () => ({
      loss: crossEntropy(logits(model, t.ids, { training: true, seed: options.seed }), t.targets, t.mask),
    }), { ...options, tokens: positions(batch.ids) });
    return { loss, gradNorm };
  });
}

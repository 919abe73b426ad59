/**
 * Causal multi-head self-attention of one GPT-2 block (HF `GPT2Attention`).
 */
import { tf } from "../tf.ts";
import { conv1d, dropout } from "./layers.ts";
import {
  fusedAttention,
  fusedAttentionInference,
  fusedKernelAvailable,
  fusedMaskedSoftmax,
  recordingGradients,
} from "../fast/fused_ops.ts";
import { ATTENTION, ATTENTION_INFERENCE, MASKED_SOFTMAX } from "../fast/kernel_names.ts";
import type { LayerCache } from "./kv_cache.ts";

/** A large negative number instead of −∞, so a row with every key masked (a
 * left-padding query) gives a harmless uniform softmax instead of NaN. */
export const MASKED_SCORE = -1e9;

export interface AttentionInputs {
  /** Block input after ln_1, [B, T, C]. */
  readonly x: tf.Tensor3D;
  readonly cAttnWeight: tf.Tensor;
  readonly cAttnBias: tf.Tensor;
  readonly cProjWeight: tf.Tensor;
  readonly cProjBias: tf.Tensor;
  readonly nHead: number;
  /** Keys/values of earlier positions (generation), or undefined. */
  readonly past?: LayerCache;
  /** Additive mask [T, S] or [B, 1, T, S] (0 = attend, MASKED_SCORE = do not), S = past + T. */
  readonly mask: tf.Tensor;
  /** Dropout rate on attention weights and the output (0 when not training). */
  readonly dropoutRate: number;
  readonly seed?: number;
  /** Return this layer's keys and values (generation). @default true */
  readonly keepCache?: boolean;
}

/** Returns the attention output [B, T, C] and (unless `keepCache` is false) this layer's keys/values including the new positions. */
export function causalSelfAttention(inp: AttentionInputs): { out: tf.Tensor3D; present?: LayerCache } {
  const [B, T, C] = inp.x.shape;
  const hs = C / inp.nHead;
  const qkv = conv1d(tf.reshape(inp.x, [B * T, C]), inp.cAttnWeight, inp.cAttnBias); // [B*T, 3C]
  if (inp.dropoutRate === 0 && !recordingGradients() && fusedKernelAvailable(ATTENTION_INFERENCE)) {
    // Inference (sampling, scoring): the steps below in one native kernel.
    const past = inp.past ?? { key: tf.zeros([B, inp.nHead, 0, hs]) as tf.Tensor4D, value: tf.zeros([B, inp.nHead, 0, hs]) as tf.Tensor4D };
    const fused = fusedAttentionInference(qkv, past.key, past.value, inp.mask, 1 / Math.sqrt(hs));
    const out = tf.reshape(conv1d(fused.out, inp.cProjWeight, inp.cProjBias), [B, T, C]) as tf.Tensor3D;
    return { out, present: { key: fused.key, value: fused.value } };
  }
  if (inp.dropoutRate === 0 && !inp.past && inp.keepCache === false && fusedKernelAvailable(ATTENTION)) {
    // Training without dropout (pretraining, SFT, reward model, PPO here): the steps below and their gradient in
    // one native kernel each, which also skips the keys a causal row cannot see.
    const out = tf.reshape(conv1d(fusedAttention(qkv, inp.mask, inp.nHead, 1 / Math.sqrt(hs)), inp.cProjWeight, inp.cProjBias), [B, T, C]);
    return { out: out as tf.Tensor3D };
  }
  // One transpose to [3, B, nh, T, hs], then q, k, v are contiguous slices along the first axis.
  const [q, kNew, vNew] = tf.unstack(tf.transpose(tf.reshape(qkv, [B, T, 3, inp.nHead, hs]), [2, 0, 3, 1, 4])) as tf.Tensor4D[];
  const key = inp.past ? tf.concat([inp.past.key, kNew], 2) as tf.Tensor4D : kNew; // [B, nh, S, hs]
  const value = inp.past ? tf.concat([inp.past.value, vNew], 2) as tf.Tensor4D : vNew;

  const weights = dropout(attentionWeights(tf.matMul(q, key, false, true), inp.mask, 1 / Math.sqrt(hs)), inp.dropoutRate, inp.seed);
  const heads = tf.matMul(weights, value); // [B, nh, T, hs]
  const merged = tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [B * T, C]) as tf.Tensor2D; // [B*T, C]
  const projected = conv1d(merged, inp.cProjWeight, inp.cProjBias);
  const out = dropout(tf.reshape(projected, [B, T, C]), inp.dropoutRate, inp.seed === undefined ? undefined : inp.seed + 1);
  return { out: out as tf.Tensor3D, present: { key, value } };
}

/**
 * softmax(scale·scores + mask) over the keys, [B, nh, T, S]. One fused kernel
 * where the backend has it (lib/fast), else tfjs ops.
 */
export function attentionWeights(scores: tf.Tensor4D, mask: tf.Tensor, scale: number): tf.Tensor4D {
  if (fusedKernelAvailable(MASKED_SOFTMAX)) return fusedMaskedSoftmax(scores, mask, scale);
  return tf.tidy(() => tf.softmax(tf.add(tf.mul(scores, scale), mask)) as tf.Tensor4D);
}

/**
 * The additive causal mask for T new queries after `past` cached positions:
 * query i may see key j iff j ≤ past + i. With `keyPadding` ([B, S], 1 for real
 * tokens, 0 for padding) padded keys are masked too and the mask is [B, 1, T, S].
 */
export function attentionMask(T: number, past: number, keyPadding?: tf.Tensor2D): tf.Tensor {
  return tf.tidy(() => {
    const S = past + T;
    // Built in JS: bandPart's integer broadcasting is slow on wasm, and this is small.
    const causal = new Float32Array(T * S);
    for (let i = 0; i < T; i++) causal.fill(MASKED_SCORE, i * S + past + i + 1, (i + 1) * S); // j > past + i
    let mask: tf.Tensor = tf.tensor2d(causal, [T, S]);
    if (keyPadding) {
      if (keyPadding.shape[1] !== S) {
        throw new Error(`attentionMask: key padding covers ${keyPadding.shape[1]} positions, expected ${S}`);
      }
      const padScores = tf.mul(tf.sub(1, tf.cast(keyPadding, "float32")), MASKED_SCORE); // [B, S]
      mask = tf.add(mask, tf.reshape(padScores, [keyPadding.shape[0], 1, 1, S])); // [B, 1, T, S]
    }
    return mask;
  });
}

/**
 * Causal multi-head self-attention of one GPT-2 block (HF `GPT2Attention`).
 */
import { tf } from "../tf.ts";
import { dropout, linear } from "./layers.ts";
import { withFastPath } from "../ops/fast_path.ts";
import { cacheLength, type LayerCache } from "../ops/kv_cache.ts";

/** A large negative number instead of −∞, so a row with every key masked (a
 * left-padding query) gives a harmless uniform softmax instead of NaN. */
const MASKED_SCORE = -1e9;

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
  /** Room for positions in the returned cache (generation; see AttendInputs.cacheCapacity). */
  readonly cacheCapacity?: number;
}

/** Returns the attention output [B, T, C] and (unless `keepCache` is false) this layer's keys/values including the new positions. */
export function causalSelfAttention(inp: AttentionInputs): { out: tf.Tensor3D; present?: LayerCache } {
  const [B, T, C] = inp.x.shape;
  const qkv = linear(tf.reshape(inp.x, [B * T, C]), inp.cAttnWeight as tf.Tensor2D, inp.cAttnBias as tf.Tensor1D); // [B·T, 3C]
  const { heads, present } = attend({
    qkv,
    batch: B,
    nHead: inp.nHead,
    past: inp.past,
    mask: inp.mask,
    dropoutRate: inp.dropoutRate,
    seed: inp.seed,
    keepCache: inp.keepCache ?? true,
    cacheCapacity: inp.cacheCapacity,
  });
  const projected = linear(heads, inp.cProjWeight as tf.Tensor2D, inp.cProjBias as tf.Tensor1D);
  const out = dropout(tf.reshape(projected, [B, T, C]), inp.dropoutRate, inp.seed === undefined ? undefined : inp.seed + 1);
  return { out: out as tf.Tensor3D, present };
}

/**
 * Attention of every head after the qkv projection: softmax(q·kᵀ / √hs + mask)·v, the heads merged back
 * into [B·T, C]. Keys and values of earlier positions (generation) come first along the key axis.
 */
export const attend = withFastPath("attend", (inp) => {
  const [BT, threeC] = inp.qkv.shape;
  const [B, T, H] = [inp.batch, BT / inp.batch, inp.nHead];
  const hs = threeC / 3 / H;
  // One transpose to [3, B, H, T, hs], then q, k, v are contiguous slices along the first axis.
  const [q, kNew, vNew] = tf.unstack(tf.transpose(tf.reshape(inp.qkv, [B, T, 3, H, hs]), [2, 0, 3, 1, 4])) as tf.Tensor4D[];
  // The filled part of the cache (a generation cache has room after it), then this step: [B, H, S, hs].
  const P = cacheLength(inp.past ? [inp.past] : undefined);
  const filled = (t: tf.Tensor4D) => (t.shape[2] === P ? t : tf.slice(t, 0, [B, H, P, hs]));
  const key = inp.past ? tf.concat([filled(inp.past.key), kNew], 2) as tf.Tensor4D : kNew;
  const value = inp.past ? tf.concat([filled(inp.past.value), vNew], 2) as tf.Tensor4D : vNew;

  const weights = dropout(attentionWeights(tf.matMul(q, key, false, true), inp.mask, 1 / Math.sqrt(hs)), inp.dropoutRate, inp.seed);
  const heads = tf.matMul(weights, value); // [B, H, T, hs]
  const merged = tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [B * T, H * hs]) as tf.Tensor2D;
  return { heads: merged, present: inp.keepCache ? { key, value } : undefined };
});

/** softmax(scale·scores + mask) over the keys, [B, nh, T, S]. */
export const attentionWeights = withFastPath(
  "maskedSoftmax",
  (scores, mask, scale) => tf.tidy(() => tf.softmax(tf.add(tf.mul(scores, scale), mask)) as tf.Tensor4D),
);

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

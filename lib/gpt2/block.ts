/**
 * One GPT-2 decoder block (HF `GPT2Block`): pre-LayerNorm attention and MLP, each added back to its input.
 */
import { tf } from "../tf.ts";
import { causalSelfAttention } from "./attention.ts";
import { dropout, geluNew, layerNorm, linear } from "./layers.ts";
import { type BlockInputs, withFastPath } from "../ops/fast_path.ts";

/**
 * x + attention(ln_1(x)), then that + mlp(ln_2(that)); with the layer's keys and values when kept.
 * Dropout (training) on the attention weights, the attention output and the MLP output.
 */
export const decoderBlock = withFastPath("decoderBlock", (inp: BlockInputs) => {
  const { x, weights: w, eps, dropoutRate: rate } = inp;
  const [B, T, C] = x.shape;
  const attn = causalSelfAttention({
    x: layerNorm(x, w.ln1Weight, w.ln1Bias, eps) as tf.Tensor3D,
    cAttnWeight: w.attnWeight,
    cAttnBias: w.attnBias,
    cProjWeight: w.projWeight,
    cProjBias: w.projBias,
    nHead: inp.nHead,
    past: inp.past,
    mask: inp.mask,
    dropoutRate: rate,
    seed: inp.seed,
    keepCache: inp.keepCache,
    cacheCapacity: inp.cacheCapacity,
  });
  const afterAttention = tf.add(x, attn.out) as tf.Tensor3D; // residual
  const h2d = tf.reshape(layerNorm(afterAttention, w.ln2Weight, w.ln2Bias, eps), [B * T, C]) as tf.Tensor2D;
  const mlp = linear(geluNew(linear(h2d, w.fcWeight, w.fcBias)) as tf.Tensor2D, w.fcProjWeight, w.fcProjBias);
  const seed = inp.seed === undefined ? undefined : inp.seed + 2;
  const out = tf.add(afterAttention, dropout(tf.reshape(mlp, [B, T, C]), rate, seed)) as tf.Tensor3D; // residual
  return { x: out, present: attn.present };
});

/**
 * The GPT-2 forward pass (HF `GPT2LMHeadModel`), a pure function of a model's
 * weights: token + position embeddings → n_layer pre-LayerNorm blocks → ln_f →
 * logits through the tied embedding matrix.
 */
import { tf } from "../tf.ts";
import { attentionMask } from "./attention.ts";
import { decoderBlock } from "./block.ts";
import type { KVCache, LayerCache } from "../ops/kv_cache.ts";
import { cacheLength, flattenCache, unflattenCache } from "../ops/kv_cache.ts";
import { dropout, embeddingLookup, layerNorm, matMulTransposeB } from "./layers.ts";
import type { GPT2Model } from "./model_types.ts";

export interface ForwardOptions {
  /** Dropout on (training) or off. Sampling, scoring and evaluation keep it off. @default false */
  readonly training?: boolean;
  /** Seed for the dropout masks when training; random when absent. */
  readonly seed?: number;
  /** Keys/values of the positions before `ids` (generation). */
  readonly cache?: KVCache;
  /** [B, past + T]: 1 for real tokens, 0 for padding. Padded keys are never attended to. */
  readonly attentionMask?: tf.Tensor2D;
  /** [B, T] int32 positions of `ids`. @default past, past+1, … for every row */
  readonly positionIds?: tf.Tensor2D;
  /**
   * Positions the returned cache has room for (generation: prompt + new tokens): later passes append to it in
   * place instead of copying it. Such a cache is extended once from each point, never twice. @default exactly past + T
   */
  readonly cacheCapacity?: number;
}

/**
 * Final hidden states [B, T, C] (after ln_f) and the cache extended by `ids`.
 * The caller owns both results (dispose them, or call inside `tf.tidy`).
 *
 * @example
 * ```ts
 * import { cacheLength, createGPT2, disposeCache, gpt2HiddenWithCache, resolveGPT2Config, tf } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const first = gpt2HiddenWithCache(model, tf.tensor2d([[1, 2, 3]], [1, 3], "int32")); // the prompt
 * // The next token attends to the cached keys and values of the prompt instead of recomputing them.
 * const next = gpt2HiddenWithCache(model, tf.tensor2d([[4]], [1, 1], "int32"), { cache: first.cache });
 * next.hidden.shape; // [1, 1, 8]
 * cacheLength(next.cache); // 4
 * for (const r of [first, next]) (r.hidden.dispose(), disposeCache(r.cache));
 * ```
 */
export function gpt2HiddenWithCache(
  model: GPT2Model,
  ids: tf.Tensor2D,
  options: ForwardOptions = {},
): { hidden: tf.Tensor3D; cache: KVCache } {
  return forwardBlocks(model, ids, options, true);
}

/**
 * Final hidden states [B, T, C] (after ln_f), without keeping a cache.
 *
 * @example
 * ```ts
 * import { createGPT2, gpt2Hidden, resolveGPT2Config, tf } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const hidden = gpt2Hidden(model, tf.tensor2d([[1, 2, 3]], [1, 3], "int32")); // [1, 3, 8]: [B, T, C]
 * // The reward model and the value head read these, not the logits.
 * ```
 */
export function gpt2Hidden(model: GPT2Model, ids: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
  return forwardBlocks(model, ids, options, false).hidden;
}

/**
 * The forward pass; with `keepCache` false the cache comes back empty, and
 * attention may take the fused training kernel, which returns no keys and values.
 */
function forwardBlocks(
  model: GPT2Model,
  ids: tf.Tensor2D,
  options: ForwardOptions,
  keepCache: boolean,
): { hidden: tf.Tensor3D; cache: KVCache } {
  const { config, params } = model;
  const [B, T] = ids.shape;
  const past = cacheLength(options.cache);
  if (past + T > config.n_positions) {
    throw new Error(`gpt2 forward: ${past + T} positions exceed the context length n_positions=${config.n_positions}`);
  }
  const rate = options.training ? config.dropout : 0;
  const seedAt = (k: number) => (options.seed === undefined ? undefined : options.seed + k);
  const C = config.n_embd;
  const eps = config.layer_norm_epsilon;
  const cache: LayerCache[] = [];

  const hidden = tf.tidy(() => {
    const tokens = tf.reshape(embeddingLookup(params["wte.weight"] as tf.Tensor2D, tf.reshape(ids, [B * T])), [B, T, C]);
    const positions = options.positionIds
      ? tf.reshape(embeddingLookup(params["wpe.weight"] as tf.Tensor2D, tf.reshape(options.positionIds, [B * T])), [B, T, C])
      : embeddingLookup(params["wpe.weight"] as tf.Tensor2D, tf.range(past, past + T, 1, "int32")); // [T, C], broadcast over rows
    let x = dropout(tf.add(tokens, positions), rate, seedAt(0)) as tf.Tensor3D; // [B, T, C]
    const mask = attentionMask(T, past, options.attentionMask);

    for (let i = 0; i < config.n_layer; i++) {
      const p = (name: string) => params[`h.${i}.${name}`];
      const block = decoderBlock({
        x,
        weights: {
          ln1Weight: p("ln_1.weight"),
          ln1Bias: p("ln_1.bias"),
          attnWeight: p("attn.c_attn.weight"),
          attnBias: p("attn.c_attn.bias"),
          projWeight: p("attn.c_proj.weight"),
          projBias: p("attn.c_proj.bias"),
          ln2Weight: p("ln_2.weight"),
          ln2Bias: p("ln_2.bias"),
          fcWeight: p("mlp.c_fc.weight") as tf.Tensor2D,
          fcBias: p("mlp.c_fc.bias") as tf.Tensor1D,
          fcProjWeight: p("mlp.c_proj.weight") as tf.Tensor2D,
          fcProjBias: p("mlp.c_proj.bias") as tf.Tensor1D,
        },
        nHead: config.n_head,
        eps,
        past: options.cache?.[i],
        mask,
        dropoutRate: rate,
        seed: seedAt(10 * i + 1), // attention weights seed, its output seed + 1, the MLP output seed + 2
        keepCache,
        cacheCapacity: options.cacheCapacity,
      });
      if (keepCache && block.present) cache.push(block.present); // otherwise the tidy below disposes them
      x = block.x;
    }
    const out = layerNorm(x, params["ln_f.weight"], params["ln_f.bias"], eps) as tf.Tensor3D;
    // Keep the cache tensors alive past this tidy by returning them with the result.
    return [out, ...flattenCache(cache)];
  }) as tf.Tensor[];
  const [out, ...kv] = hidden;
  return { hidden: out as tf.Tensor3D, cache: unflattenCache(kv, past + T) };
}

/**
 * LM head tied to the token embeddings: logits = hidden · wteᵀ, [B, T, V]. `embeddingT`, when given, is wteᵀ
 * made beforehand (`transposedEmbedding`).
 *
 * @example
 * ```ts
 * import { createGPT2, gpt2Hidden, lmHead, resolveGPT2Config, tf } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const ids = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
 * const out = lmHead(model, gpt2Hidden(model, ids)); // [1, 3, 16]: the same numbers as logits(model, ids)
 * ```
 */
export function lmHead(model: GPT2Model, hidden: tf.Tensor3D, embeddingT?: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, C] = hidden.shape;
    const rows = tf.reshape(hidden, [B * T, C]) as tf.Tensor2D;
    const flat = embeddingT ? tf.matMul(rows, embeddingT) : matMulTransposeB(rows, model.params["wte.weight"] as tf.Tensor2D);
    return tf.reshape(flat, [B, T, model.config.vocab_size]) as tf.Tensor3D;
  });
}

/**
 * The LM head's matrix transposed, [C, V], for `lmHead`'s third argument: a caller that takes the LM head of a
 * few rows many times with the same weights (`generate`, once per token) makes it once; the product then
 * reads it in place (lib/fast/native/kernels.c, few_rows_product), where BLAS repacks all V × C of the stored
 * matrix on every call. The same sums either way. The caller disposes it.
 */
export function transposedEmbedding(model: GPT2Model): tf.Tensor2D {
  return tf.transpose(model.params["wte.weight"] as tf.Tensor2D);
}

/**
 * Next-token logits of a GPT-2 for int32 ids [B, T] → [B, T, V], dropout off.
 *
 * @example
 * ```ts
 * import { createGPT2, logits, resolveGPT2Config, tf } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const out = logits(model, tf.tensor2d([[1, 2, 3]], [1, 3], "int32")); // [1, 3, 16]
 * const next = tf.tidy(() => tf.softmax(out.slice([0, 2, 0], [1, 1, 16]))); // the distribution of the 4th token
 * ```
 */
export function logits(model: GPT2Model, ids: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
  return tf.tidy(() => lmHead(model, gpt2Hidden(model, ids, options)));
}

/**
 * Next-token logits [N, V] at flat positions `at` (b · T + t) of hidden states [B, T, C]: the LM head, the
 * widest product of a small model's step, only where a loss reads it (an answer's tokens, not its prompt or
 * padding). The gradient flows back to those positions only.
 *
 * @example
 * ```ts
 * import { createGPT2, gpt2Hidden, lmHeadAt, resolveGPT2Config, tf } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const hidden = gpt2Hidden(model, tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], "int32"));
 * lmHeadAt(model, hidden, [2, 4, 5]).shape; // [3, 16]: row 0's last position, row 1's last two
 * ```
 */
export function lmHeadAt(model: GPT2Model, hidden: tf.Tensor3D, at: readonly number[]): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, T, C] = hidden.shape;
    const states = embeddingLookup(tf.reshape(hidden, [B * T, C]) as tf.Tensor2D, tf.tensor1d([...at], "int32")); // [N, C]
    return tf.squeeze(lmHead(model, tf.expandDims(states, 0) as tf.Tensor3D), [0]) as tf.Tensor2D; // [N, V]
  });
}

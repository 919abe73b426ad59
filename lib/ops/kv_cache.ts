/**
 * Key/value cache for generation: the keys and values of every past position,
 * per layer, so each new token attends to them without recomputing them.
 *
 * It lives with the ops (layer 0) because the attention op takes and returns
 * one layer of it (lib/ops/fast_path.ts); the model (lib/gpt2) and generation
 * (lib/generate) use the same type and helpers.
 */
import type { tf } from "../tf.ts";

/** One layer's cached keys and values, each [B, n_head, room, head_size], the first `length` positions filled. */
export interface LayerCache {
  readonly key: tf.Tensor4D;
  readonly value: tf.Tensor4D;
  /** Positions filled (generation keeps room for the tokens to come and appends in place). @default key.shape[2] */
  readonly length?: number;
}

/** The cache of all layers, in layer order (every layer holds the same positions). */
export type KVCache = readonly LayerCache[];

/**
 * Number of positions a cache holds (0 for none).
 *
 * @example
 * ```ts
 * import { cacheLength, createGPT2, gpt2HiddenWithCache, resolveGPT2Config, tf } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * cacheLength(undefined); // 0: nothing generated yet
 * const { cache } = gpt2HiddenWithCache(model, tf.tensor2d([[1, 2, 3]], [1, 3], "int32"));
 * cacheLength(cache); // 3
 * ```
 */
export function cacheLength(cache: KVCache | undefined): number {
  return cache && cache.length > 0 ? cache[0].length ?? cache[0].key.shape[2] : 0;
}

/**
 * Frees every tensor of a cache.
 *
 * @example
 * ```ts
 * import { createGPT2, disposeCache, gpt2HiddenWithCache, resolveGPT2Config, tf } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const { hidden, cache } = gpt2HiddenWithCache(model, tf.tensor2d([[1, 2, 3]], [1, 3], "int32"));
 * hidden.dispose();
 * disposeCache(cache); // its keys and values: 2 tensors per layer
 * ```
 */
export function disposeCache(cache: KVCache | undefined): void {
  for (const layer of cache ?? []) {
    layer.key.dispose();
    layer.value.dispose();
  }
}

/**
 * The cache's tensors as one list [key 0, value 0, key 1, value 1, …]. Code
 * that makes a cache inside `tf.tidy` returns this list, beside its other
 * results (tidy's result type takes arrays of tensors, not our interfaces),
 * and rebuilds the cache from it with `unflattenCache`.
 */
export function flattenCache(cache: KVCache): tf.Tensor4D[] {
  return cache.flatMap((layer) => [layer.key, layer.value]);
}

/** The cache from a list made by `flattenCache`, with `length` positions filled (default: all of each tensor). */
export function unflattenCache(tensors: readonly tf.Tensor[], length?: number): KVCache {
  const cache: LayerCache[] = [];
  for (let i = 0; i < tensors.length; i += 2) {
    cache.push({ key: tensors[i] as tf.Tensor4D, value: tensors[i + 1] as tf.Tensor4D, ...(length === undefined ? {} : { length }) });
  }
  return cache;
}

/** Frees the tensors of `old` that `next` does not hold (a cache extended in place keeps its tensors). */
export function replaceCache(old: KVCache | undefined, next: KVCache | undefined): void {
  const kept = new Set(next ? flattenCache(next) : []);
  for (const t of old ? flattenCache(old) : []) if (!kept.has(t)) t.dispose();
}

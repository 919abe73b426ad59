/**
 * Key/value cache for generation: the keys and values of every past position,
 * per layer, so each new token attends to them without recomputing them.
 */
import type { tf } from "../tf.ts";

/** One layer's cached keys and values, each [B, n_head, T_past, head_size]. */
export interface LayerCache {
  readonly key: tf.Tensor4D;
  readonly value: tf.Tensor4D;
}

/** The cache of all layers, in layer order. Its length in positions is `key.shape[2]`. */
export type KVCache = readonly LayerCache[];

/** Number of positions a cache holds (0 for none). */
export function cacheLength(cache: KVCache | undefined): number {
  return cache && cache.length > 0 ? cache[0].key.shape[2] : 0;
}

/** Frees every tensor of a cache. */
export function disposeCache(cache: KVCache | undefined): void {
  for (const layer of cache ?? []) {
    layer.key.dispose();
    layer.value.dispose();
  }
}

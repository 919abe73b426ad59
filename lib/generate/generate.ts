/**
 * Batched text generation with a key/value cache.
 *
 * Prompts of different lengths are left-padded into one batch; an attention
 * mask hides the padding and position ids restart at 0 at each prompt's first
 * real token, so every row gets exactly the logits it would get alone.
 * Sampling happens on the last position's logits after one read from the
 * backend per step, in JavaScript or a C kernel (see sampling.ts).
 */
import { tf } from "../tf.ts";
import { gpt2HiddenWithCache, lmHead, transposedEmbedding } from "../gpt2/forward.ts";
import type { KVCache } from "../ops/kv_cache.ts";
import { cacheLength, disposeCache, flattenCache, replaceCache, unflattenCache } from "../ops/kv_cache.ts";
import { withFastPath } from "../ops/fast_path.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { RandomSource, SamplingOptions } from "./sampling.ts";
import { checkSamplingOptions, sampleRows } from "./sampling.ts";
import { countWork } from "../work.ts";

export interface GenerateOptions extends SamplingOptions {
  /** Most new tokens per row (capped by the context length). @default 64 */
  readonly maxNewTokens?: number;
  /** Token ids that end a row (e.g. the end-of-turn id); the stop token is kept in the output. */
  readonly stopIds?: readonly number[];
  /** Random numbers for sampling; build it from a seed for reproducible runs. */
  readonly rng: RandomSource;
  /** Id used for left padding and after a row has stopped (never attended to). @default 0 */
  readonly padId?: number;
  /** Recompute the whole sequence each step instead of using the cache (for tests and teaching). @default false */
  readonly noCache?: boolean;
}

export interface Generation {
  /** New tokens per row, including the stop token when one was produced. */
  readonly tokens: number[][];
  /** log-prob of each new token under the distribution it was sampled from. */
  readonly logprobs: number[][];
  /** Whether each row produced a stop token. */
  readonly finished: boolean[];
}

/**
 * Continues each prompt (token ids) until a stop token or `maxNewTokens`.
 *
 * @example
 * ```ts
 * import { createGPT2, generate, resolveGPT2Config, Rng } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const out = await generate(model, [[5, 6, 7], [8]], { maxNewTokens: 4, topP: 0.9, stopIds: [3], rng: new Rng(1) });
 * out.tokens; // one row per prompt, up to 4 new ids each (ending at 3 if it was drawn)
 * out.logprobs[0]; // each new token's log-prob under the top-p distribution it was drawn from
 * ```
 */
export async function generate(model: GPT2Model, prompts: readonly number[][], options: GenerateOptions): Promise<Generation> {
  checkSamplingOptions(options);
  const B = prompts.length;
  if (B === 0) return { tokens: [], logprobs: [], finished: [] };
  const start = performance.now();
  const promptLength = Math.max(...prompts.map((p) => p.length));
  if (prompts.some((p) => p.length === 0)) throw new Error("generate: every prompt needs at least one token");
  const room = model.config.n_positions - promptLength;
  if (room <= 0) {
    throw new Error(`generate: prompt of ${promptLength} tokens leaves no room in the context (n_positions=${model.config.n_positions})`);
  }
  const maxNew = Math.min(options.maxNewTokens ?? 64, room);
  const padId = options.padId ?? 0;
  const stop = new Set(options.stopIds ?? []);

  // Left padding: row b has `pads[b]` pad tokens, then its prompt.
  const pads = prompts.map((p) => promptLength - p.length);
  const rows = prompts.map((p, b) => [...Array(pads[b]).fill(padId), ...p]);
  const realMask = pads.map((pad) => Array.from({ length: promptLength }, (_, j) => (j < pad ? 0 : 1)));
  const nextPosition = prompts.map((p) => p.length); // position id of each row's next token

  const tokens: number[][] = prompts.map(() => []);
  const logprobs: number[][] = prompts.map(() => []);
  const finished = prompts.map(() => false);
  // The rows still in the batch (indices into `prompts`). Rows that stopped leave it once enough
  // have, so a batch of short and long answers does not keep computing the short ones' padding.
  let active = prompts.map((_, b) => b);
  let cache: KVCache | undefined;
  const embeddingT = tf.keep(transposedEmbedding(model)); // once for the whole call, not per token
  const stepIds: number[][] = prompts.map(() => []); // with the cache: the token each row consumes next
  try {
    for (let step = 0; step < maxNew && !finished.every(Boolean); step++) {
      const n = active.length;
      const useCache = !options.noCache && cache !== undefined;
      const inputIds = active.map((b) => (useCache ? stepIds[b] : rows[b]));
      const positions = inputIds.map((r, i) => {
        const start = nextPosition[active[i]] - r.length;
        return r.map((_, j) => Math.max(0, start + j));
      });
      const mask = active.map((b) => realMask[b]);
      let filled = 0; // positions in the cache after this step
      const last = tf.tidy(() => {
        const ids = tf.tensor2d(inputIds, [n, inputIds[0].length], "int32");
        const out = gpt2HiddenWithCache(model, ids, {
          cache: useCache ? cache : undefined,
          attentionMask: tf.tensor2d(mask, [n, mask[0].length], "int32"),
          positionIds: tf.tensor2d(positions, [n, inputIds[0].length], "int32"),
          // Room for every token to come: each step appends its keys and values in place.
          ...(options.noCache ? {} : { cacheCapacity: promptLength + maxNew }),
        });
        filled = cacheLength(out.cache);
        const T = ids.shape[1];
        const lastHidden = tf.slice(out.hidden, [0, T - 1, 0], [n, 1, -1]) as tf.Tensor3D;
        return [tf.reshape(lmHead(model, lastHidden, embeddingT), [n, -1]), ...flattenCache(out.cache)];
      });
      const [lastLogits, ...kv] = last;
      const next = options.noCache ? undefined : unflattenCache(kv, filled);
      replaceCache(cache, next); // the old cache's tensors, unless this step appended to them in place
      if (options.noCache) kv.forEach((t) => t.dispose());
      cache = next;
      // The one device sync of the step (on wasm no copy: sampling reads the heap before anything allocates).
      const values = float32View(lastLogits) ?? (await lastLogits.data() as Float32Array);
      let sampled;
      try {
        sampled = sampleRows(values, model.config.vocab_size, active.map((b) => !finished[b]), options, options.rng);
      } finally {
        lastLogits.dispose();
      }
      active.forEach((b, i) => {
        let chosen = padId;
        if (!finished[b]) {
          const { token, logprob } = sampled[i]!;
          tokens[b].push(token);
          logprobs[b].push(logprob);
          if (stop.has(token)) finished[b] = true;
          chosen = token;
        }
        rows[b].push(chosen);
        realMask[b].push(1);
        // Positions restart at the first real token: the left padding is not counted.
        nextPosition[b] += 1;
        stepIds[b] = [chosen];
      });
      const stillRunning = active.filter((b) => !finished[b]);
      if (stillRunning.length > 0 && n - stillRunning.length >= Math.max(1, n / 8)) {
        const keep = active.flatMap((b, i) => (finished[b] ? [] : [i]));
        if (cache) cache = keepRows(cache, keep);
        active = stillRunning;
      }
    }
  } finally {
    disposeCache(cache);
    embeddingT.dispose();
  }
  countWork("generate", tokens.reduce((n, row) => n + row.length, 0), (performance.now() - start) / 1000);
  return { tokens, logprobs, finished };
}

/** The cache of batch rows `keep` only (the old cache is disposed). */
function keepRows(cache: KVCache, keep: number[]): KVCache {
  const filled = cacheLength(cache);
  const kept = tf.tidy(() => {
    const index = tf.tensor1d(keep, "int32");
    return flattenCache(cache).map((t) => tf.gather(t, index));
  });
  disposeCache(cache);
  return unflattenCache(kept, filled);
}

/**
 * A float32 tensor's values without a copy where the backend allows it (on wasm, a view of the heap:
 * lib/ops/fast_path.ts), valid until the next tfjs call; undefined elsewhere: tfjs has no such view.
 */
export const float32View = withFastPath("float32View", () => undefined);

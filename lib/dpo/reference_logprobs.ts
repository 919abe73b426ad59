/**
 * The reference model's sequence log-probs of DPO batches, computed once and
 * handed back when the same batch comes again. DPO runs that differ only in β
 * (a frontier sweep) draw the same batches in the same order from the same
 * pairs, so every run after the first skips the reference's forward pass and
 * gets the very same numbers.
 */
import { tf } from "../tf.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { LMBatch } from "../data/lm_batches.ts";
import { sequenceLogprobs } from "./dpo_loss.ts";

/**
 * A sweep's shared cache of log π_ref, keyed by the batch's tokens and masks.
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, createGPT2, encodeChat, ReferenceLogprobs, resolveGPT2Config, sftBatch } from "rlhf";
 * const tok = buildCharVocab(["写诗春风秋雨"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * const reference = createGPT2(resolveGPT2Config({ vocab_size: tok.vocabSize, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const answer = (content: string) => encodeChat([{ role: "user", content: "写诗" }, { role: "assistant", content }], tok);
 * const cache = new ReferenceLogprobs(reference);
 * const batch = sftBatch([answer("春风"), answer("秋雨")], tok.eosId);
 * cache.of(batch); // computed: [2] log-probs
 * cache.of(batch); // the same values, without a forward pass
 * ```
 */
export class ReferenceLogprobs {
  readonly #values = new Map<string, Float32Array>();

  /** @param reference the frozen model every run sharing this cache takes as π_ref. */
  constructor(readonly reference: GPT2Model) {}

  /** log π_ref of each row of `batch` [rows]: computed on first sight of the batch, read from memory after. */
  of(batch: LMBatch): tf.Tensor1D {
    // The rows' tokens and masks name the batch (targets follow from the tokens of an SFT batch).
    const key = JSON.stringify([batch.ids, batch.mask]);
    const known = this.#values.get(key);
    if (known) return tf.tensor1d(known);
    const values = sequenceLogprobs(this.reference, batch);
    this.#values.set(key, values.dataSync() as Float32Array);
    return values;
  }

  /** Batches held. */
  get size(): number {
    return this.#values.size;
  }
}

/**
 * GPT-2's byte-level BPE (OpenAI's r50k_base, 50257 ids, `<|endoftext|>` =
 * 50256) through the npm package `gpt-tokenizer`, optionally with a pruned id
 * map for tiny models.
 *
 * Pruning: a tiny model on Chinese poems uses a few hundred of GPT-2's 50257
 * ids; an embedding table for all of them would dwarf the model. The pruned
 * map keeps the ids a corpus uses, `<|endoftext|>`, and the 256 single-byte
 * tokens, renumbered 0..n-1 in ascending GPT-2 order. A token outside the map
 * is written as its bytes' single-byte tokens, so every text still encodes
 * and decodes losslessly.
 */
import { decode as bpeDecode, encode as bpeEncode } from "gpt-tokenizer/encoding/r50k_base";
import bpeRanks from "gpt-tokenizer/esm/bpeRanks/r50k_base";
import type { Tokenizer } from "./types.ts";

export const GPT2_EOS = "<|endoftext|>";
export const GPT2_EOS_ID = 50256;
export const GPT2_VOCAB_SIZE = 50257;

/**
 * GPT-2 ids of a text, with `<|endoftext|>` recognised anywhere. The text is
 * split at the marker by hand: gpt-tokenizer 4.0.0 only recognises a special
 * token when it is the whole input.
 */
function encodeGpt2(text: string): number[] {
  const ids: number[] = [];
  text.split(GPT2_EOS).forEach((piece, i) => {
    if (i > 0) ids.push(GPT2_EOS_ID);
    if (piece) ids.push(...bpeEncode(piece));
  });
  return ids;
}

/** The bytes a GPT-2 token stands for (its entry in the BPE ranks is a string or a byte list). */
function tokenBytes(id: number): Uint8Array {
  const entry = (bpeRanks as (string | number[])[])[id];
  if (entry === undefined) throw new Error(`GPT-2 BPE: no token with id ${id}`);
  return typeof entry === "string" ? new TextEncoder().encode(entry) : Uint8Array.from(entry);
}

/** byte value → id of GPT-2's single-byte token (ids 0..255 are the byte alphabet). */
const BYTE_TOKEN: number[] = (() => {
  const table = new Array<number>(256);
  for (let id = 0; id < 256; id++) table[tokenBytes(id)[0]] = id;
  return table;
})();

export class Gpt2BpeTokenizer implements Tokenizer {
  readonly kind = "gpt2-bpe" as const;
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  readonly eosId: number;
  /** Compact id → GPT-2 id, or undefined for the full vocabulary. */
  readonly prunedIds?: readonly number[];
  readonly #toCompact?: Map<number, number>;

  /** @param prunedIds GPT-2 ids to keep, in compact-id order (see `pruned`); omit for all 50257. */
  constructor(prunedIds?: readonly number[]) {
    if (prunedIds) {
      this.prunedIds = [...prunedIds];
      this.#toCompact = new Map(prunedIds.map((id, i) => [id, i]));
      for (const required of [...BYTE_TOKEN, GPT2_EOS_ID]) {
        if (!this.#toCompact.has(required)) throw new Error(`Gpt2BpeTokenizer: pruned ids must include the 256 byte tokens and ${GPT2_EOS_ID}; ${required} is missing`);
      }
    }
    this.vocabSize = prunedIds ? prunedIds.length : GPT2_VOCAB_SIZE;
    this.eosId = this.#compact(GPT2_EOS_ID);
    this.specialTokens = Object.freeze({ [GPT2_EOS]: this.eosId });
  }

  /** A pruned tokenizer keeping the ids that `corpus` uses (plus bytes and `<|endoftext|>`). */
  static pruned(corpus: Iterable<string>): Gpt2BpeTokenizer {
    const keep = new Set<number>([...BYTE_TOKEN, GPT2_EOS_ID]);
    for (const text of corpus) for (const id of encodeGpt2(text)) keep.add(id);
    return new Gpt2BpeTokenizer([...keep].sort((a, b) => a - b));
  }

  encode(text: string): number[] {
    const ids = encodeGpt2(text);
    if (!this.#toCompact) return ids;
    const out: number[] = [];
    for (const id of ids) {
      const compact = this.#toCompact.get(id);
      if (compact !== undefined) out.push(compact);
      else for (const byte of tokenBytes(id)) out.push(this.#toCompact.get(BYTE_TOKEN[byte])!); // lossless fallback
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    const full = this.prunedIds
      ? ids.map((id) => {
        const original = this.prunedIds![id];
        if (original === undefined) throw new Error(`Gpt2BpeTokenizer.decode: id ${id} is outside the pruned vocabulary (${this.vocabSize})`);
        return original;
      })
      : [...ids];
    return bpeDecode(full);
  }

  #compact(id: number): number {
    return this.#toCompact ? this.#toCompact.get(id)! : id;
  }
}

/**
 * GPT-2's byte-level BPE (OpenAI's r50k_base: 50257 ids, `<|endoftext|>` =
 * 50256) through the npm package `gpt-tokenizer`, optionally with a pruned id
 * map for tiny models.
 *
 * Encoding is gpt-tokenizer's (the GPT-2 split regex and merge ranks). Two
 * things are done here instead:
 * - `<|endoftext|>` is split off by hand: gpt-tokenizer 4.0.0 throws on it by
 *   default, and with `allowedSpecial` it only recognises it when it is the
 *   whole input (inside a text it is encoded as plain characters).
 * - Decoding joins the tokens' bytes and decodes them once. gpt-tokenizer's
 *   `decode` keeps one module-wide streaming TextDecoder: ids that end inside a
 *   UTF-8 character (a generation cut short) lose those bytes, and the next
 *   `decode` call, anywhere, starts with a stray "�".
 *
 * The byte alphabet: GPT-2's ids 0..255 are its 256 single-byte tokens, in the
 * order of HF's `bytes_to_unicode()` (bytes `!`..`~`, `¡`..`¬`, `®`..`ÿ`, then
 * the other 68 bytes ascending). The table below is read from gpt-tokenizer's
 * rank table (entry = the token's text, or its bytes when they are not valid
 * UTF-8) and checked to be a permutation of the 256 bytes when this module loads.
 *
 * Pruning: a tiny model on Chinese poems uses a few hundred of the 50257 ids;
 * an embedding table for all of them would dwarf the model. The pruned map
 * keeps the ids a corpus uses, `<|endoftext|>` and the 256 byte tokens,
 * numbered 0..n-1 in ascending GPT-2 order. A token outside the map is written
 * as its bytes' single-byte tokens, so every text still encodes and decodes
 * losslessly (the only loss is GPT-2's own: a lone UTF-16 surrogate becomes
 * U+FFFD, since text is UTF-8 encoded).
 */
import { encode as bpeEncode } from "gpt-tokenizer/encoding/r50k_base";
import bpeRanks from "gpt-tokenizer/esm/bpeRanks/r50k_base";
import type { Tokenizer } from "./types.ts";

/**
 * GPT-2's one special token: it ends a document (and a turn, in `GPT2_CHAT_TEMPLATE`).
 *
 * @example
 * ```ts
 * import { GPT2_EOS, Gpt2BpeTokenizer } from "rlhf";
 * new Gpt2BpeTokenizer().encode(`Hello${GPT2_EOS}`); // [15496, 50256]
 * ```
 */
export const GPT2_EOS = "<|endoftext|>";
/**
 * The id of `<|endoftext|>`, GPT-2's last id.
 *
 * @example
 * ```ts
 * import { GPT2_EOS_ID, GPT2_VOCAB_SIZE } from "rlhf";
 * GPT2_EOS_ID === GPT2_VOCAB_SIZE - 1; // true
 * ```
 */
export const GPT2_EOS_ID = 50256;
/**
 * Number of GPT-2 ids: 256 bytes, 50000 merges and `<|endoftext|>`.
 *
 * @example
 * ```ts
 * import { GPT2_VOCAB_SIZE, resolveGPT2Config } from "rlhf";
 * const config = resolveGPT2Config({ preset: "gpt2", vocab_size: GPT2_VOCAB_SIZE }); // GPT-2 small, as OpenAI trained it
 * ```
 */
export const GPT2_VOCAB_SIZE = 50257;

const utf8 = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF (the default would drop it: not lossless).
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const TOKEN_BYTES: Uint8Array[] = [];

/**
 * The bytes a GPT-2 id stands for (`<|endoftext|>`: its UTF-8 text).
 *
 * @example
 * ```ts
 * import { gpt2TokenBytes } from "rlhf";
 * new TextDecoder().decode(gpt2TokenBytes(995)); // " world"
 * ```
 */
export function gpt2TokenBytes(id: number): Uint8Array {
  if (id === GPT2_EOS_ID) return utf8.encode(GPT2_EOS);
  let bytes = TOKEN_BYTES[id];
  if (bytes === undefined) {
    const entry = Number.isInteger(id) ? (bpeRanks as (string | number[] | undefined)[])[id] : undefined;
    if (entry === undefined) throw new Error(`GPT-2 BPE: no token with id ${id} (ids are 0..${GPT2_VOCAB_SIZE - 1})`);
    bytes = TOKEN_BYTES[id] = typeof entry === "string" ? utf8.encode(entry) : Uint8Array.from(entry);
  }
  return bytes;
}

/**
 * byte value → id of GPT-2's single-byte token (one of ids 0..255).
 *
 * @example
 * ```ts
 * import { GPT2_BYTE_TOKEN, gpt2TokenBytes } from "rlhf";
 * const newline = GPT2_BYTE_TOKEN[0x0a]; // 198
 * gpt2TokenBytes(newline); // Uint8Array [10]
 * ```
 */
export const GPT2_BYTE_TOKEN: readonly number[] = (() => {
  const table = new Array<number>(256);
  for (let id = 0; id < 256; id++) {
    const bytes = gpt2TokenBytes(id);
    if (bytes.length !== 1 || table[bytes[0]] !== undefined) throw new Error(`GPT-2 BPE: id ${id} is not a distinct single byte`);
    table[bytes[0]] = id;
  }
  return Object.freeze(table);
})();

/**
 * HF's `bytes_to_unicode()`: the printable character that stands for each
 * byte in GPT-2's `vocab.json` and `merges.txt` (a space is "Ġ", "\n" is "Ċ").
 *
 * @example
 * ```ts
 * import { GPT2_BYTE_CHAR } from "rlhf";
 * GPT2_BYTE_CHAR[0x20]; // "Ġ": a space, as vocab.json and merges.txt write it
 * ```
 */
export const GPT2_BYTE_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCodePoint(printable(b) ? b : next++);
  return Object.freeze(chars);
})();

/**
 * The key of a GPT-2 id in HF's `vocab.json` (its bytes written with GPT2_BYTE_CHAR; `<|endoftext|>` as is).
 *
 * @example
 * ```ts
 * import { gpt2VocabKey } from "rlhf";
 * gpt2VocabKey(995); // "Ġworld"
 * ```
 */
export function gpt2VocabKey(id: number): string {
  if (id === GPT2_EOS_ID) return GPT2_EOS;
  let key = "";
  for (const b of gpt2TokenBytes(id)) key += GPT2_BYTE_CHAR[b];
  return key;
}

/**
 * GPT-2 ids of a text, with `<|endoftext|>` recognised anywhere in it.
 *
 * @example
 * ```ts
 * import { encodeGpt2 } from "rlhf";
 * encodeGpt2("Hello world<|endoftext|>"); // [15496, 995, 50256]
 * ```
 */
export function encodeGpt2(text: string): number[] {
  const ids: number[] = [];
  text.split(GPT2_EOS).forEach((piece, i) => {
    if (i > 0) ids.push(GPT2_EOS_ID);
    if (piece) ids.push(...bpeEncode(piece));
  });
  return ids;
}

/**
 * Text of GPT-2 ids; bytes that are not valid UTF-8 (a cut character) become U+FFFD, as in HF (`errors="replace"`).
 *
 * @example
 * ```ts
 * import { decodeGpt2 } from "rlhf";
 * decodeGpt2([15496, 995, 50256]); // "Hello world<|endoftext|>"
 * decodeGpt2([171]); // "\uFFFD": one byte of a three-byte character
 * ```
 */
export function decodeGpt2(ids: readonly number[]): string {
  let text = "";
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length) text += utf8Decoder.decode(Uint8Array.from(bytes)); // not streaming: no state carried between calls
    bytes = [];
  };
  for (const id of ids) {
    if (id === GPT2_EOS_ID) {
      flush();
      text += GPT2_EOS;
    } else {
      for (const b of gpt2TokenBytes(id)) bytes.push(b);
    }
  }
  flush();
  return text;
}

/**
 * The GPT-2 ids a pruned tokenizer keeps for `corpus`: every id the corpus
 * encodes to, `<|endoftext|>` and the 256 byte tokens, ascending (so the same
 * corpus always gives the same map).
 *
 * @example
 * ```ts
 * import { buildPrunedIdMap, Gpt2BpeTokenizer } from "rlhf";
 * const ids = buildPrunedIdMap(["床前明月光"]);
 * ids.length; // 262: the 256 bytes, <|endoftext|> and the 5 ids the line encodes to
 * const tok = new Gpt2BpeTokenizer(ids); // ids 0..261
 * ```
 */
export function buildPrunedIdMap(corpus: Iterable<string>): number[] {
  const keep = new Set<number>([...GPT2_BYTE_TOKEN, GPT2_EOS_ID]);
  for (const text of corpus) for (const id of encodeGpt2(text)) keep.add(id);
  return [...keep].sort((a, b) => a - b);
}

/**
 * GPT-2 byte-level BPE, with all 50257 ids or a pruned, renumbered subset.
 *
 * @example
 * ```ts
 * import { Gpt2BpeTokenizer } from "rlhf";
 * new Gpt2BpeTokenizer().encode("Hello world"); // [15496, 995]: all 50257 ids
 * const tiny = Gpt2BpeTokenizer.pruned(["床前明月光"]); // the ids a corpus uses, for a tiny model
 * tiny.decode(tiny.encode("any text at all")); // "any text at all": other tokens go byte by byte
 * ```
 */
export class Gpt2BpeTokenizer implements Tokenizer {
  readonly kind = "gpt2-bpe" as const;
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  readonly eosId: number;
  /** Compact id → GPT-2 id, or undefined for the full vocabulary. */
  readonly prunedIds?: readonly number[];
  readonly #toCompact?: Map<number, number>;

  /** @param prunedIds GPT-2 ids to keep, ascending (see `buildPrunedIdMap`); omit for all 50257. */
  constructor(prunedIds?: readonly number[]) {
    if (prunedIds) {
      prunedIds.forEach((id, i) => {
        if (!Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE) {
          throw new Error(`Gpt2BpeTokenizer: pruned id [${i}] = ${id} is not a GPT-2 id`);
        }
        if (i > 0 && id <= prunedIds[i - 1]) {
          throw new Error(`Gpt2BpeTokenizer: pruned ids must be strictly ascending ([${i - 1}] = ${prunedIds[i - 1]}, [${i}] = ${id})`);
        }
      });
      this.prunedIds = Object.freeze([...prunedIds]);
      this.#toCompact = new Map(prunedIds.map((id, i) => [id, i]));
      for (const required of [...GPT2_BYTE_TOKEN, GPT2_EOS_ID]) {
        if (!this.#toCompact.has(required)) {
          throw new Error(`Gpt2BpeTokenizer: pruned ids must include the 256 byte tokens and ${GPT2_EOS_ID}; ${required} is missing`);
        }
      }
    }
    this.vocabSize = prunedIds ? prunedIds.length : GPT2_VOCAB_SIZE;
    this.eosId = this.#toCompact ? this.#toCompact.get(GPT2_EOS_ID)! : GPT2_EOS_ID;
    this.specialTokens = Object.freeze({ [GPT2_EOS]: this.eosId });
  }

  /**
   * A pruned tokenizer keeping the ids that `corpus` uses (plus bytes and `<|endoftext|>`).
   *
   * @example
   * ```ts
   * import { Gpt2BpeTokenizer } from "rlhf";
   * const tok = Gpt2BpeTokenizer.pruned(["床前明月光"]);
   * tok.decode(tok.encode("any text at all")); // "any text at all"
   * ```
   */
  static pruned(corpus: Iterable<string>): Gpt2BpeTokenizer {
    return new Gpt2BpeTokenizer(buildPrunedIdMap(corpus));
  }

  /**
   * Text → ids (compact ids when pruned).
   *
   * @example
   * ```ts
   * import { Gpt2BpeTokenizer } from "rlhf";
   * new Gpt2BpeTokenizer().encode("Hello world<|endoftext|>"); // [15496, 995, 50256]
   * ```
   */
  encode(text: string): number[] {
    const ids = encodeGpt2(text);
    const toCompact = this.#toCompact;
    if (!toCompact) return ids;
    const out: number[] = [];
    for (const id of ids) {
      const compact = toCompact.get(id);
      if (compact !== undefined) out.push(compact);
      else for (const byte of gpt2TokenBytes(id)) out.push(toCompact.get(GPT2_BYTE_TOKEN[byte])!); // lossless fallback
    }
    return out;
  }

  /** Ids → text. */
  decode(ids: readonly number[]): string {
    return decodeGpt2(this.prunedIds ? ids.map((id) => this.toGpt2Id(id)) : ids);
  }

  /** The GPT-2 id of one of this tokenizer's ids (the same id unless pruned). */
  toGpt2Id(id: number): number {
    if (!this.prunedIds) return id;
    const original = this.prunedIds[id];
    if (original === undefined) {
      throw new Error(`Gpt2BpeTokenizer.decode: id ${id} is outside the pruned vocabulary (0..${this.vocabSize - 1})`);
    }
    return original;
  }
}

/**
 * What a vocabulary cannot spell: characters of a text that a character vocabulary (BERT-Chinese
 * `vocab.txt`) encodes as `[UNK]`. A model fine-tuned on them learns to write `[UNK]`; byte-level BPE
 * (GPT-2) spells every text, so it has none.
 */
import type { Tokenizer } from "./types.ts";

/**
 * The tokenizer's unknown-token id as a list (`[UNK]`; empty for GPT-2 BPE, which has none): what
 * `SamplingOptions.suppressIds` takes so that a model never writes `[UNK]`.
 *
 * @example
 * ```ts
 * import { CharVocabTokenizer, unknownTokenIds } from "rlhf";
 * unknownTokenIds(CharVocabTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n月\n", "vocab.txt")); // [1]
 * ```
 */
export function unknownTokenIds(tokenizer: Tokenizer): number[] {
  return Object.hasOwn(tokenizer.specialTokens, "[UNK]") ? [tokenizer.specialTokens["[UNK]"]] : [];
}

/** The characters of `texts` that become the tokenizer's `[UNK]`, each with how often it occurs, and the number of characters read. */
export function unknownCharacters(tokenizer: Tokenizer, texts: Iterable<string>): { unknown: Map<string, number>; characters: number } {
  const unknown = new Map<string, number>();
  let characters = 0;
  const [unkId] = unknownTokenIds(tokenizer);
  const known = new Map<string, boolean>();
  for (const text of texts) {
    for (const char of text) {
      characters++;
      if (unkId === undefined) continue;
      let isKnown = known.get(char);
      if (isKnown === undefined) known.set(char, isKnown = !tokenizer.encode(char).includes(unkId));
      if (!isKnown) unknown.set(char, (unknown.get(char) ?? 0) + 1);
    }
  }
  return { unknown, characters };
}

/**
 * A character vocabulary in `vocab.txt` form: one token a line, the line
 * number (from 0) is the id. This is what BERT-Chinese and the book's model,
 * `uer/gpt2-chinese-cluecorpussmall`, ship (`[PAD]`, `[unused1]`…`[unused99]`,
 * `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`, …, one line per character). Vocabularies
 * built here start with `[PAD] [UNK] [CLS] [SEP] [MASK]`.
 *
 * Encoding: special tokens (vocabulary entries of the form `[XXX]` or
 * `<|xxx|>`) are matched whole, longest first; every other Unicode code point
 * is one token (an emoji is one code point, not two UTF-16 units; 👍🏽 is two
 * code points, so two tokens); an unknown character becomes `[UNK]`, after
 * trying its lower case (BERT vocabularies hold lower-case Latin letters).
 * On Chinese text this is exactly BertTokenizer's split (one token per CJK
 * character); BERT's WordPiece on Latin words ("hello" → "hell", "##o") is not
 * reproduced: Latin text goes character by character.
 *
 * vocab.txt format decisions:
 * - A line holding a single space is the token " " (HF's `load_vocab` keeps it
 *   too: it only strips the newline). Our corpora have spaces, so they need it.
 * - Lines end at "\n", "\r\n" or "\r", as Python's text mode reads them in HF's
 *   `load_vocab`, so the line numbers, i.e. the ids, agree with HF. A token
 *   "\n" or "\r" cannot be a line: it is written `[NEWLINE]` / `[CR]`.
 * - Empty lines and duplicate tokens are errors that name the file and line.
 * - `[UNK]` and `[SEP]` must exist; `eosId` is `[SEP]`, which is what uer's
 *   GPT-2 Chinese uses to end a text.
 */
import type { Tokenizer } from "./types.ts";

/**
 * The five special tokens a character vocabulary built here starts with (ids 0–4), as BERT-Chinese's do.
 *
 * @example
 * ```ts
 * import { BERT_SPECIAL_TOKENS, buildCharVocab } from "rlhf";
 * const tok = buildCharVocab(["床前明月光"]);
 * tok.eosId === BERT_SPECIAL_TOKENS.indexOf("[SEP]"); // true: [SEP] (id 3) ends a text
 * ```
 */
export const BERT_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;
/**
 * What a special token looks like: `[XXX]` (BERT) or `<|xxx|>` (GPT style, e.g. the chat markers).
 *
 * @example
 * ```ts
 * import { SPECIAL_TOKEN_PATTERN } from "rlhf";
 * SPECIAL_TOKEN_PATTERN.test("<|user|>"); // true
 * SPECIAL_TOKEN_PATTERN.test("<user>"); // false: encode would never match it whole
 * ```
 */
export const SPECIAL_TOKEN_PATTERN = /^(\[[A-Za-z0-9_]+\]|<\|[A-Za-z0-9_]+\|>)$/;
/** How characters that would break a line are written in vocab.txt. */
const ESCAPES: Readonly<Record<string, string>> = { "\n": "[NEWLINE]", "\r": "[CR]" };
const UNESCAPES: Readonly<Record<string, string>> = { "[NEWLINE]": "\n", "[CR]": "\r" };

/**
 * A character vocabulary (the vocab.txt format above): special tokens whole, one id per other code point,
 * `[UNK]` for a character it lacks.
 *
 * @example
 * ```ts
 * import { CharVocabTokenizer } from "rlhf";
 * const tok = CharVocabTokenizer.fromVocabText(await Deno.readTextFile("models/gpt2-poetry-zh/vocab.txt"), "vocab.txt");
 * tok.encode("床前").length; // 2: one id per character
 * tok.decode(tok.encode("床前明月光")); // "床前明月光"
 * ```
 */
export class CharVocabTokenizer implements Tokenizer {
  readonly kind = "char-vocab" as const;
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  /** `[SEP]` ends a text, as in uer's GPT-2 Chinese. */
  readonly eosId: number;
  /** id → token. */
  readonly tokens: readonly string[];
  readonly #ids: Map<string, number>;
  readonly #unkId: number;
  /** Special tokens, longest first, so `[unused10]` wins over `[unused1]`. */
  readonly #specials: string[];

  /** @param source names the vocabulary in error messages (`vocab.txt:7: …`). */
  constructor(tokens: readonly string[], source = "vocabulary") {
    this.tokens = Object.freeze([...tokens]);
    this.#ids = new Map();
    tokens.forEach((t, i) => {
      if (t.length === 0) throw new Error(`${source}:${i + 1}: empty token`);
      if (Object.hasOwn(UNESCAPES, t)) {
        throw new Error(`${source}:${i + 1}: ${t} is reserved (it is how vocab.txt writes ${JSON.stringify(UNESCAPES[t])})`);
      }
      const first = this.#ids.get(t);
      if (first !== undefined) throw new Error(`${source}:${i + 1}: duplicate token ${JSON.stringify(t)} (first on line ${first + 1})`);
      this.#ids.set(t, i);
    });
    for (const required of ["[UNK]", "[SEP]"]) {
      if (!this.#ids.has(required)) throw new Error(`${source}: the vocabulary has no ${required} token`);
    }
    this.#unkId = this.#ids.get("[UNK]")!;
    this.eosId = this.#ids.get("[SEP]")!;
    this.#specials = tokens.filter((t) => SPECIAL_TOKEN_PATTERN.test(t)).sort((a, b) => b.length - a.length);
    this.specialTokens = Object.freeze(Object.fromEntries(this.#specials.map((t) => [t, this.#ids.get(t)!])));
    this.vocabSize = tokens.length;
  }

  /**
   * Reads vocab.txt content; a final line break is optional.
   *
   * @example
   * ```ts
   * import { CharVocabTokenizer } from "rlhf";
   * const tok = CharVocabTokenizer.fromVocabText("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n床\n前\n", "vocab.txt");
   * tok.vocabSize; // 7
   * ```
   */
  static fromVocabText(text: string, source = "vocab.txt"): CharVocabTokenizer {
    const lines = text.split(/\r\n|\r|\n/);
    if (lines.at(-1) === "") lines.pop();
    return new CharVocabTokenizer(lines.map((l) => Object.hasOwn(UNESCAPES, l) ? UNESCAPES[l] : l), source);
  }

  /** The id of a token string, or undefined. */
  idOf(token: string): number | undefined {
    return this.#ids.get(token);
  }

  /**
   * Text → ids: special tokens whole, then one id per code point.
   *
   * @example
   * ```ts
   * import { buildCharVocab, CHAT_SPECIAL_TOKENS } from "rlhf";
   * const tok = buildCharVocab(["床前"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
   * tok.encode("<|user|>床前"); // [6, 10, 9]: the id of <|user|>, of 床, of 前
   * ```
   */
  encode(text: string): number[] {
    const ids: number[] = [];
    let i = 0;
    outer: while (i < text.length) {
      if (text[i] === "[" || text[i] === "<") {
        for (const special of this.#specials) {
          if (text.startsWith(special, i)) {
            ids.push(this.#ids.get(special)!);
            i += special.length;
            continue outer;
          }
        }
      }
      const char = String.fromCodePoint(text.codePointAt(i)!);
      ids.push(this.#ids.get(char) ?? this.#ids.get(char.toLowerCase()) ?? this.#unkId);
      i += char.length;
    }
    return ids;
  }

  /** Ids → text, tokens joined without spaces (a BERT `##x` piece contributes `x`). */
  decode(ids: readonly number[]): string {
    return ids.map((id) => {
      const token = this.tokens[id];
      if (token === undefined) throw new Error(`CharVocabTokenizer.decode: id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
      return token.startsWith("##") ? token.slice(2) : token;
    }).join("");
  }

  /** vocab.txt content for this vocabulary (see `vocabText`). */
  vocabText(): string {
    return this.tokens.map((t) => ESCAPES[t] ?? t).join("\n") + "\n";
  }
}

/**
 * vocab.txt content: one token a line, "\n" written as `[NEWLINE]` and "\r" as `[CR]`.
 *
 * @example
 * ```ts
 * import { buildCharVocab, vocabText } from "rlhf";
 * vocabText(buildCharVocab(["床前明月光"])); // "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n光\n前\n床\n明\n月\n"
 * ```
 */
export function vocabText(tokenizer: CharVocabTokenizer): string {
  return tokenizer.vocabText();
}

/** Options of `buildCharVocab`. */
export interface BuildCharVocabOptions {
  /**
   * Special tokens placed right after the five BERT ones, e.g. the chat
   * markers (`CHAT_SPECIAL_TOKENS`). Each must look like `[XXX]` or `<|xxx|>`
   * (otherwise `encode` would never match it whole).
   * @default []
   */
  extraSpecialTokens?: readonly string[];
  /**
   * Characters seen fewer times than this in `texts` are left out (they
   * encode as `[UNK]`): a smaller vocabulary makes the embedding and the LM
   * head cheaper. @default 1 (every character)
   */
  minCount?: number;
  /** Texts whose every character is kept whatever its count (e.g. the instruction templates). @default [] */
  requiredTexts?: Iterable<string>;
}

/**
 * Builds a vocabulary from a corpus: the BERT specials, then
 * `extraSpecialTokens`, then every distinct code point of the corpus ("\n"
 * and " " included), most frequent first, ties by code point, so the same
 * corpus always gives the same ids.
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS } from "rlhf";
 * const tok = buildCharVocab(["床前明月光", "疑是地上霜"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * tok.vocabSize; // 19: 5 BERT specials, 4 chat markers, 10 characters
 * tok.encode("<|user|>明月"); // [6, 14, 16]: the marker is one id
 * ```
 */
export function buildCharVocab(texts: Iterable<string>, options: BuildCharVocabOptions = {}): CharVocabTokenizer {
  const extra = options.extraSpecialTokens ?? [];
  for (const t of extra) {
    if (!SPECIAL_TOKEN_PATTERN.test(t)) {
      throw new Error(`buildCharVocab: extra special token ${JSON.stringify(t)} must look like [XXX] or <|xxx|>`);
    }
    if ((BERT_SPECIAL_TOKENS as readonly string[]).includes(t)) {
      throw new Error(`buildCharVocab: ${t} is already one of the BERT special tokens`);
    }
  }
  const counts = new Map<string, number>();
  for (const text of texts) for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  const minCount = options.minCount ?? 1;
  if (!Number.isInteger(minCount) || minCount < 1) throw new Error(`buildCharVocab: minCount must be an integer ≥ 1, got ${minCount}`);
  const required = new Set<string>();
  for (const text of options.requiredTexts ?? []) for (const char of text) required.add(char);
  for (const char of required) if (!counts.has(char)) counts.set(char, 0);
  const chars = [...counts.entries()]
    .filter(([c, n]) => n >= minCount || required.has(c))
    .sort((a, b) => b[1] - a[1] || a[0].codePointAt(0)! - b[0].codePointAt(0)!)
    .map(([c]) => c);
  return new CharVocabTokenizer([...BERT_SPECIAL_TOKENS, ...extra, ...chars], "buildCharVocab");
}

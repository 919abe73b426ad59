/**
 * A character vocabulary in `vocab.txt` form: one token a line, the line
 * number is the id. This is what BERT-Chinese and the book's model,
 * `uer/gpt2-chinese-cluecorpussmall`, ship (`[PAD]`, `[UNK]`, `[CLS]`,
 * `[SEP]`, `[MASK]`, …, one line per character).
 *
 * Encoding: special tokens (`[XXX]`, `<|xxx|>`) are matched whole; every other
 * Unicode code point is one token (an emoji is one code point, not two UTF-16
 * units); an unknown character becomes `[UNK]` (after trying its lower case).
 * On Chinese text this is BertTokenizer's split (one token per CJK
 * character); BERT's WordPiece on Latin words is not reproduced.
 */
import type { Tokenizer } from "./types.ts";

export const BERT_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;
const SPECIAL = /^(\[[A-Za-z0-9_]+\]|<\|[a-z_]+\|>)$/;

export class CharVocabTokenizer implements Tokenizer {
  readonly kind = "char-vocab" as const;
  readonly vocabSize: number;
  readonly specialTokens: Readonly<Record<string, number>>;
  /** `[SEP]` ends a text, as in uer's GPT-2 Chinese. */
  readonly eosId: number;
  readonly tokens: readonly string[];
  readonly #ids: Map<string, number>;
  readonly #unkId: number;
  /** Special tokens, longest first, so `<|assistant|>` wins over a shorter prefix. */
  readonly #specials: string[];

  constructor(tokens: readonly string[], source = "vocabulary") {
    this.tokens = [...tokens];
    this.#ids = new Map();
    tokens.forEach((t, i) => {
      if (t.length === 0) throw new Error(`${source}:${i + 1}: empty token`);
      if (this.#ids.has(t)) throw new Error(`${source}:${i + 1}: duplicate token ${JSON.stringify(t)} (first on line ${this.#ids.get(t)! + 1})`);
      this.#ids.set(t, i);
    });
    for (const required of ["[UNK]", "[SEP]"]) {
      if (!this.#ids.has(required)) throw new Error(`${source}: the vocabulary has no ${required} token`);
    }
    this.#unkId = this.#ids.get("[UNK]")!;
    this.eosId = this.#ids.get("[SEP]")!;
    this.#specials = tokens.filter((t) => SPECIAL.test(t)).sort((a, b) => b.length - a.length);
    this.specialTokens = Object.freeze(Object.fromEntries(this.#specials.map((t) => [t, this.#ids.get(t)!])));
    this.vocabSize = tokens.length;
  }

  /** Reads vocab.txt content. Lines keep their spaces (" " is a token); a trailing newline is fine. */
  static fromVocabText(text: string, source = "vocab.txt"): CharVocabTokenizer {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    // "\n" cannot be written as a line of its own; it is stored escaped.
    return new CharVocabTokenizer(lines.map((l) => (l === NEWLINE_TOKEN ? "\n" : l.replace(/\r$/, ""))), source);
  }

  /** The id of a token string, or undefined. */
  idOf(token: string): number | undefined {
    return this.#ids.get(token);
  }

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

  decode(ids: readonly number[]): string {
    return ids.map((id) => {
      const token = this.tokens[id];
      if (token === undefined) throw new Error(`CharVocabTokenizer.decode: id ${id} is outside the vocabulary (${this.vocabSize})`);
      return token.startsWith("##") ? token.slice(2) : token;
    }).join("");
  }

  /** vocab.txt content for this vocabulary. */
  vocabText(): string {
    return this.tokens.map((t) => (t === "\n" ? NEWLINE_TOKEN : t)).join("\n") + "\n";
  }
}

/** How "\n" is written in vocab.txt (a line cannot hold a newline). */
const NEWLINE_TOKEN = "[NEWLINE]";

/**
 * Builds a vocabulary from a corpus: the BERT specials, then `extraSpecialTokens`
 * (e.g. the chat markers), then every distinct code point of the corpus,
 * most frequent first (ties by code point), so the result is deterministic.
 */
export function buildCharVocab(texts: Iterable<string>, options: { extraSpecialTokens?: readonly string[] } = {}): CharVocabTokenizer {
  const counts = new Map<string, number>();
  for (const text of texts) for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  const chars = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].codePointAt(0)! - b[0].codePointAt(0)!)
    .map(([c]) => c);
  const specials = [...BERT_SPECIAL_TOKENS, ...(options.extraSpecialTokens ?? [])];
  return new CharVocabTokenizer([...specials, ...chars.filter((c) => !specials.includes(c))]);
}

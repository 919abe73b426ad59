/**
 * The one tokenizer interface that GPT-2 BPE and character vocabularies share.
 */
export interface Tokenizer {
  /** "gpt2-bpe" or "char-vocab": how `saveTokenizer` writes it and `loadTokenizer` reads it back. */
  readonly kind: "gpt2-bpe" | "char-vocab";
  /** Number of ids the model's embedding table must hold. */
  readonly vocabSize: number;
  /** Special tokens (text → id) that `encode` recognises whole in its input, e.g. `<|endoftext|>`. */
  readonly specialTokens: Readonly<Record<string, number>>;
  /** Id that ends a document or a turn (GPT-2: `<|endoftext|>` = 50256). */
  readonly eosId: number;
  /** Text → ids. Special-token strings in the text become their ids. */
  encode(text: string): number[];
  /** Ids → text. Special tokens decode to their strings. */
  decode(ids: readonly number[]): string;
}

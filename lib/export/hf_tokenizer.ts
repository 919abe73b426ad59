/**
 * The tokenizer and chat template as Hugging Face `AutoTokenizer` loads them,
 * so that TRL, OpenRLHF and verl encode, decode and apply the chat template
 * exactly as this project does:
 *
 * - `tokenizer.json` (a `tokenizers` fast tokenizer): a WordPiece model over the
 *   character vocabulary, every code point split off on its own
 *   (`Split` on `[\s\S]`, isolated), the special tokens (`[PAD]`, `<|user|>`, …)
 *   as added tokens matched whole, and a `Fuse` decoder so that decoding joins
 *   tokens without spaces. BertTokenizer, which `vocab.txt` alone would give,
 *   drops spaces and newlines when encoding and puts a space between Chinese
 *   characters when decoding: a policy trained through it would see other ids.
 *   Our encoder tries a character's lower case before `[UNK]`; `Replace`
 *   normalisers do the same for exactly those characters.
 * - `tokenizer_config.json`: `PreTrainedTokenizerFast`, the special tokens
 *   (eos = the end-of-turn marker, so generation and TRL's reward trainer stop
 *   where ours do; pad = `[PAD]`, which a conversation never contains, so
 *   `GPT2ForSequenceClassification` finds the last real token), and
 *   `chat_template`, a Jinja template that renders what `renderChat` renders.
 * - `vocab.txt`: the vocabulary as this project (and BertTokenizer) reads it.
 *
 * Formats: tokenizers' JSON serialisation (https://huggingface.co/docs/tokenizers/api/pre-tokenizers,
 * `Split`, `decoders.Fuse`, `models.WordPiece`); transformers renders `chat_template` with Jinja2 in a
 * sandboxed environment with `trim_blocks` and `lstrip_blocks` (`_compile_jinja_template`, in
 * src/transformers/utils/chat_template_utils.py, earlier in tokenization_utils_base.py), which the template below
 * does not depend on: it has no text outside its tags.
 */
import { CharVocabTokenizer, SPECIAL_TOKEN_PATTERN } from "../tokenizer/char_vocab.ts";
import { type ChatTemplate, chatTemplateFor, endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";

/** A Jinja string literal: JSON's escapes are the ones Jinja2 and transformers' jinja read. */
function literal(text: string): string {
  return JSON.stringify(text);
}

/**
 * A Jinja chat template that renders a conversation as `renderChat` does with `template` (with
 * `add_generation_prompt` as `addGenerationPrompt`); an unknown role raises, as `renderChat` cannot render it.
 *
 * @example
 * ```ts
 * import { jinjaChatTemplate } from "./hf_tokenizer.ts";
 * import { CHAR_CHAT_TEMPLATE } from "../tokenizer/chat_template.ts";
 * jinjaChatTemplate(CHAR_CHAT_TEMPLATE).includes("<|assistant|>"); // true: what tokenizer_config.json's chat_template holds
 * ```
 */
export function jinjaChatTemplate(template: ChatTemplate): string {
  const { rolePrefix: r, contentPrefix, endOfTurn, separator } = template;
  return [
    "{%- for message in messages -%}",
    separator ? `{%- if not loop.first -%}{{ ${literal(separator)} }}{%- endif -%}` : "",
    `{%- if message['role'] == 'system' -%}{{ ${literal(r.system)} }}`,
    `{%- elif message['role'] == 'user' -%}{{ ${literal(r.user)} }}`,
    `{%- elif message['role'] == 'assistant' -%}{{ ${literal(r.assistant)} }}`,
    "{%- else -%}{{ raise_exception('unknown role: ' + message['role']) }}{%- endif -%}",
    `{{ ${literal(contentPrefix)} + message['content'] + ${literal(endOfTurn)} }}`,
    "{%- endfor -%}",
    "{%- if add_generation_prompt -%}",
    separator ? `{%- if messages | length > 0 -%}{{ ${literal(separator)} }}{%- endif -%}` : "",
    `{{ ${literal(r.assistant)} }}`,
    "{%- endif -%}",
  ].join("");
}

/** The characters our encoder maps to their lower case (absent from the vocabulary, their lower case present). */
function lowerCaseFallbacks(tokenizer: CharVocabTokenizer): [string, string][] {
  const pairs: [string, string][] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates are no characters
    const char = String.fromCodePoint(cp);
    const lower = char.toLowerCase();
    if (lower !== char && tokenizer.idOf(char) === undefined && tokenizer.idOf(lower) !== undefined) pairs.push([char, lower]);
  }
  return pairs;
}

/** tokenizer.json for a character vocabulary (see the module doc). */
function tokenizerJson(tokenizer: CharVocabTokenizer): Record<string, unknown> {
  const specials = tokenizer.tokens.map((t, id) => ({ t, id })).filter(({ t }) => SPECIAL_TOKEN_PATTERN.test(t));
  const fallbacks = lowerCaseFallbacks(tokenizer);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map(({ t, id }) => ({
      id,
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: fallbacks.length
      ? { type: "Sequence", normalizers: fallbacks.map(([from, to]) => ({ type: "Replace", pattern: { String: from }, content: to })) }
      : null,
    // One piece per code point, as CharVocabTokenizer.encode splits ("[\s\S]": "." would not match a newline).
    pre_tokenizer: { type: "Split", pattern: { Regex: "[\\s\\S]" }, behavior: "Isolated", invert: false },
    post_processor: null, // no BOS/EOS added: our encodeChat adds none either
    decoder: { type: "Fuse" },
    // WordPiece over one-character pieces is a plain lookup (the piece, or [UNK]); BERT-Chinese uses the same model.
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(tokenizer.tokens.map((t, id) => [t, id])),
    },
  };
}

/**
 * The Hugging Face tokenizer files of a character vocabulary: `tokenizer.json`, `tokenizer_config.json` (with the
 * chat template and special tokens), `special_tokens_map.json` and `vocab.txt`. GPT-2's BPE is refused: its
 * files come with a real GPT-2 checkpoint.
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, hfTokenizerFiles } from "rlhf";
 * const files = hfTokenizerFiles(buildCharVocab(["床前明月光"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS }));
 * JSON.parse(files["tokenizer_config.json"]).eos_token; // "<|end|>": generation stops at the end of a turn
 * ```
 */
export function hfTokenizerFiles(tokenizer: Tokenizer): Record<string, string> {
  if (!(tokenizer instanceof CharVocabTokenizer)) {
    throw new Error(`hfTokenizerFiles: only character vocabularies are exported (this one is ${tokenizer.kind})`);
  }
  const template = chatTemplateFor(tokenizer);
  const eos = template.endOfTurn;
  endOfTurnId(tokenizer, template); // throws, naming the marker, when the vocabulary lacks it
  if (tokenizer.idOf("[PAD]") === undefined) throw new Error("hfTokenizerFiles: the vocabulary has no [PAD] token");
  // No bos_token: a trainer that knows one prepends it to every prompt, and our model was never shown one.
  const specialTokens = { unk_token: "[UNK]", pad_token: "[PAD]", eos_token: eos };
  const additional = Object.keys(tokenizer.specialTokens).filter((t) => !Object.values(specialTokens).includes(t)).sort();
  const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
  return {
    "tokenizer.json": json(tokenizerJson(tokenizer)),
    "tokenizer_config.json": json({
      tokenizer_class: "PreTrainedTokenizerFast",
      ...specialTokens,
      additional_special_tokens: additional,
      clean_up_tokenization_spaces: false, // no space clean-up: decode must give back the text as it was
      model_max_length: 1_000_000,
      chat_template: jinjaChatTemplate(template),
    }),
    "special_tokens_map.json": json({ ...specialTokens, additional_special_tokens: additional }),
    "vocab.txt": tokenizer.vocabText(),
  };
}

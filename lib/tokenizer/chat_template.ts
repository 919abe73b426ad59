/**
 * The chat template shared by SFT, sampling, PPO and chat: explicit roles and
 * an end-of-turn marker. A conversation is a list of segments,
 *
 *   rolePrefix[role] · contentPrefix + content · endOfTurn   (one per message)
 *
 * joined by `separator`, and, for generation, `separator · rolePrefix.assistant`.
 *
 * Character vocabularies get special tokens for the markers:
 *
 *   <|user|>写一首五言绝句<|end|><|assistant|>床前明月光，…<|end|>
 *
 * GPT-2's BPE has a fixed vocabulary (new ids would not exist in real GPT-2
 * weights), so there the roles are plain text lines and `<|endoftext|>` ends a
 * turn:
 *
 *   User: 写一首五言绝句<|endoftext|>
 *   Assistant: 床前明月光，…<|endoftext|>
 *
 * The space after "Assistant:" belongs to the content segment
 * (`contentPrefix`), not to the role prefix: GPT-2's pre-tokenizer attaches a
 * word's leading space to the word (" world" is one token, "Ġworld"), so this
 * is where it cuts the rendered text itself. Encoding segment by segment (what
 * `encodeChat` does, so that the loss mask has exact boundaries) therefore
 * gives the same ids as encoding the whole rendered string, for both kinds of
 * tokenizer; the prompt for generation ends with "Assistant:" and the reply
 * starts with " ", as in the Anthropic HH / TRL convention.
 */
import type { Tokenizer } from "./types.ts";

export type Role = "system" | "user" | "assistant";

export interface ChatMessage {
  readonly role: Role;
  readonly content: string;
}

export interface ChatTemplate {
  /** Text placed before each message of a role (never trained). */
  readonly rolePrefix: Readonly<Record<Role, string>>;
  /** Text placed before every message's content and encoded with it (trained for the assistant). */
  readonly contentPrefix: string;
  /** Text that ends every message; its token is the stop token of generation (trained for the assistant). */
  readonly endOfTurn: string;
  /** Text between two messages, and before the generation prompt (never trained). */
  readonly separator: string;
}

/**
 * Special tokens a character vocabulary needs for the chat template (pass them to `buildCharVocab`).
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, chatTemplateFor } from "rlhf";
 * const tok = buildCharVocab(["床前明月光"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * chatTemplateFor(tok).endOfTurn; // "<|end|>"
 * ```
 */
export const CHAT_SPECIAL_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"] as const;

/**
 * The template of a character vocabulary built with `CHAT_SPECIAL_TOKENS`: a marker token per role, `<|end|>` ends a turn.
 *
 * @example
 * ```ts
 * import { CHAR_CHAT_TEMPLATE, renderChat } from "rlhf";
 * renderChat([{ role: "user", content: "写一首诗" }], CHAR_CHAT_TEMPLATE, { addGenerationPrompt: true });
 * // "<|user|>写一首诗<|end|><|assistant|>"
 * ```
 */
export const CHAR_CHAT_TEMPLATE: ChatTemplate = Object.freeze({
  rolePrefix: Object.freeze({ system: "<|system|>", user: "<|user|>", assistant: "<|assistant|>" }),
  contentPrefix: "",
  endOfTurn: "<|end|>",
  separator: "",
});

/**
 * The template of GPT-2's BPE: roles as plain text lines, `<|endoftext|>` ends a turn (GPT-2 has no ids to spare).
 *
 * @example
 * ```ts
 * import { GPT2_CHAT_TEMPLATE, renderChat } from "rlhf";
 * renderChat([{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello" }], GPT2_CHAT_TEMPLATE);
 * // "User: Hi<|endoftext|>\nAssistant: Hello<|endoftext|>"
 * ```
 */
export const GPT2_CHAT_TEMPLATE: ChatTemplate = Object.freeze({
  rolePrefix: Object.freeze({ system: "System:", user: "User:", assistant: "Assistant:" }),
  contentPrefix: " ",
  endOfTurn: "<|endoftext|>",
  separator: "\n",
});

/**
 * For a BERT-Chinese vocab.txt as `uer/gpt2-chinese-cluecorpussmall` ships it:
 * it has no chat markers, but reserves [unused1]…[unused99] for exactly this
 * kind of use, so the roles and the end of a turn take four of them.
 *
 * @example
 * ```ts
 * import { renderChat, UNUSED_CHAT_TEMPLATE } from "rlhf";
 * renderChat([{ role: "user", content: "写诗" }], UNUSED_CHAT_TEMPLATE, { addGenerationPrompt: true }); // "[unused2]写诗[unused4][unused3]"
 * ```
 */
export const UNUSED_CHAT_TEMPLATE: ChatTemplate = Object.freeze({
  rolePrefix: Object.freeze({ system: "[unused1]", user: "[unused2]", assistant: "[unused3]" }),
  contentPrefix: "",
  endOfTurn: "[unused4]",
  separator: "",
});

/**
 * The template that fits a tokenizer: GPT-2 BPE → plain-text roles; a char
 * vocab with CHAT_SPECIAL_TOKENS → those; a BERT-style vocab → [unused1..4].
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, GPT2_CHAT_TEMPLATE, chatTemplateFor, Gpt2BpeTokenizer } from "rlhf";
 * chatTemplateFor(new Gpt2BpeTokenizer()) === GPT2_CHAT_TEMPLATE; // true
 * chatTemplateFor(buildCharVocab(["诗"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS })).rolePrefix.user; // "<|user|>"
 * ```
 */
export function chatTemplateFor(tokenizer: Tokenizer): ChatTemplate {
  if (tokenizer.kind === "gpt2-bpe") return GPT2_CHAT_TEMPLATE;
  const has = (tokens: readonly string[]) => tokens.every((t) => t in tokenizer.specialTokens);
  if (has(CHAT_SPECIAL_TOKENS)) return CHAR_CHAT_TEMPLATE;
  if (has(["[unused1]", "[unused2]", "[unused3]", "[unused4]"])) return UNUSED_CHAT_TEMPLATE;
  throw new Error(
    `chat template: the vocabulary has neither the special tokens ${CHAT_SPECIAL_TOKENS.join(" ")} ` +
      `(build it with extraSpecialTokens: CHAT_SPECIAL_TOKENS) nor [unused1]…[unused4] to use instead`,
  );
}

/**
 * The id that ends a turn (the stop id of generation).
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, endOfTurnId } from "rlhf";
 * const tok = buildCharVocab(["床前明月光"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * endOfTurnId(tok); // 8, the id of <|end|>: generation stops there
 * ```
 */
export function endOfTurnId(tokenizer: Tokenizer, template: ChatTemplate = chatTemplateFor(tokenizer)): number {
  const id = tokenizer.specialTokens[template.endOfTurn];
  if (id === undefined) throw new Error(`chat template: end-of-turn marker ${template.endOfTurn} is not a special token of the tokenizer`);
  return id;
}

/** One piece of a rendered conversation; `trained` pieces are what the assistant produces. */
interface Segment {
  readonly text: string;
  readonly trained: boolean;
}

function segments(messages: readonly ChatMessage[], template: ChatTemplate, addGenerationPrompt: boolean): Segment[] {
  const out: Segment[] = [];
  messages.forEach((m, i) => {
    const trained = m.role === "assistant";
    if (i > 0) out.push({ text: template.separator, trained: false });
    out.push({ text: template.rolePrefix[m.role], trained: false });
    out.push({ text: template.contentPrefix + m.content, trained });
    out.push({ text: template.endOfTurn, trained });
  });
  if (addGenerationPrompt) {
    if (messages.length > 0) out.push({ text: template.separator, trained: false });
    out.push({ text: template.rolePrefix.assistant, trained: false });
  }
  return out.filter((s) => s.text !== "");
}

/** Options of `renderChat`. */
export interface RenderChatOptions {
  /** End with the assistant's role prefix, ready for generation. @default false */
  addGenerationPrompt?: boolean;
}

/**
 * The conversation as text.
 *
 * @example
 * ```ts
 * import { GPT2_CHAT_TEMPLATE, renderChat } from "rlhf";
 * renderChat([{ role: "user", content: "Hi" }], GPT2_CHAT_TEMPLATE, { addGenerationPrompt: true }); // "User: Hi<|endoftext|>\nAssistant:"
 * ```
 */
export function renderChat(messages: readonly ChatMessage[], template: ChatTemplate, options: RenderChatOptions = {}): string {
  return segments(messages, template, options.addGenerationPrompt ?? false).map((s) => s.text).join("");
}

/**
 * Token ids of a conversation and the SFT loss mask: 1 exactly on the tokens
 * the assistant produces (the content of every assistant message, with its
 * content prefix, and its end-of-turn token), 0 on role prefixes, separators,
 * user and system text. Segments are encoded one by one, so a token never
 * straddles a mask boundary; the ids equal `tokenizer.encode(renderChat(...))`.
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, encodeChat } from "rlhf";
 * const tok = buildCharVocab(["写诗明月"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * const { ids, lossMask } = encodeChat([{ role: "user", content: "写诗" }, { role: "assistant", content: "明月" }], tok);
 * lossMask; // [0, 0, 0, 0, 0, 1, 1, 1]: <|user|> 写 诗 <|end|> <|assistant|> untrained, 明 月 <|end|> trained
 * ```
 */
export function encodeChat(
  messages: readonly ChatMessage[],
  tokenizer: Tokenizer,
  template: ChatTemplate = chatTemplateFor(tokenizer),
): { ids: number[]; lossMask: number[] } {
  return encodeSegments(segments(messages, template, false), tokenizer);
}

/**
 * Ids of a conversation ending with the assistant's role prefix, ready for
 * generation; the same ids `encodeChat` gives for that part of a conversation.
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, encodePrompt } from "rlhf";
 * const tok = buildCharVocab(["写诗明月"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * const prompt = encodePrompt([{ role: "user", content: "写诗" }], tok);
 * tok.decode(prompt); // "<|user|>写诗<|end|><|assistant|>": the model writes the reply next
 * ```
 */
export function encodePrompt(
  messages: readonly ChatMessage[],
  tokenizer: Tokenizer,
  template: ChatTemplate = chatTemplateFor(tokenizer),
): number[] {
  return encodeSegments(segments(messages, template, true), tokenizer).ids;
}

function encodeSegments(pieces: readonly Segment[], tokenizer: Tokenizer): { ids: number[]; lossMask: number[] } {
  const ids: number[] = [];
  const lossMask: number[] = [];
  for (const piece of pieces) {
    for (const id of tokenizer.encode(piece.text)) {
      ids.push(id);
      lossMask.push(piece.trained ? 1 : 0);
    }
  }
  return { ids, lossMask };
}

/**
 * The assistant's reply from what was generated after `encodePrompt` (ids, or
 * their text): everything before the first end-of-turn marker, without the
 * template's content prefix. `ended` says whether the marker was there.
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, endOfTurnId, parseAssistantReply } from "rlhf";
 * const tok = buildCharVocab(["床前明月光"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * parseAssistantReply([...tok.encode("床前"), endOfTurnId(tok), ...tok.encode("光")], tok); // { text: "床前", ended: true }
 * parseAssistantReply("床前明", tok); // { text: "床前明", ended: false }: cut off before <|end|>
 * ```
 */
export function parseAssistantReply(
  reply: readonly number[] | string,
  tokenizer: Tokenizer,
  template: ChatTemplate = chatTemplateFor(tokenizer),
): { text: string; ended: boolean } {
  let text: string;
  let ended: boolean;
  if (typeof reply === "string") {
    const end = reply.indexOf(template.endOfTurn);
    ended = end >= 0;
    text = ended ? reply.slice(0, end) : reply;
  } else {
    const end = reply.indexOf(endOfTurnId(tokenizer, template));
    ended = end >= 0;
    text = tokenizer.decode(ended ? reply.slice(0, end) : reply);
  }
  if (template.contentPrefix && text.startsWith(template.contentPrefix)) text = text.slice(template.contentPrefix.length);
  return { text, ended };
}

/**
 * `parseAssistantReply` for generated ids (the name the sampling code uses).
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, decodeReply, endOfTurnId } from "rlhf";
 * const tok = buildCharVocab(["床前明月光"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * const { text, ended } = decodeReply([...tok.encode("明月"), endOfTurnId(tok)], tok); // "明月", true
 * ```
 */
export function decodeReply(
  ids: readonly number[],
  tokenizer: Tokenizer,
  template: ChatTemplate = chatTemplateFor(tokenizer),
): { text: string; ended: boolean } {
  return parseAssistantReply(ids, tokenizer, template);
}

/**
 * The chat template shared by SFT, sampling, PPO and chat: explicit roles and
 * an end-of-turn marker.
 *
 * Character vocabularies get special tokens for the markers:
 *
 *   <|user|>写一首五言绝句<|end|><|assistant|>床前明月光，…<|end|>
 *
 * GPT-2's BPE has a fixed vocabulary (new ids would not exist in real GPT-2
 * weights), so there the roles are plain text and `<|endoftext|>` ends a turn:
 *
 *   User: 写一首五言绝句<|endoftext|>\nAssistant: 床前明月光，…<|endoftext|>
 */
import type { Tokenizer } from "./types.ts";

export type Role = "system" | "user" | "assistant";

export interface ChatMessage {
  readonly role: Role;
  readonly content: string;
}

export interface ChatTemplate {
  /** Text placed before each message of a role. */
  readonly rolePrefix: Readonly<Record<Role, string>>;
  /** Text that ends every message; its token is the stop token of generation. */
  readonly endOfTurn: string;
  /** Text placed after the end-of-turn marker (e.g. a newline). */
  readonly separator: string;
}

/** Special tokens a character vocabulary needs for the chat template. */
export const CHAT_SPECIAL_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"] as const;

export const CHAR_CHAT_TEMPLATE: ChatTemplate = Object.freeze({
  rolePrefix: Object.freeze({ system: "<|system|>", user: "<|user|>", assistant: "<|assistant|>" }),
  endOfTurn: "<|end|>",
  separator: "",
});

export const GPT2_CHAT_TEMPLATE: ChatTemplate = Object.freeze({
  rolePrefix: Object.freeze({ system: "System: ", user: "User: ", assistant: "Assistant: " }),
  endOfTurn: "<|endoftext|>",
  separator: "\n",
});

/**
 * For a BERT-Chinese vocab.txt as `uer/gpt2-chinese-cluecorpussmall` ships it:
 * it has no chat markers, but reserves [unused1]…[unused99] for exactly this
 * kind of use, so the roles and the end of a turn take four of them.
 */
export const UNUSED_CHAT_TEMPLATE: ChatTemplate = Object.freeze({
  rolePrefix: Object.freeze({ system: "[unused1]", user: "[unused2]", assistant: "[unused3]" }),
  endOfTurn: "[unused4]",
  separator: "",
});

/**
 * The template that fits a tokenizer: GPT-2 BPE → plain-text roles; a char
 * vocab with CHAT_SPECIAL_TOKENS → those; a BERT-style vocab → [unused1..4].
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

/** The id that ends a turn (the stop id of generation). */
export function endOfTurnId(tokenizer: Tokenizer, template = chatTemplateFor(tokenizer)): number {
  const id = tokenizer.specialTokens[template.endOfTurn];
  if (id === undefined) throw new Error(`chat template: end-of-turn marker ${template.endOfTurn} is not a special token of the tokenizer`);
  return id;
}

/** The conversation as text; with `addGenerationPrompt` it ends with the assistant's prefix. */
export function renderChat(messages: readonly ChatMessage[], template: ChatTemplate, options: { addGenerationPrompt?: boolean } = {}): string {
  let text = messages.map((m) => template.rolePrefix[m.role] + m.content + template.endOfTurn + template.separator).join("");
  if (options.addGenerationPrompt) text += template.rolePrefix.assistant;
  return text;
}

/**
 * Token ids of a conversation and the SFT loss mask: 1 exactly on the tokens
 * the assistant produces (its content and its end-of-turn token), 0 on role
 * prefixes, user and system text. Pieces are encoded one by one, so the mask
 * boundaries are exact (a BPE merge never straddles a role boundary).
 */
export function encodeChat(
  messages: readonly ChatMessage[],
  tokenizer: Tokenizer,
  template = chatTemplateFor(tokenizer),
): { ids: number[]; lossMask: number[] } {
  const ids: number[] = [];
  const lossMask: number[] = [];
  const push = (text: string, trained: boolean) => {
    if (!text) return;
    const piece = tokenizer.encode(text);
    ids.push(...piece);
    lossMask.push(...piece.map(() => (trained ? 1 : 0)));
  };
  for (const m of messages) {
    const trained = m.role === "assistant";
    push(template.rolePrefix[m.role], false);
    push(m.content, trained);
    push(template.endOfTurn, trained);
    push(template.separator, false);
  }
  return { ids, lossMask };
}

/** Ids of a conversation ending with the assistant's prefix, ready for generation. */
export function encodePrompt(messages: readonly ChatMessage[], tokenizer: Tokenizer, template = chatTemplateFor(tokenizer)): number[] {
  const { ids } = encodeChat(messages, tokenizer, template);
  return [...ids, ...tokenizer.encode(template.rolePrefix.assistant)];
}

/** The assistant's reply text from generated ids: everything before the first end-of-turn token. */
export function decodeReply(ids: readonly number[], tokenizer: Tokenizer, template = chatTemplateFor(tokenizer)): { text: string; ended: boolean } {
  const stop = endOfTurnId(tokenizer, template);
  const end = ids.indexOf(stop);
  return { text: tokenizer.decode(end >= 0 ? ids.slice(0, end) : ids), ended: end >= 0 };
}

/**
 * Talking to a checkpoint in the chat template, turn by turn. The whole
 * conversation is the prompt; when it no longer fits the context with room
 * for an answer, the oldest turns are dropped (the system message stays).
 */
import { generate } from "../generate/generate.ts";
import type { SamplingOptions } from "../generate/sampling.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { type ChatMessage, decodeReply, encodePrompt, endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { Rng } from "../rng.ts";

/**
 * A conversation with a model in the chat template: `reply()` adds the user's message and samples the assistant's.
 *
 * @example
 * ```ts
 * import { ChatSession, loadPretrained } from "rlhf";
 * const model = await loadPretrained("checkpoints/sft"); // written by deno task rlhf
 * const chat = new ChatSession(model, model.tokenizer!, { topP: 0.9, maxNewTokens: 64, seed: 0 });
 * const { text, ended } = await chat.reply("写一首五言绝句，题目是《春晓》。");
 * chat.messages.length; // 2: the request and the reply; the next reply() sees both
 * ```
 */
export class ChatSession {
  readonly messages: ChatMessage[] = [];
  readonly #rng: Rng;

  constructor(
    readonly model: GPT2Model,
    readonly tokenizer: Tokenizer,
    readonly options: SamplingOptions & { maxNewTokens?: number; seed?: number; system?: string } = {},
  ) {
    this.#rng = new Rng(options.seed ?? 0);
    if (options.system) this.messages.push({ role: "system", content: options.system });
  }

  /** Adds the user's message, samples the assistant's reply, adds it, and returns it. */
  async reply(userText: string): Promise<{ text: string; ended: boolean }> {
    this.messages.push({ role: "user", content: userText });
    const maxNew = this.options.maxNewTokens ?? 96;
    let ids = encodePrompt(this.messages, this.tokenizer);
    while (ids.length + maxNew > this.model.config.n_positions && this.#dropOldestTurn()) {
      ids = encodePrompt(this.messages, this.tokenizer);
    }
    if (ids.length >= this.model.config.n_positions) {
      this.messages.pop();
      throw new Error(`chat: the message is too long for the model's context (${ids.length} ≥ ${this.model.config.n_positions} tokens)`);
    }
    const out = await generate(this.model, [ids], {
      ...this.options,
      maxNewTokens: Math.min(maxNew, this.model.config.n_positions - ids.length),
      stopIds: [endOfTurnId(this.tokenizer)],
      padId: this.tokenizer.eosId,
      rng: this.#rng,
    });
    const reply = decodeReply(out.tokens[0], this.tokenizer);
    this.messages.push({ role: "assistant", content: reply.text });
    return reply;
  }

  /** Drops the oldest user/assistant exchange; false when only the current turn is left. */
  #dropOldestTurn(): boolean {
    const first = this.messages.findIndex((m) => m.role !== "system");
    if (first < 0 || first >= this.messages.length - 1) return false;
    const end = this.messages[first + 1]?.role === "assistant" ? first + 2 : first + 1;
    this.messages.splice(first, end - first);
    return true;
  }
}

/**
 * Rank lists as preference pairs: every untied pair (better, worse) of each
 * list — the same pairs the reward model's loss uses — as {prompt, chosen,
 * rejected}. DPO trains on them directly; exported as JSONL with the chat
 * template applied, they are what TRL's DPOTrainer / RewardTrainer and
 * OpenRLHF read.
 */
import { rankPairs } from "../reward/ranking_loss.ts";
import { type RankRecord, ranksOf } from "../reward/labels.ts";
import { type ChatMessage, chatTemplateFor, renderChat } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";

export interface PreferencePair {
  readonly prompt: readonly ChatMessage[];
  readonly chosen: string;
  readonly rejected: string;
}

/**
 * All untied pairs of the lists, better first (C(K, 2) per list without ties).
 *
 * @example
 * ```ts
 * import { preferencePairs, type RankRecord } from "rlhf";
 * const list: RankRecord = {
 *   prompt_id: "p1",
 *   prompt: [{ role: "user", content: "写诗" }],
 *   responses: ["春风", "夏雨", "秋霜"],
 *   ranks: [1, 2, 2], // 夏雨 and 秋霜 tied
 *   labeler: "ann",
 *   time: "2026-01-01T00:00:00Z",
 *   checkpoint: "sft@3f2a",
 * };
 * preferencePairs([list]).map((p) => `${p.chosen} > ${p.rejected}`); // ["春风 > 夏雨", "春风 > 秋霜"]
 * ```
 */
export function preferencePairs(lists: readonly RankRecord[]): PreferencePair[] {
  return lists.flatMap((list) => {
    const ranks = ranksOf(list);
    return rankPairs(list.responses.length)
      .filter(([i, j]) => ranks[i] < ranks[j])
      .map(([i, j]) => ({ prompt: list.prompt, chosen: list.responses[i], rejected: list.responses[j] }));
  });
}

/**
 * A pair as text records with the model's chat template: the prompt ends with the assistant's role marker, the answers with the end-of-turn marker.
 *
 * @example
 * ```ts
 * import { Gpt2BpeTokenizer, pairAsTemplatedText } from "rlhf";
 * pairAsTemplatedText({ prompt: [{ role: "user", content: "Hi" }], chosen: "Hello!", rejected: "Go away." }, new Gpt2BpeTokenizer());
 * // { prompt: "User: Hi<|endoftext|>\nAssistant:", chosen: " Hello!<|endoftext|>", rejected: " Go away.<|endoftext|>" }
 * ```
 */
export function pairAsTemplatedText(pair: PreferencePair, tokenizer: Tokenizer): { prompt: string; chosen: string; rejected: string } {
  const template = chatTemplateFor(tokenizer);
  return {
    prompt: renderChat(pair.prompt, template, { addGenerationPrompt: true }),
    chosen: template.contentPrefix + pair.chosen + template.endOfTurn,
    rejected: template.contentPrefix + pair.rejected + template.endOfTurn,
  };
}

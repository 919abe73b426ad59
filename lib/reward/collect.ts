/**
 * Collecting preferences: sample K responses per prompt from the SFT model,
 * have a labeler rank them, and return rank lists ready for labels.ts.
 */
import { generate } from "../generate/generate.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { Task, TaskPrompt } from "../tasks/types.ts";
import { decodeReply, encodePrompt, endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { Rng } from "../train/rng.ts";
import type { RankRecord } from "./labels.ts";

/** Anything that turns gold scores into a best → worst order (a SimulatedLabeler, or a person's choices). */
export interface Labeler {
  readonly name: string;
  rank(scores: readonly number[]): number[];
}

export interface CollectOptions {
  /** Responses per prompt. @default 4 */
  readonly k?: number;
  /** Sampling temperature (diverse responses make informative rankings). @default 1 */
  readonly temperature?: number;
  /** @default 96 */
  readonly maxNewTokens?: number;
  /** Prompts per generate() call. @default 8 */
  readonly promptsPerBatch?: number;
  readonly seed?: number;
  /** Recorded as the checkpoint that sampled the responses. */
  readonly checkpoint: string;
}

/** K distinct responses per prompt, ranked by `labeler` from the task's gold scores. */
export async function collectRankings(
  model: GPT2Model,
  tokenizer: Tokenizer,
  task: Task,
  prompts: readonly TaskPrompt[],
  labeler: Labeler,
  options: CollectOptions,
): Promise<RankRecord[]> {
  const k = options.k ?? 4;
  const perBatch = options.promptsPerBatch ?? 8;
  const rng = new Rng(options.seed ?? 0);
  const stop = endOfTurnId(tokenizer);
  const records: RankRecord[] = [];
  for (let i = 0; i < prompts.length; i += perBatch) {
    const batch = prompts.slice(i, i + perBatch);
    const ids = batch.flatMap((p) => Array.from({ length: k }, () => encodePrompt(p.messages, tokenizer)));
    const out = await generate(model, ids, {
      maxNewTokens: options.maxNewTokens ?? 96,
      temperature: options.temperature ?? 1,
      stopIds: [stop],
      padId: tokenizer.eosId,
      rng,
    });
    batch.forEach((prompt, b) => {
      // Identical responses cannot be ranked against each other: keep one of each.
      const responses = [...new Set(out.tokens.slice(b * k, (b + 1) * k).map((t) => decodeReply(t, tokenizer).text))];
      if (responses.length < 2) return;
      const order = labeler.rank(responses.map((r) => task.score(prompt, r).total));
      records.push({
        prompt_id: prompt.id,
        prompt: prompt.messages,
        responses: order.map((j) => responses[j]),
        labeler: labeler.name,
        time: new Date().toISOString(),
        checkpoint: options.checkpoint,
      });
    });
  }
  return records;
}

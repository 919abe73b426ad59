/**
 * Collecting preferences: sample K responses per prompt from the SFT model,
 * have a labeler rank them, and return rank lists ready for labels.ts.
 */
import { generate } from "../generate/generate.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { Task, TaskPrompt } from "../tasks/types.ts";
import { decodeReply, encodePrompt, endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { Rng } from "../rng.ts";
import { ProgressBar } from "../train/progress.ts";
import type { RankRecord } from "./labels.ts";

/** Anything that turns gold scores into a best → worst order (a SimulatedLabeler, or a person's choices). */
export interface Labeler {
  readonly name: string;
  /** `key` identifies what is ranked (prompt id and responses), for a labeler whose choices must not depend on order. */
  rank(scores: readonly number[], key?: string): number[];
  /** Ties in that order, as ranks (1 = best; see RankRecord.ranks); undefined if none. */
  tiedRanks?(scores: readonly number[], order: readonly number[]): number[] | undefined;
}

export interface CollectOptions {
  /** Responses per prompt. @default 4 */
  readonly k?: number;
  /** Sampling temperature (diverse responses make informative rankings). @default 1 */
  readonly temperature?: number;
  /** @default 96 */
  readonly maxNewTokens?: number;
  /** Token ids never sampled (e.g. `unknownTokenIds(tokenizer)`: no `[UNK]` on the labelling page). @default [] */
  readonly suppressIds?: readonly number[];
  /** Prompts per generate() call (each asked K times). @default 16 */
  readonly promptsPerBatch?: number;
  readonly seed?: number;
  /** No progress bar. @default false */
  readonly quiet?: boolean;
  /** Recorded as the checkpoint that sampled the responses. */
  readonly checkpoint: string;
}

/** A prompt and its distinct sampled responses, in sampling order (what a labeler is shown). */
export interface Candidates {
  readonly prompt: TaskPrompt;
  readonly responses: string[];
}

/**
 * Samples K responses per prompt; duplicates are dropped (identical answers cannot be ranked apart).
 *
 * @example
 * ```ts
 * import { loadPretrained, loadTask, sampleCandidates } from "rlhf";
 * const model = await loadPretrained("models/gpt2-poetry-zh");
 * const task = await loadTask();
 * const [item] = await sampleCandidates(model, model.tokenizer!, task.prompts("train", 0).slice(0, 1), { k: 4, maxNewTokens: 32, quiet: true });
 * item.responses.length; // 4 distinct answers (fewer if some came out the same), for a person to rank
 * ```
 */
export async function sampleCandidates(
  model: GPT2Model,
  tokenizer: Tokenizer,
  prompts: readonly TaskPrompt[],
  options: Omit<CollectOptions, "checkpoint">,
): Promise<Candidates[]> {
  const k = options.k ?? 4;
  const perBatch = options.promptsPerBatch ?? 16;
  const rng = new Rng(options.seed ?? 0);
  const stop = endOfTurnId(tokenizer);
  const out: Candidates[] = [];
  const bar = options.quiet || prompts.length === 0
    ? undefined
    : new ProgressBar({ total: prompts.length, label: "sampling", unit: "answer" });
  for (let i = 0; i < prompts.length; i += perBatch) {
    const batch = prompts.slice(i, i + perBatch);
    const ids = batch.flatMap((p) => Array.from({ length: k }, () => encodePrompt(p.messages, tokenizer)));
    const generation = await generate(model, ids, {
      maxNewTokens: options.maxNewTokens ?? 96,
      temperature: options.temperature ?? 1,
      ...(options.suppressIds ? { suppressIds: options.suppressIds } : {}),
      stopIds: [stop],
      padId: tokenizer.eosId,
      rng,
    });
    batch.forEach((prompt, b) => {
      const responses = [...new Set(generation.tokens.slice(b * k, (b + 1) * k).map((t) => decodeReply(t, tokenizer).text))];
      out.push({ prompt, responses });
    });
    bar?.update(out.length, { tokens: out.length * k });
  }
  bar?.finish();
  return out;
}

/**
 * K distinct responses per prompt, ranked by `labeler` from the task's gold scores.
 *
 * @example
 * ```ts
 * import { checkpointFingerprint, collectRankings, loadPretrained, loadTask, SimulatedLabeler } from "rlhf";
 * const dir = "models/gpt2-poetry-zh";
 * const model = await loadPretrained(dir);
 * const task = await loadTask();
 * const prompts = task.prompts("train", 0).slice(0, 2);
 * const labeler = new SimulatedLabeler({ preference: task.preference?.name, seed: 0 });
 * const lists = await collectRankings(model, model.tokenizer!, task, prompts, labeler, {
 *   k: 4,
 *   maxNewTokens: 32,
 *   quiet: true,
 *   checkpoint: await checkpointFingerprint(dir),
 * });
 * lists[0].responses; // the answers, best first by the gold score (with the labeler's noise)
 * ```
 */
export async function collectRankings(
  model: GPT2Model,
  tokenizer: Tokenizer,
  task: Task,
  prompts: readonly TaskPrompt[],
  labeler: Labeler,
  options: CollectOptions,
): Promise<RankRecord[]> {
  return rankCandidates(task, await sampleCandidates(model, tokenizer, prompts, options), labeler, options.checkpoint);
}

/**
 * Rank lists of `labeler` over sampled candidates (those with two answers or more): each item's answers in the
 * labeler's order from the task's gold scores, with the ties it marks (`ranks`).
 *
 * @example
 * ```ts
 * import { loadTask, rankCandidates, SimulatedLabeler } from "rlhf";
 * const task = await loadTask();
 * const [prompt] = task.prompts("train", 0);
 * const labeler = new SimulatedLabeler({ preference: task.preference?.name, seed: 0 });
 * const [list] = rankCandidates(task, [{ prompt, responses: ["春风笑语百花开。", "秋雨孤灯泪满衣。"] }], labeler, "my-model");
 * list.responses; // best first by the gold score, with the labeler's noise
 * ```
 */
export function rankCandidates(
  task: Task,
  candidates: readonly { readonly prompt: TaskPrompt; readonly responses: readonly string[] }[],
  labeler: Labeler,
  checkpoint: string,
): RankRecord[] {
  return candidates.filter((c) => c.responses.length >= 2).map(({ prompt, responses }) => {
    const scores = responses.map((r) => task.score(prompt, r).total);
    const order = labeler.rank(scores, JSON.stringify([prompt.id, responses]));
    const ranks = labeler.tiedRanks?.(scores, order);
    return {
      prompt_id: prompt.id,
      prompt: prompt.messages,
      responses: order.map((j) => responses[j]),
      labeler: labeler.name,
      time: new Date().toISOString(),
      checkpoint,
      ...(ranks ? { ranks } : {}),
    };
  });
}

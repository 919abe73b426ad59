/**
 * Ask a model the task's prompts in the chat template, and rate its answers
 * with the gold scorer: the "is it a better assistant?" measurement used
 * before and after each stage.
 */
import { generate } from "../generate/generate.ts";
import type { SamplingOptions } from "../generate/sampling.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { GoldScore, Task, TaskPrompt } from "../tasks/types.ts";
import { decodeReply, encodePrompt, endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { Rng } from "../rng.ts";

export interface ScoredSample {
  readonly prompt: TaskPrompt;
  readonly response: string;
  /** Whether the model ended its turn (produced the end-of-turn token). */
  readonly ended: boolean;
  readonly score: GoldScore;
}

export interface SampleAndScoreOptions extends SamplingOptions {
  /** @default 96 */
  readonly maxNewTokens?: number;
  /** Prompts per generate() call (a bigger batch samples faster per answer). @default 64 */
  readonly batchSize?: number;
  /** @default 0 */
  readonly seed?: number;
}

/**
 * Samples one response per prompt and scores it.
 *
 * @example
 * ```ts
 * import { loadPretrained, loadTask, sampleAndScore, summariseScores } from "rlhf";
 * const model = await loadPretrained("models/gpt2-poetry-zh");
 * const task = await loadTask();
 * const prompts = task.prompts("heldout", 0).slice(0, 4);
 * const samples = await sampleAndScore(model, model.tokenizer!, task, prompts, { maxNewTokens: 32 });
 * samples[0].response; // the base's answer: it was never taught to follow a request
 * summariseScores(samples).total; // their mean gold score
 * ```
 */
export async function sampleAndScore(
  model: GPT2Model,
  tokenizer: Tokenizer,
  task: Task,
  prompts: readonly TaskPrompt[],
  options: SampleAndScoreOptions = {},
): Promise<ScoredSample[]> {
  const rng = new Rng(options.seed ?? 0);
  const stop = endOfTurnId(tokenizer);
  const batchSize = options.batchSize ?? 64;
  const out: ScoredSample[] = [];
  for (let i = 0; i < prompts.length; i += batchSize) {
    const batch = prompts.slice(i, i + batchSize);
    const generation = await generate(model, batch.map((p) => encodePrompt(p.messages, tokenizer)), {
      ...options,
      maxNewTokens: options.maxNewTokens ?? 96,
      stopIds: [stop],
      padId: tokenizer.eosId,
      rng,
    });
    batch.forEach((prompt, b) => {
      const { text, ended } = decodeReply(generation.tokens[b], tokenizer);
      out.push({ prompt, response: text, ended, score: task.score(prompt, text) });
    });
  }
  return out;
}

/**
 * Mean total score and mean of each part over samples.
 *
 * @example
 * ```ts
 * import { type ScoredSample, summariseScores } from "rlhf";
 * const prompt = { id: "1", messages: [{ role: "user" as const, content: "写诗" }], constraints: {} };
 * const samples: ScoredSample[] = [
 *   { prompt, response: "…", ended: true, score: { total: 0.8, parts: { form: 1, mood: 0.6 } } },
 *   { prompt, response: "…", ended: false, score: { total: 0.4, parts: { form: 0.5, mood: 0.2 } } },
 * ];
 * summariseScores(samples); // { total: 0.6, ended: 0.5, parts: { form: 0.75, mood: 0.4 } }
 * ```
 */
export function summariseScores(samples: readonly ScoredSample[]): { total: number; ended: number; parts: Record<string, number> } {
  const parts: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const s of samples) {
    for (const [k, v] of Object.entries(s.score.parts)) {
      parts[k] = (parts[k] ?? 0) + v;
      counts[k] = (counts[k] ?? 0) + 1;
    }
  }
  for (const k of Object.keys(parts)) parts[k] /= counts[k];
  const n = Math.max(1, samples.length);
  return {
    total: samples.reduce((s, x) => s + x.score.total, 0) / n,
    ended: samples.filter((s) => s.ended).length / n,
    parts,
  };
}

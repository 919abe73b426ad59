/**
 * The data of a run in each engine's format: preference pairs from the rank
 * lists, and the requests for online RL with what the gold scorer needs
 * (their constraints, as one JSON string so that a dataset library never
 * turns missing fields into nulls).
 *
 * Preference pairs, two forms (both read by TRL's DPOTrainer/RewardTrainer,
 * trl/data_utils.py; and OpenRLHF's RewardDataset, openrlhf/datasets/reward_dataset.py):
 * - plain: `{prompt, chosen, rejected}` as text, chat template applied
 *   (OpenRLHF: `--data.prompt_key prompt` without `--data.apply_chat_template`);
 * - conversational: `prompt` as messages, `chosen` / `rejected` as one
 *   assistant message each (OpenRLHF: `--data.apply_chat_template --data.prompt_key prompt`).
 * Each pair keeps its rank list's `labeler`.
 *
 * Requests: TRL `{prompt, constraints}` (prompt as messages; the extra column
 * reaches reward functions as a keyword argument, trl/trainer/grpo_trainer.py
 * `_calculate_rewards`), and a plain-text variant; OpenRLHF `{input, label}`
 * (`--data.input_key input --data.label_key label --data.apply_chat_template`,
 * openrlhf/datasets/prompts_dataset.py); verl rows for parquet (verl_parquet.ts).
 */
import { pairAsTemplatedText, preferencePairs } from "../dpo/preference_pairs.ts";
import type { RankRecord } from "../reward/labels.ts";
import type { TaskPrompt } from "../tasks/types.ts";
import { type ChatTemplate, renderChat } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import type { VerlRow } from "./verl_parquet.ts";

/** JSON lines text of `records`. */
function jsonl(records: readonly unknown[]): string {
  return records.map((r) => JSON.stringify(r) + "\n").join("");
}

/**
 * The untied pairs of the rank lists as JSONL, plain and conversational, each with its labeler.
 *
 * @example
 * ```ts
 * import { preferenceJsonl } from "./engine_data.ts";
 * import { loadLabels } from "../reward/labels.ts";
 * import { loadTokenizer } from "../tokenizer/io.ts";
 * const lists = (await loadLabels("data/labels/poetry-zh-simulated.jsonl")).slice(0, 4);
 * const { plain, conversational } = preferenceJsonl(lists, (await loadTokenizer("models/gpt2-poetry-zh"))!);
 * JSON.parse(conversational.split("\n")[0]).chosen[0].role; // "assistant"
 * ```
 */
export function preferenceJsonl(
  lists: readonly RankRecord[],
  tokenizer: Tokenizer,
): { plain: string; conversational: string; pairs: number } {
  const plain: unknown[] = [];
  const conversational: unknown[] = [];
  for (const list of lists) {
    for (const pair of preferencePairs([list])) {
      plain.push({ ...pairAsTemplatedText(pair, tokenizer), labeler: list.labeler });
      conversational.push({
        prompt: pair.prompt,
        chosen: [{ role: "assistant", content: pair.chosen }],
        rejected: [{ role: "assistant", content: pair.rejected }],
        labeler: list.labeler,
      });
    }
  }
  return { plain: jsonl(plain), conversational: jsonl(conversational), pairs: plain.length };
}

/** The gold scorer's constraints of a request, as the JSON string every engine passes to it. */
export function constraintsJson(prompt: TaskPrompt): string {
  return JSON.stringify(prompt.constraints);
}

/**
 * Requests for TRL's GRPO/RLOO trainers: conversational (`prompt` as messages) and plain (`prompt` as text with
 * the chat template and the generation prompt), each with `constraints` and `id`.
 *
 * @example
 * ```ts
 * import { trlPromptJsonl } from "./engine_data.ts";
 * import { CHAR_CHAT_TEMPLATE } from "../tokenizer/chat_template.ts";
 * import { loadTask } from "../tasks/registry.ts";
 * const prompts = (await loadTask()).prompts("heldout", 0).slice(0, 2);
 * const { plain } = trlPromptJsonl(prompts, CHAR_CHAT_TEMPLATE);
 * JSON.parse(plain.split("\n")[0]).prompt.endsWith("<|assistant|>"); // true
 * ```
 */
export function trlPromptJsonl(prompts: readonly TaskPrompt[], template: ChatTemplate): { conversational: string; plain: string } {
  return {
    conversational: jsonl(prompts.map((p) => ({ prompt: p.messages, constraints: constraintsJson(p), id: p.id }))),
    plain: jsonl(
      prompts.map((p) => ({
        prompt: renderChat(p.messages, template, { addGenerationPrompt: true }),
        constraints: constraintsJson(p),
        id: p.id,
      })),
    ),
  };
}

/**
 * Requests for OpenRLHF's `train_ppo_ray`: `input` (messages) and `label` (the constraints).
 *
 * @example
 * ```ts
 * import { openRlhfPromptJsonl } from "./engine_data.ts";
 * import { loadTask } from "../tasks/registry.ts";
 * const text = openRlhfPromptJsonl((await loadTask()).prompts("heldout", 0).slice(0, 1));
 * Object.keys(JSON.parse(text)); // ["input", "label", "id"]
 * ```
 */
export function openRlhfPromptJsonl(prompts: readonly TaskPrompt[]): string {
  return jsonl(prompts.map((p) => ({ input: p.messages, label: constraintsJson(p), id: p.id })));
}

/**
 * Requests as verl's parquet rows (`reward_model.ground_truth` = the constraints).
 *
 * @example
 * ```ts
 * import { verlRows } from "./engine_data.ts";
 * import { loadTask } from "../tasks/registry.ts";
 * const rows = verlRows((await loadTask()).prompts("heldout", 0).slice(0, 3), "poetry-zh", "test");
 * rows[2].extra_info.index; // 2
 * ```
 */
export function verlRows(prompts: readonly TaskPrompt[], dataSource: string, split: string): VerlRow[] {
  return prompts.map((p, index) => ({
    data_source: dataSource,
    prompt: p.messages,
    ability: "poetry",
    reward_model: { style: "rule", ground_truth: constraintsJson(p) },
    extra_info: { split, index, id: p.id },
  }));
}

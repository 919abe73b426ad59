/**
 * The rank lists as preference data for GPU libraries: one JSON object a line,
 * `{prompt, chosen, rejected}` with the chat template applied (the prompt ends
 * with the assistant's role marker, each answer with the end-of-turn marker),
 * ties skipped — what TRL's DPOTrainer and RewardTrainer and OpenRLHF read;
 * with `labeler`, each record also has `labeler` (and `session`), to fit or
 * filter by person.
 */
import { writeTextFileAtomic } from "../checkpoint/atomic.ts";
import type { RankRecord } from "../reward/labels.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { pairAsTemplatedText, preferencePairs } from "./preference_pairs.ts";

/**
 * Writes the pairs of `lists` to `path` atomically; returns how many.
 *
 * @example
 * ```ts
 * import { exportPreferencePairs, loadLabels, loadTokenizer } from "rlhf";
 * const lists = await loadLabels("data/labels/poetry-zh-simulated.jsonl");
 * const tokenizer = (await loadTokenizer("models/gpt2-poetry-zh"))!;
 * const path = `${await Deno.makeTempDir()}/pairs.jsonl`;
 * await exportPreferencePairs(lists, tokenizer, path); // how many pairs: one {prompt, chosen, rejected} a line, for TRL
 * ```
 */
export async function exportPreferencePairs(
  lists: readonly RankRecord[],
  tokenizer: Tokenizer,
  path: string,
  options: { labeler?: boolean } = {},
): Promise<number> {
  // With `labeler`, each pair also names who ranked it (and the class session, when there was one).
  const who = (l: RankRecord) => options.labeler ? { labeler: l.labeler, ...(l.session ? { session: l.session } : {}) } : {};
  const records = lists.flatMap((l) =>
    preferencePairs([l]).map((p) => JSON.stringify({ ...pairAsTemplatedText(p, tokenizer), ...who(l) }))
  );
  await writeTextFileAtomic(path, records.map((r) => r + "\n").join(""));
  return records.length;
}

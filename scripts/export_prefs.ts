/**
 * `deno task export-prefs`: a label file's rank lists as preference pairs
 * `{prompt, chosen, rejected}` (JSONL, chat template applied, ties skipped)
 * for TRL / OpenRLHF on GPUs, with the checkpoint's tokenizer deciding the
 * chat template.
 */
import { parseCommand, refuseOutputOverInput, runMain } from "../lib/cli.ts";
import { exportPreferencePairs } from "../lib/dpo/export_pairs.ts";
import { loadLabels } from "../lib/reward/labels.ts";
import { loadTokenizer } from "../lib/tokenizer/io.ts";

const { values } = parseCommand({
  command: "deno task export-prefs",
  summary:
    "Write the rank lists of a label file as {prompt, chosen, rejected} JSONL (chat template applied, ties skipped) for TRL / OpenRLHF.",
  flags: {
    labels: { type: "string", default: "data/labels/poetry-zh-simulated.jsonl", value: "FILE", help: "the rank lists" },
    checkpoint: {
      type: "string",
      default: "checkpoints/sft",
      value: "DIR",
      help: "whose tokenizer (vocab.txt …) decides the chat template",
    },
    out: { type: "string", default: "data/preferences.jsonl", value: "FILE", help: "where the pairs go" },
  },
  examples: ["deno task export-prefs", "deno task export-prefs --labels data/labels/poetry-zh-human.jsonl --out prefs.jsonl"],
});
// The pairs never overwrite the rank lists they come from (nor the tokenizer's files).
refuseOutputOverInput({ flag: "out", path: values.out as string }, [
  { flag: "labels", path: values.labels as string },
  { flag: "checkpoint", path: values.checkpoint as string },
]);
await runMain(async () => {
  const labels = values.labels as string;
  const lists = await loadLabels(labels);
  if (lists.length === 0) throw new Error(`${labels}: no rank lists (file missing or empty)`);
  const tokenizer = await loadTokenizer(values.checkpoint as string);
  if (!tokenizer) throw new Error(`${values.checkpoint}: no tokenizer files (vocab.txt, or vocab.json + merges.txt)`);
  const n = await exportPreferencePairs(lists, tokenizer, values.out as string);
  console.log(`${values.out}: ${n} pairs from ${lists.length} rank lists`);
});

/**
 * `deno task export-prefs`: a label file's rank lists as preference pairs
 * `{prompt, chosen, rejected}` (JSONL, chat template applied, ties skipped)
 * for TRL / OpenRLHF on GPUs, with the checkpoint's tokenizer deciding the
 * chat template. Several files or a directory (a class's) are merged by the
 * rule of lib/reward/label_files.ts; --with-labeler adds who ranked each pair.
 */
import { parseCommand, refuseOutputOverInput, runMain, usageError } from "../lib/cli.ts";
import { exportPreferencePairs } from "../lib/dpo/export_pairs.ts";
import { loadLabelFiles } from "../lib/reward/label_files.ts";
import { loadTokenizer } from "../lib/tokenizer/io.ts";

const { values } = parseCommand({
  command: "deno task export-prefs",
  summary:
    "Write the rank lists of a label file as {prompt, chosen, rejected} JSONL (chat template applied, ties skipped) for TRL / OpenRLHF.",
  flags: {
    labels: {
      type: "string",
      default: "data/labels/poetry-zh-simulated.jsonl",
      value: "FILE|DIR[,…]",
      help: "the rank lists (a directory: its .jsonl files; several are merged, each list once)",
    },
    "with-labeler": { type: "boolean", default: false, help: "add each pair's labeler (and class session) to its record" },
    checkpoint: {
      type: "string",
      default: "checkpoints/sft",
      value: "DIR",
      help: "whose tokenizer (vocab.txt …) decides the chat template",
    },
    out: { type: "string", default: "data/preferences.jsonl", value: "FILE", help: "where the pairs go" },
  },
  examples: [
    "deno task export-prefs",
    "deno task export-prefs --labels data/labels/poetry-zh-human.jsonl --out prefs.jsonl",
    "deno task export-prefs --labels data/labels/class-7a/ --with-labeler --out class-prefs.jsonl",
  ],
});
// The pairs never overwrite the rank lists they come from (nor the tokenizer's files).
const labelPaths = (values.labels as string).split(",").filter(Boolean);
for (const path of labelPaths) {
  if (!(await Deno.stat(path).catch(() => undefined))) usageError(`--labels ${path}: no such file or directory`);
}
refuseOutputOverInput({ flag: "out", path: values.out as string }, [
  ...labelPaths.map((path) => ({ flag: "labels", path })),
  { flag: "checkpoint", path: values.checkpoint as string },
]);
await runMain(async () => {
  const { lists } = await loadLabelFiles(labelPaths);
  if (lists.length === 0) throw new Error(`${values.labels}: no rank lists (file missing or empty)`);
  const tokenizer = await loadTokenizer(values.checkpoint as string);
  if (!tokenizer) throw new Error(`${values.checkpoint}: no tokenizer files (vocab.txt, or vocab.json + merges.txt)`);
  const n = await exportPreferencePairs(lists, tokenizer, values.out as string, { labeler: values["with-labeler"] === true });
  console.log(`${values.out}: ${n} pairs from ${lists.length} rank lists`);
});

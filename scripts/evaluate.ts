/**
 * `deno task evaluate --policy DIR[,DIR…]`: any GPT-2 policy directory — a
 * checkpoint of this project, or a policy an engine trained from
 * `deno task export`'s bundle — on the same held-out view as the methods of
 * `deno task rlhf`: gold score (± SE), gain over SFT (paired, ± SE), reward-
 * model score, KL to the SFT model; one row per policy beside SFT's.
 */
import { parseCommand, positiveIntFlag, refuseOutputOverInput, runMain, usageError } from "../lib/cli.ts";
import { initBackend } from "../lib/backend.ts";
import { loadPretrained } from "../lib/pretrained.ts";
import { loadRewardModel } from "../lib/reward/reward_checkpoint.ts";
import { DEFAULT_TASK, loadTask, TASKS } from "../lib/tasks/registry.ts";
import { POLICY_ROWS_DEFAULTS, type PolicyRow, policyRows } from "../lib/pipeline/policy_rows.ts";
import { formatDifference } from "../lib/eval/paired_difference.ts";
import { writeJsonAtomic } from "../lib/checkpoint/atomic.ts";
import { pathExists } from "../lib/fs.ts";
import { checkpointDirs } from "../lib/pipeline/checkpoint_dirs.ts";

const { values } = parseCommand({
  command: "deno task evaluate",
  summary: "Evaluate GPT-2 policy directories (this project's, or trained by TRL/OpenRLHF/verl from an export bundle) on the " +
    "held-out requests: gold, gain over SFT, reward-model score, KL to SFT.",
  flags: {
    policy: { type: "string", value: "DIRS", help: "policy directories, comma-separated (config.json + model.safetensors)" },
    checkpoints: { type: "string", default: "checkpoints", value: "DIR", help: "the run whose SFT model and reward model measure them" },
    task: { type: "string", default: DEFAULT_TASK, value: "NAME", help: `the task: ${Object.keys(TASKS).join(" | ")}` },
    requests: {
      type: "string",
      default: String(POLICY_ROWS_DEFAULTS.requests),
      value: "N",
      help: "held-out requests",
      range: [2, 100_000],
    },
    answers: { type: "string", default: String(POLICY_ROWS_DEFAULTS.answers), value: "N", help: "answers per request", range: [1, 64] },
    out: { type: "string", value: "FILE", help: "also write the rows as JSON here" },
    quick: { type: "boolean", default: false, help: "measure with the SFT model and reward model of deno task rlhf --quick" },
    "beside-run": {
      type: "boolean",
      default: false,
      help: "also evaluate the run's own PPO, DPO, RLOO and GRPO checkpoints (those that exist), on the same view",
    },
  },
  examples: [
    "deno task evaluate --policy checkpoints/ppo,checkpoints/dpo",
    "deno task evaluate --policy bundle/out/trl-grpo --out grpo.json",
    "deno task evaluate --policy bundle/out/trl-grpo --beside-run   # beside the run's PPO, DPO, RLOO, GRPO",
  ],
});
const dirs = ((values.policy as string | undefined) ?? "").split(",").filter(Boolean);
if (dirs.length === 0 && !values["beside-run"]) usageError("--policy: expected one or more policy directories (or --beside-run)");
for (const dir of dirs) {
  if (!(await pathExists(`${dir}/config.json`))) usageError(`--policy ${dir}: no config.json (expected a GPT-2 directory)`);
}
const root = values.checkpoints as string;
const stages = checkpointDirs(root, { quick: values.quick as boolean });
for (const dir of [stages.sft, stages.rm]) {
  if (!(await pathExists(`${dir}/config.json`))) usageError(`--checkpoints ${root}: no ${dir}/config.json; run deno task rlhf first`);
}
if (values["beside-run"]) {
  const own: string[] = [];
  for (const dir of [stages.ppo, stages.dpo, stages.rloo, stages.grpo]) if (await pathExists(`${dir}/config.json`)) own.push(dir);
  dirs.unshift(...own);
  if (dirs.length === 0) usageError(`--beside-run: ${root} has no PPO, DPO, RLOO or GRPO checkpoint, and no --policy was given`);
}
if (!Object.hasOwn(TASKS, values.task as string)) usageError(`--task ${values.task}: expected one of ${Object.keys(TASKS).join(", ")}`);
if (values.out) refuseOutputOverInput({ flag: "out", path: values.out as string }, dirs.map((d) => ({ flag: "policy", path: d })));

function print(rows: readonly PolicyRow[]): void {
  const table = [
    ["policy", "gold (± SE)", "gain over SFT (± SE)", "RM score", "KL to SFT (nats)", "an answer"],
    ...rows.map((r) => [
      r.name,
      `${r.gold.toFixed(3)} ± ${r.goldSe.toFixed(3)}`,
      r.name === "SFT" ? "" : formatDifference(r.gainOverSft),
      r.rm.toFixed(3),
      r.kl.toFixed(2),
      (r.sample.length > 30 ? `${r.sample.slice(0, 30)}…` : r.sample).replaceAll("\n", " "),
    ]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => [...row[c]].length)));
  for (const row of table) console.log(row.map((cell, c) => cell + " ".repeat(widths[c] - [...cell].length)).join("  "));
}

await runMain(async () => {
  await initBackend();
  const sft = await loadPretrained(stages.sft);
  if (!sft.tokenizer) throw new Error(`${stages.sft}: no tokenizer files`);
  const rm = await loadRewardModel(stages.rm);
  const task = await loadTask(values.task as string);
  const requests = positiveIntFlag(values, "requests")!;
  const answers = positiveIntFlag(values, "answers")!;
  console.log(
    `held-out view: ${requests} requests × ${answers} answers of ${task.name}; SFT model ${stages.sft}, reward model ${stages.rm}`,
  );
  const rows = await policyRows({ task, sft, tokenizer: sft.tokenizer, rm }, dirs, { requests, answers });
  print(rows);
  if (values.out) {
    await writeJsonAtomic(values.out as string, { task: task.name, checkpoints: root, requests, answers, rows });
    console.log(`rows: ${values.out}`);
  }
});

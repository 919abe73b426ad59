/**
 * `deno task export OUT/`: a finished run as a bundle that TRL, OpenRLHF and
 * verl take as it is (models in the Hugging Face classes they load, the rank
 * lists, the requests, the gold scorer in Python, a README with the commands).
 */
import { parseCommand, refuseOutputOverInput, runMain, usageError } from "../lib/cli.ts";
import { exportBundle } from "../lib/export/export_bundle.ts";
import type { Engine } from "../lib/export/engine_commands.ts";
import { loadLabels } from "../lib/reward/labels.ts";
import { DEFAULT_TASK, loadTask, TASKS } from "../lib/tasks/registry.ts";
import { loadValenceList } from "../lib/tasks/poetry_zh/mood.ts";
import type { PoetryPreference } from "../lib/tasks/poetry_zh/task.ts";
import { pathExists, readJsonFile } from "../lib/fs.ts";
import { initBackend } from "../lib/backend.ts";
import { checkpointDirs } from "../lib/pipeline/checkpoint_dirs.ts";

const ENGINES: Readonly<Record<string, readonly Engine[]>> = Object.freeze({
  trl: ["trl"],
  openrlhf: ["openrlhf"],
  verl: ["verl"],
  all: ["trl", "openrlhf", "verl"],
});
/** The gold scorer's preference of each task (lib/tasks/registry.ts). */
const PREFERENCE: Readonly<Record<string, PoetryPreference>> = Object.freeze({ "poetry-zh": "mood", "poetry-zh-rules": "rules" });

const { values, positionals } = parseCommand({
  command: "deno task export",
  summary: "Write a finished run (SFT and PPO policies, reward model, rank lists, requests, gold scorer) as a bundle for TRL, " +
    "OpenRLHF and verl, with a README of the commands.",
  positionals: "OUT",
  flags: {
    for: { type: "string", default: "all", value: "ENGINE", help: "trl | openrlhf | verl | all" },
    checkpoints: { type: "string", default: "checkpoints", value: "DIR", help: "the run's checkpoint root (sft/, rm/, ppo/)" },
    labels: {
      type: "string",
      value: "FILES",
      help: "rank lists to export, comma-separated (default: the files the reward model was fitted on, from rm/reward.json)",
    },
    task: { type: "string", default: DEFAULT_TASK, value: "NAME", help: `the run's task: ${Object.keys(TASKS).join(" | ")}` },
    quick: { type: "boolean", default: false, help: "the checkpoints of deno task rlhf --quick (sft-quick/, rm-quick/, ppo-quick/)" },
  },
  examples: ["deno task export bundle/", "deno task export --for verl bundle-verl/", "deno task export --quick bundle-quick/"],
});
if (positionals.length !== 1) usageError(`expected one output directory OUT, got ${positionals.length}`);
const out = positionals[0].replace(/\/+$/, "");
const engineName = values.for as string;
if (!Object.hasOwn(ENGINES, engineName)) usageError(`--for ${engineName}: expected one of ${Object.keys(ENGINES).join(", ")}`);
const taskName = values.task as string;
if (!Object.hasOwn(PREFERENCE, taskName)) usageError(`--task ${taskName}: expected one of ${Object.keys(PREFERENCE).join(", ")}`);
if (await pathExists(out)) usageError(`OUT ${out}: exists already; give a new directory`);
const root = values.checkpoints as string;
const dirs = checkpointDirs(root, { quick: values.quick as boolean });
for (const [stage, dir] of [["sft", dirs.sft], ["rm", dirs.rm]] as const) {
  if (!(await pathExists(`${dir}/config.json`))) {
    usageError(`--checkpoints ${root}: no ${stage} checkpoint (${dir}/config.json); run deno task rlhf first`);
  }
}
refuseOutputOverInput({ flag: "OUT", path: out }, [{ flag: "checkpoints", path: root }]);

/** The label files: --labels, else what the reward model recorded. */
async function labelFiles(): Promise<string[]> {
  if (values.labels) return (values.labels as string).split(",").filter(Boolean);
  const record = (await readJsonFile(`${dirs.rm}/reward.json`)) as { labels?: { files?: unknown } };
  const files = record.labels?.files;
  if (!Array.isArray(files) || files.length === 0 || !files.every((f) => typeof f === "string")) {
    usageError(`${dirs.rm}/reward.json records no label files; name them with --labels FILES`);
  }
  return files as string[];
}

await runMain(async () => {
  const files = await labelFiles();
  for (const f of files) {
    if (!(await pathExists(f))) {
      usageError(`label file ${f} (recorded in ${dirs.rm}/reward.json) is missing; name the files with --labels`);
    }
  }
  const lists = (await Promise.all(files.map(loadLabels))).flat();
  await initBackend({ quiet: true });
  const preference = PREFERENCE[taskName];
  const ppoDir = (await pathExists(`${dirs.ppo}/config.json`)) ? dirs.ppo : undefined;
  const manifest = await exportBundle(out, {
    engines: ENGINES[engineName],
    sftDir: dirs.sft,
    rmDir: dirs.rm,
    ppoDir,
    lists,
    task: await loadTask(taskName),
    scorer: { preference, valence: preference === "mood" ? await loadValenceList() : undefined },
  });
  console.log(
    `${out}/: ${manifest.files.length} files for ${manifest.engines.join(", ")}: models (sft${ppoDir ? ", ppo" : ""}, reward model), ` +
      `${manifest.pairs} preference pairs, ${manifest.trainPrompts} + ${manifest.heldoutPrompts} requests, gold_scorer.py; see ${out}/README.md`,
  );
});

/**
 * `deno task rlhf`: the main job. Runs the chapter's pipeline on the default
 * task (诗词助手, poetry-zh): start from the shipped poetry GPT-2 (models/gpt2-poetry-zh)
 * → SFT in the chat format → rank K answers per prompt (simulated labeler) → fit a reward
 * model → compare pretrained and SFT answers on held-out requests with the
 * gold scorer → PPO against the reward model → SFT vs PPO on held-out requests.
 *
 *   deno task rlhf             # default size (measured wall time in the README)
 *   deno task rlhf --quick     # a first try in about a minute
 *   deno task rlhf --from-scratch --pretrain-steps 2000 --preset gpt2-micro   # pretrain a small model first instead
 *   deno task rlhf --task poetry-zh-rules   # the rule-following preference instead of the mood one
 *   deno task rlhf --init path/to/gpt2-chinese-cluecorpussmall   # SFT a real GPT-2, as the book does
 *   deno task rlhf --ppo-reward gold   # PPO on the task's scorer instead of the reward model
 *   deno task rlhf --ptx-coef 0        # plain PPO, without InstructGPT's SFT-loss term (PPO-ptx, c_ptx = 1 by default)
 *   deno task rlhf --eval-prompts 256 --eval-answers 1   # a faster, less precise final evaluation
 *   deno task rlhf --ppo-lr 1e-4 --kl-coef 0.02 --ppo-iterations 60   # other PPO settings (their own checkpoint directory)
 *   deno task rlhf --report docs/runs/name   # write report.html and metrics.json there instead of reports/latest
 *
 * A killed run resumes from checkpoints/<stage>/ when started again with the same settings.
 */
import { initBackend } from "../lib/backend.ts";
import {
  checkInputFile,
  choiceFlag,
  type CommandSpec,
  numberFlag,
  parseCommand,
  positiveIntFlag,
  runMain,
  usageError,
} from "../lib/cli.ts";
import { loadLabels } from "../lib/reward/labels.ts";
import { labelFilesOf, loadLabelFiles } from "../lib/reward/label_files.ts";
import type { RankRecord } from "../lib/reward/labels.ts";
import { rewardModelRowsBy } from "../lib/labeling/reward_by_labeler.ts";
import { loadPretrained } from "../lib/pretrained.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { loadSftJsonl } from "../lib/data/sft_jsonl.ts";
import { readJsonFile } from "../lib/fs.ts";
import { gpt2ConfigFromHF } from "../lib/checkpoint/hf_config.ts";
import { GPT2_PRESETS, type GPT2PresetName } from "../lib/gpt2/config.ts";
import { disposePipelineResult, OTHER_METHODS, type OtherMethod, runPipeline } from "../lib/pipeline/pipeline.ts";
import { printRunSummary } from "../lib/report/console_summary.ts";
import { writeReport } from "../lib/report/report.ts";
import { FRONTIER_DEFAULTS, FRONTIER_QUICK } from "../lib/frontier/run_frontier.ts";
import { readPoints } from "../lib/frontier/points.ts";
import { readBenchRecord, recordOfBuild } from "../lib/bench/bench_record.ts";
import { kernelsBuild } from "../lib/fast/native_kernels.ts";
import { DEFAULT_TASK, TASKS } from "../lib/tasks/registry.ts";
import { perGroupLines, type RewardModelsPer } from "../lib/report/labeler_agreement.ts";

const SPEC: CommandSpec = {
  command: "deno task rlhf",
  summary: "The chapter's pipeline: the shipped base → SFT → rankings + reward model → PPO → evaluation, with a report.",
  flags: {
    quick: { type: "boolean", default: false, help: "a first try in about a minute (few steps and prompts)" },
    task: { type: "string", default: DEFAULT_TASK, value: "NAME", help: `the task: ${Object.keys(TASKS).join(" | ")}` },
    init: { type: "string", value: "DIR", help: "start from this GPT-2 directory (HF layout) instead of models/gpt2-poetry-zh" },
    "from-scratch": { type: "boolean", default: false, help: "pretrain a small model on the task's corpus first instead" },
    fresh: {
      type: "boolean",
      default: false,
      help: "delete this run's stage checkpoints first and train every stage again (rank lists of the same SFT model are reused)",
    },
    preset: { type: "string", value: "NAME", help: `with --from-scratch: ${Object.keys(GPT2_PRESETS).join(" | ")}` },
    "pretrain-steps": { type: "string", value: "N", range: [1, 200_000], help: "with --from-scratch: pretraining steps" },
    "sft-steps": { type: "string", value: "N", range: [1, 100_000], help: "SFT steps" },
    method: {
      type: "string",
      default: "ppo",
      value: "ppo|dpo|rloo|grpo|both|all",
      help: "methods on the same data and evaluation (comma-separated; both = PPO and DPO; all = every one)",
    },
    policy: {
      type: "string",
      value: "DIR[,DIR…]",
      help: "outside GPT-2 policy directories (e.g. trained by an engine from `deno task export`'s bundle), each a row beside the methods",
    },
    "ppo-reward": { type: "string", default: "rm", value: "rm|gold", help: "PPO's reward: the reward model, or the gold scorer itself" },
    "ppo-iterations": { type: "string", value: "N", range: [1, 10_000], help: "PPO iterations" },
    "ppo-lr": { type: "string", value: "X", help: "PPO learning rate" },
    "kl-coef": { type: "string", value: "X", help: "initial KL coefficient β (0: no KL penalty)" },
    "ptx-coef": { type: "string", value: "X", help: "PPO-ptx coefficient c_ptx (0: plain PPO)" },
    "ppo-eval-every": {
      type: "string",
      value: "N",
      range: [1, 10_000],
      help: "held-out evaluation (and checkpoint) every N PPO iterations",
    },
    "ppo-eval-prompts": { type: "string", value: "N", range: [1, 10_000], help: "held-out requests in each PPO evaluation" },
    "eval-prompts": { type: "string", value: "N", range: [1, 10_000], help: "held-out requests in the final evaluation (default: all)" },
    "eval-answers": { type: "string", value: "N", range: [1, 64], help: "answers per request in the final evaluation (default 4)" },
    labels: {
      type: "string",
      value: "FILE|DIR[,…]",
      help: "people's rank lists (deno task label; a directory: its .jsonl files) that join the reward model's training lists",
    },
    "rm-per": {
      type: "string",
      value: "labeler|session",
      help: "with --labels: also fit a reward model per labeler (or class session) and measure each on the others' lists",
    },
    "simulated-prompts": {
      type: "string",
      value: "N",
      range: [0, 100_000],
      help: "training prompts the simulated labeler ranks (0: people's rankings only; default 2400)",
    },
    "rm-epochs": { type: "string", value: "N", range: [1, 100], help: "passes of the reward model over its rank lists (default 1)" },
    "sft-data": {
      type: "string",
      value: "FILE",
      help: "your own SFT conversations (JSONL: {prompt, response} or {messages}) instead of the task's",
    },
    "checkpoint-root": {
      type: "string",
      value: "DIR",
      help: "where the stages' checkpoints go (default checkpoints, with --sft-data checkpoints/own-sft)",
    },
    report: { type: "string", value: "DIR", help: "write report.html and metrics.json here (default reports/latest)" },
  },
  examples: [
    "deno task rlhf",
    "deno task rlhf --quick",
    "deno task rlhf --fresh                                               # every stage trained again",
    "deno task rlhf --task poetry-zh-rules",
    "deno task rlhf --ppo-reward gold",
    "deno task rlhf --method all                                          # DPO, RLOO and GRPO beside PPO",
    "deno task rlhf --labels data/labels/poetry-zh-human.jsonl            # your rankings beside the simulated ones",
    "deno task rlhf --labels data/labels/class-7a/ --simulated-prompts 0  # a class's rankings alone",
    "deno task rlhf --labels data/labels/class-7a/ --rm-per labeler       # and one reward model per student",
    "deno task rlhf --sft-data my_conversations.jsonl                     # your own SFT data",
    "deno task rlhf --from-scratch --preset gpt2-micro --pretrain-steps 1500",
    "deno task rlhf --init path/to/gpt2-chinese-cluecorpussmall",
  ],
};
const { values } = parseCommand(SPEC);
const str = (name: string) => values[name] as string | undefined;
const flag = (name: string) => values[name] === true;
const task = choiceFlag(values, "task", TASKS)!;
const preset = choiceFlag(values, "preset", GPT2_PRESETS) as GPT2PresetName | undefined;
const pretrainSteps = positiveIntFlag(values, "pretrain-steps");
if (flag("from-scratch") && str("init")) usageError("--from-scratch and --init exclude each other");
if (!flag("from-scratch") && (preset || pretrainSteps)) {
  usageError("--preset and --pretrain-steps size the pretraining of --from-scratch; add --from-scratch");
}
if (str("ppo-reward") !== "rm" && str("ppo-reward") !== "gold") usageError(`--ppo-reward ${str("ppo-reward")}: expected "rm" or "gold"`);
const ppoReward = str("ppo-reward") as "rm" | "gold";
const METHOD_SETS: Record<string, string[]> = { all: ["ppo", ...OTHER_METHODS], both: ["ppo", "dpo"] };
const methodNames = Object.hasOwn(METHOD_SETS, str("method")!) ? METHOD_SETS[str("method")!] : str("method")!.split(",");
for (const m of methodNames) {
  if (m !== "ppo" && !(OTHER_METHODS as readonly string[]).includes(m)) {
    usageError(`--method ${str("method")}: expected ppo, ${OTHER_METHODS.join(", ")}, both (PPO and DPO) or all (comma-separated)`);
  }
}
const methods = methodNames.filter((m) => m !== "ppo") as OtherMethod[];
const sftSteps = positiveIntFlag(values, "sft-steps");
const ptxCoef = numberFlag(values, "ptx-coef", (n) => n >= 0, "a number ≥ 0");
const ppoLr = numberFlag(values, "ppo-lr", (n) => n > 0, "a number > 0");
const klCoef = numberFlag(values, "kl-coef", (n) => n >= 0, "a number ≥ 0");
const ppoIterations = positiveIntFlag(values, "ppo-iterations");
const ppoEvalEvery = positiveIntFlag(values, "ppo-eval-every");
const ppoEvalPrompts = positiveIntFlag(values, "ppo-eval-prompts");
const evalPrompts = positiveIntFlag(values, "eval-prompts");
const evalAnswers = positiveIntFlag(values, "eval-answers");
const quick = flag("quick");
const labelPaths = str("labels")?.split(",").filter(Boolean);
// Every file named, or each directory's .jsonl files; a missing path or an empty directory is a usage error.
const humanLabels = labelPaths && await labelFilesOf(labelPaths).catch((err) => usageError(`--labels ${(err as Error).message}`));
const rmEpochs = numberFlag(values, "rm-epochs", Number.isInteger, "an integer");
const simulatedPrompts = numberFlag(values, "simulated-prompts", (n) => Number.isInteger(n) && n >= 0, "an integer ≥ 0");
if (simulatedPrompts === 0 && !humanLabels?.length) {
  usageError("--simulated-prompts 0 needs --labels FILE (the reward model needs some rankings)");
}
const rmPer = str("rm-per");
if (rmPer !== undefined && rmPer !== "labeler" && rmPer !== "session") usageError(`--rm-per ${rmPer}: expected "labeler" or "session"`);
if (rmPer && !humanLabels?.length) {
  usageError("--rm-per needs --labels FILE|DIR (the people's rank lists to fit one reward model per labeler)");
}
const sftData = str("sft-data");
// Every file named on the command line is read and checked now, before minutes of training: a malformed
// line is reported here, naming the file and line, not after SFT.
for (const file of new Set(humanLabels)) await checkInputFile("labels", file, loadLabels);
if (sftData) await checkInputFile("sft-data", sftData, loadSftJsonl);
if (str("init")) await checkInputFile("init", `${str("init")}/config.json`, async (p) => gpt2ConfigFromHF(await readJsonFile(p), p));
const policies = str("policy")?.split(",").filter(Boolean) ?? [];
for (const dir of policies) await checkInputFile("policy", `${dir}/config.json`, async (p) => gpt2ConfigFromHF(await readJsonFile(p), p));
const root = str("checkpoint-root") ?? (sftData ? "checkpoints/own-sft" : "checkpoints");
await runMain(async () => {
  const backend = await initBackend();
  const started = performance.now();
  const r = await runPipeline({
    task,
    quick,
    fresh: flag("fresh"),
    evalPrompts,
    evalAnswersPerPrompt: evalAnswers,
    initFrom: str("init"),
    fromScratch: flag("from-scratch"),
    sftDataPath: sftData,
    methods,
    policies,
    checkpointRoot: root,
    pretrain: {
      ...(preset ? { preset } : {}),
      ...(pretrainSteps ? { train: { steps: pretrainSteps } } : {}),
    },
    sft: sftSteps ? { train: { steps: sftSteps } } : {},
    reward: {
      ...(humanLabels ? { humanLabels: [...new Set(humanLabels)] } : {}),
      ...(simulatedPrompts === undefined ? {} : { trainPrompts: simulatedPrompts }),
      ...(rmEpochs === undefined ? {} : { train: { epochs: rmEpochs } }),
    },
    ppo: {
      reward: ppoReward,
      ...(ppoIterations === undefined ? {} : { iterations: ppoIterations }),
      ...(ppoEvalEvery === undefined ? {} : { evalEvery: ppoEvalEvery, checkpointEvery: ppoEvalEvery }),
      ...(ppoEvalPrompts === undefined ? {} : { evalPrompts: ppoEvalPrompts }),
      ppo: {
        ...(ptxCoef === undefined ? {} : { ptxCoef }),
        ...(ppoLr === undefined ? {} : { lr: ppoLr }),
        ...(klCoef === undefined ? {} : { initKlCoef: klCoef }),
      },
    },
  });
  const total = (performance.now() - started) / 1000;

  printRunSummary(r, { backend, totalSeconds: total, fromScratch: flag("from-scratch"), ppoReward });
  // The methods at equal KL, when `deno task frontier` has measured them (the committed sweep by default).
  const frontierPath = (quick ? FRONTIER_QUICK.pointsPath : undefined) ?? FRONTIER_DEFAULTS.pointsPath;
  const rewardModelsPer = rmPer && humanLabels ? await fitRewardModelsPer(rmPer, r.checkpointDirs.sft, humanLabels) : undefined;
  const reportPaths = await writeReport(r, str("report") ?? (quick ? "reports/quick" : "reports/latest"), {
    backend,
    totalSeconds: total,
    options: values,
    frontier: { path: frontierPath, points: await readPoints(frontierPath) },
    bench: recordOfBuild(await readBenchRecord(), kernelsBuild()), // rates of these kernels only
    ...(rewardModelsPer ? { rewardModelsPer } : {}),
  });
  const dirs = r.checkpointDirs;
  const trained = [...(flag("from-scratch") ? [dirs.pretrain] : []), dirs.sft, dirs.rm, dirs.ppo, ...methods.map((m) => dirs[m])];
  console.log(`\ncheckpoints: ${trained.map((d) => `${d}/`).join(", ")} (HF layout + vocab.txt); rank lists: data/labels/`);
  console.log(`report: ${reportPaths.html} (offline HTML), numbers: ${reportPaths.metrics}`);
  disposePipelineResult(r);
});

/** One reward model per labeler (or session) from the run's SFT model: accuracy on its own lists and on everyone else's. */
async function fitRewardModelsPer(per: "labeler" | "session", sftDir: string, files: readonly string[]): Promise<RewardModelsPer> {
  const sft = await loadPretrained(sftDir);
  try {
    const { lists } = await loadLabelFiles(files);
    const by = per === "session" ? (l: RankRecord) => l.session ?? "(no session)" : (l: RankRecord) => l.labeler;
    const result = { per, rows: await rewardModelRowsBy(sft, sft.tokenizer!, lists, { by }) };
    console.log(`\nReward models from ${sftDir}, ${perGroupLines(result).join("\n")}`);
    return result;
  } finally {
    disposeGPT2(sft);
  }
}

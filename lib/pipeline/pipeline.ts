/**
 * The chapter's pipeline as one call: the shipped base (or a model pretrained
 * from scratch) → SFT → rankings + reward model → PPO → evaluation on
 * held-out prompts with the gold scorer.
 * `deno task rlhf` and the notebooks call it.
 */
import { cloneGPT2, disposeGPT2 } from "../gpt2/init.ts";
import { disposePolicy } from "../ppo/policy.ts";
import { disposeRewardModel } from "../reward/reward_model.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { DEFAULT_TASK, loadTask } from "../tasks/registry.ts";
import type { SftExample, Task } from "../tasks/types.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import type { TrainHistory } from "../train/trainer.ts";
import { PRETRAIN_QUICK, type PretrainOptions, type PretrainResult, runPretrainStage } from "./pretrain_stage.ts";
import { loadPretrained } from "../pretrained.ts";
import { DPO_STAGE_QUICK, type DpoStageOptions, type DpoStageResult, runDpoStage } from "./dpo_stage.ts";
import { GROUP_STAGE_QUICK, groupOnPpoTerms, type GroupStageOptions, type GroupStageResult, runGroupStage } from "./group_stage.ts";
import type { GroupMethod } from "../group/group_advantages.ts";

import { checkpointFingerprint } from "../checkpoint/fingerprint.ts";
import { BASE_MODEL_DIR } from "./base_export.ts";
import { runSftStage, SFT_QUICK, type SftOptions } from "./sft_stage.ts";
import { checkpointDirs, type StageName } from "./checkpoint_dirs.ts";
import { checkSftVocabulary, loadSftJsonl } from "../data/sft_jsonl.ts";
import { lockOrRefuse } from "../file_lock.ts";
import { hashText } from "../hash.ts";
import { REWARD_STAGE_QUICK, type RewardStageOptions, type RewardStageResult, runRewardStage } from "./reward_stage.ts";
import type { PPOConfig } from "../ppo/ppo_config.ts";
import { PPO_STAGE_QUICK, type PPOStageOptions, type PPOStageResult, ppoStartedFrom, runPPOStage } from "./ppo_stage.ts";
import { type FinalEvaluation, finalEvaluation, type MethodRow, type OtherMethod } from "./final_evaluation.ts";
import { loadPolicyFor, policyRowNames } from "./policy_rows.ts";
import { StageTimer, type StageTiming } from "./stage_timer.ts";
import { platform } from "../platform/platform.ts";

export { type MethodRow, type MethodSummary, OTHER_METHODS, type OtherMethod } from "./final_evaluation.ts";
export type { StageTiming } from "./stage_timer.ts";

export interface PipelineOptions {
  /** Task name. @default "poetry-zh" */
  readonly task: string;
  /** A first try in about a minute (fewer steps, fewer prompts). @default false */
  readonly quick: boolean;
  readonly pretrain: Partial<PretrainOptions>;
  readonly sft: Partial<SftOptions>;
  readonly reward: Partial<RewardStageOptions>;
  readonly ppo: Partial<PPOStageOptions>;
  /**
   * Methods run beside PPO, on the same rank lists / reward model and the same held-out evaluation:
   * DPO (no reward model, no sampling), RLOO and GRPO (online, a group baseline instead of a value head).
   * @default [] (PPO alone, the chapter's method)
   */
  readonly methods: readonly OtherMethod[];
  /**
   * Outside GPT-2 policy directories (one an engine trained from `deno task export`'s bundle, or any checkpoint of
   * the SFT model's vocabulary), each evaluated as a row beside the methods: "policy:<directory name>". @default []
   */
  readonly policies: readonly string[];
  readonly dpo: Partial<DpoStageOptions>;
  readonly group: Partial<GroupStageOptions>;
  /** Held-out prompts answered before/after (the gains are paired over them). @default all of the task's (quick: 16) */
  readonly evalPrompts?: number;
  /**
   * Answers sampled per held-out prompt and model. PPO's gain in gold score is
   * about 0.01, and one answer per prompt leaves a standard error of about
   * 0.005 on 600 prompts: several answers make the comparison tell.
   * @default 4 (quick: 1)
   */
  readonly evalAnswersPerPrompt?: number;
  /**
   * Top-p of the evaluation's sampling. @default 1: the full distribution at temperature 1, the one
   * PPO sampled and optimised (top-p 0.9 hides some of SFT's mistakes that PPO learns to avoid)
   */
  readonly topP: number;
  /**
   * The GPT-2 directory in the HF layout (with its tokenizer files) that SFT
   * starts from, e.g. `uer/gpt2-chinese-cluecorpussmall` as the book does.
   * @default the shipped base, models/gpt2-poetry-zh
   */
  readonly initFrom?: string;
  /**
   * Your own SFT conversations (a JSONL file, see lib/data/sft_jsonl.ts) instead of the task's; the reward
   * model and PPO still use the task's requests and preference.
   */
  readonly sftDataPath?: string;
  /** Pretrain a small model on the task's corpus first (minutes) instead of starting from a directory. @default false */
  readonly fromScratch: boolean;
  /** Longest answer sampled in the evaluation. @default 96 */
  readonly evalMaxNewTokens?: number;
  /** Where rank lists are appended. @default data/labels/<task>-simulated.jsonl (quick: under the checkpoint root) */
  readonly labelsPath?: string;
  /** Root of the checkpoint directories. One run at a time writes it (a second is refused). @default "checkpoints" */
  readonly checkpointRoot: string;
  /**
   * Delete the checkpoints of the stages this run trains before it starts, so that every stage is trained
   * again (rank lists of the same SFT model are still reused). @default false
   */
  readonly fresh: boolean;
  readonly quiet?: boolean;
}

/**
 * What `deno task rlhf` runs: every field of `PipelineOptions` at its default.
 *
 * @example
 * ```ts
 * import { PIPELINE_DEFAULTS } from "rlhf";
 * PIPELINE_DEFAULTS.methods; // []: PPO alone, the chapter's method
 * ```
 */
export const PIPELINE_DEFAULTS: Readonly<PipelineOptions> = Object.freeze({
  task: DEFAULT_TASK,
  quick: false,
  pretrain: {},
  sft: {},
  reward: {},
  ppo: {},
  methods: [],
  policies: [],
  dpo: {},
  group: {},
  topP: 1,
  fromScratch: false,
  checkpointRoot: "checkpoints",
  fresh: false,
});

/**
 * The sizes of `--quick`, a first run in about a minute: each stage's own *_QUICK, and fewer held-out answers.
 *
 * @example
 * ```ts
 * import { PIPELINE_QUICK } from "rlhf";
 * PIPELINE_QUICK.ppo.iterations; // 2: runPipeline({ quick: true }) runs each stage at its *_QUICK size
 * ```
 */
export const PIPELINE_QUICK = Object.freeze({
  pretrain: PRETRAIN_QUICK,
  sft: SFT_QUICK,
  reward: REWARD_STAGE_QUICK,
  ppo: PPO_STAGE_QUICK,
  dpo: DPO_STAGE_QUICK,
  group: GROUP_STAGE_QUICK,
  evalPrompts: 16,
  evalAnswersPerPrompt: 1,
}) satisfies Partial<PipelineOptions>;

export interface PipelineResult extends FinalEvaluation {
  readonly task: Task;
  readonly tokenizer: Tokenizer;
  /** The SFT model (the caller disposes it). */
  readonly model: GPT2Model;
  /** The weights SFT started from: "<base directory name>@<hash>" or the from-scratch pretraining's checkpoint. */
  readonly startedFrom: string;
  readonly pretrainHistory: TrainHistory;
  readonly sftHistory: TrainHistory;
  readonly skippedTooLong: number;
  /** The reward model (the caller disposes it) and how well it learned the rankings. */
  readonly reward: RewardStageResult;
  /** The PPO policy (the caller disposes it), its history and SFT-vs-PPO evaluation. */
  readonly ppo: PPOStageResult;
  /** The DPO policy (when DPO ran; the caller disposes it) and its history. */
  readonly dpo?: DpoStageResult;
  /** The RLOO / GRPO policies (when they ran; the caller disposes them) and their histories. */
  readonly group: Partial<Record<GroupMethod, GroupStageResult>>;
  /** The outside policies evaluated beside the methods (`policies`; the caller disposes them). */
  readonly outside: readonly { readonly row: MethodRow; readonly dir: string; readonly lm: GPT2Model }[];
  readonly timings: StageTiming[];
  /** Where each stage's checkpoint is (those of stages that did not run are where they would be). */
  readonly checkpointDirs: Record<StageName, string>;
}

/**
 * Runs the pipeline with `overrides` of PIPELINE_DEFAULTS. The checkpoint root is locked for the whole run:
 * a second run on the same root (another terminal, a notebook) is refused instead of overwriting this one's
 * checkpoints half-way.
 *
 * @example
 * ```ts
 * import { initBackend, runPipeline } from "rlhf";
 * await initBackend(); // the fast kernels: a stage on the pure-JavaScript backend is many times slower
 * const r = await runPipeline({ quick: true, checkpointRoot: await Deno.makeTempDir() }); // deno task rlhf --quick
 * r.ppo.after.gold; // PPO's held-out gold score; also r.reward.heldoutAccuracy, r.timings, …
 * ```
 */
export async function runPipeline(overrides: Partial<PipelineOptions> = {}): Promise<PipelineResult> {
  const o = { ...PIPELINE_DEFAULTS, ...overrides };
  if (o.fromScratch && o.initFrom) throw new Error("runPipeline: fromScratch and initFrom exclude each other");
  const lock = await lockOrRefuse(
    o.checkpointRoot,
    (pid) =>
      `${o.checkpointRoot}: another run${pid ? ` (process ${pid})` : ""} is writing these checkpoints; ` +
      "wait for it to end, or give this run a checkpoint root of its own (--checkpoint-root DIR)",
  );
  try {
    if (o.fresh) await removeStageCheckpoints(o);
    return await runStages(o);
  } finally {
    lock.release();
  }
}

/** The checkpoint directory of every stage. */
function stageDirs(o: PipelineOptions): Record<StageName, string> {
  const defaultDirs = checkpointDirs(o.checkpointRoot, {
    quick: o.quick,
    ppo: { reward: o.ppo.reward, iterations: o.ppo.iterations, ...o.ppo.ppo },
  });
  return { ...defaultDirs, rm: o.reward.checkpointDir ?? defaultDirs.rm, ppo: o.ppo.checkpointDir ?? defaultDirs.ppo };
}

/** `fresh`: removes the checkpoints of the stages this run trains; one that cannot be removed stops the run, naming it. */
async function removeStageCheckpoints(o: PipelineOptions): Promise<void> {
  const dirs = stageDirs(o);
  const stages: StageName[] = [...(o.fromScratch ? ["pretrain" as const] : []), "sft", "rm", "ppo", ...o.methods];
  for (const stage of stages) {
    try {
      await platform().remove(dirs[stage], { recursive: true });
      if (!o.quiet) console.log(`[rlhf] fresh: removed ${dirs[stage]}/`);
    } catch (err) {
      if (platform().isNotFound(err)) continue;
      throw new Error(`${dirs[stage]}: could not remove it to start afresh (${(err as Error).message})`);
    }
  }
}

/** The stages one after the other, then the final evaluation. */
async function runStages(o: PipelineOptions): Promise<PipelineResult> {
  const s = stageOptions(o);
  const timer = new StageTimer();
  const task = await loadTask(o.task);
  const start = await startingModel(o, { task, timer, pretrain: s.pretrain, pretrainDir: s.dirs.pretrain });
  const { tokenizer, startedFrom, ownSftData } = start;
  const pretrainedOnly = cloneGPT2(start.model, { trainable: false });
  // SFT fine-tunes the base's weights in place: from here on they are the SFT model, the start of the
  // reward model and of PPO's policy, value model and frozen reference.
  const sftModel = start.model;
  try {
    const sft = await timer.time(
      "sft",
      () => runSftStage(sftModel, tokenizer, task, { startedFrom, ...(ownSftData ? { examples: ownSftData } : {}), ...s.sft }),
    );
    const reward = await timer.time("reward model", () => runRewardStage(sftModel, tokenizer, task, s.dirs.sft, s.reward));
    const sftFingerprint = await checkpointFingerprint(s.dirs.sft);
    const startedFromSftAndRm = await ppoStartedFrom(s.dirs.sft, s.dirs.rm);
    const ppo = await timer.time(
      "ppo",
      () => runPPOStage(sftModel, tokenizer, task, reward.rm, { startedFrom: startedFromSftAndRm, ...s.ppo }),
    );
    const dpo = o.methods.includes("dpo")
      ? await timer.time("dpo", () => runDpoStage(sftModel, tokenizer, reward.lists, { startedFrom: sftFingerprint, ...s.dpo }))
      : undefined;
    const group: Partial<Record<GroupMethod, GroupStageResult>> = {};
    for (const method of (["rloo", "grpo"] as const).filter((m) => o.methods.includes(m))) {
      group[method] = await timer.time(
        method,
        () => runGroupStage(sftModel, tokenizer, task, reward.rm, { startedFrom: startedFromSftAndRm, ...s.group(method, ppo.config) }),
      );
    }
    const outside: { row: MethodRow; dir: string; lm: GPT2Model }[] = [];
    const names = policyRowNames(o.policies);
    for (const [i, dir] of o.policies.entries()) {
      outside.push({ row: `policy:${names[i]}`, dir, lm: await loadPolicyFor(dir, { task, sft: sftModel, tokenizer, rm: reward.rm }) });
    }
    const others: [MethodRow, GPT2Model][] = [
      ...(dpo ? [["dpo", dpo.policy] as [MethodRow, GPT2Model]] : []),
      ...Object.entries(group).map(([m, r]) => [m, r!.lm] as [MethodRow, GPT2Model]),
      ...outside.map((p) => [p.row, p.lm] as [MethodRow, GPT2Model]),
    ];
    const evaluation = await finalEvaluation(
      { task, tokenizer, pretrained: pretrainedOnly, sft: sftModel, ppo, others, rm: reward.rm },
      { requests: s.evalPrompts, answersPerRequest: s.evalAnswersPerPrompt, topP: o.topP, maxNewTokens: o.evalMaxNewTokens, timer },
    );
    return {
      task,
      tokenizer,
      model: sftModel,
      startedFrom,
      pretrainHistory: start.history,
      sftHistory: sft.history,
      skippedTooLong: sft.skippedTooLong,
      ...evaluation,
      reward,
      ppo,
      dpo,
      group,
      outside,
      timings: timer.timings,
      checkpointDirs: s.dirs,
    };
  } finally {
    disposeGPT2(pretrainedOnly);
  }
}

/**
 * What each stage runs with: its checkpoint directory, `--quick`'s sizes (PIPELINE_QUICK) when asked, then
 * the caller's overrides. What depends on an earlier stage's result (what a stage started from) is added
 * where the stage runs.
 */
function stageOptions(o: PipelineOptions) {
  const q = o.quick ? PIPELINE_QUICK : undefined;
  const dirs = stageDirs(o);
  const quiet = o.quiet;
  return {
    dirs,
    pretrain: { checkpointDir: dirs.pretrain, quiet, ...q?.pretrain, ...o.pretrain, train: { ...q?.pretrain.train, ...o.pretrain.train } },
    sft: { checkpointDir: dirs.sft, quiet, ...q?.sft, ...o.sft, train: { ...q?.sft.train, ...o.sft.train } },
    reward: { checkpointDir: dirs.rm, labelsPath: o.labelsPath, quiet, ...q?.reward, ...o.reward },
    ppo: { checkpointDir: dirs.ppo, quiet, ...q?.ppo, ...o.ppo, ppo: { ...q?.ppo.ppo, ...o.ppo.ppo } },
    dpo: { checkpointDir: dirs.dpo, quiet, ...q?.dpo, ...o.dpo, dpo: { ...q?.dpo.dpo, ...o.dpo.dpo } },
    // RLOO and GRPO on PPO's terms (groupOnPpoTerms).
    group: (method: GroupMethod, ppo: PPOConfig) => ({
      checkpointDir: dirs[method],
      quiet,
      ...q?.group,
      ...o.group,
      group: { ...groupOnPpoTerms(method, ppo), ...o.group.group },
    }),
    evalPrompts: o.evalPrompts ?? q?.evalPrompts,
    evalAnswersPerPrompt: o.evalAnswersPerPrompt ?? q?.evalAnswersPerPrompt ?? 4,
  };
}

/**
 * The model SFT starts from: pretrained on the task's corpus (`fromScratch`) or loaded from a directory.
 * `startedFrom` names it and your own SFT data (read, and checked against its vocabulary, before the first
 * stage), so that SFT never resumes a run that started elsewhere.
 */
async function startingModel(
  o: PipelineOptions,
  run: { task: Task; timer: StageTimer; pretrain: Partial<PretrainOptions>; pretrainDir: string },
): Promise<PretrainResult & { startedFrom: string; ownSftData?: SftExample[] }> {
  const ownSftData = o.sftDataPath ? await loadSftJsonl(o.sftDataPath) : undefined;
  const initDir = o.initFrom ?? BASE_MODEL_DIR;
  const base = o.fromScratch
    ? await run.timer.time("pretrain", () => runPretrainStage(run.task, run.pretrain))
    : await loadInitialModel(initDir);
  if (ownSftData) checkOwnSftData(o.sftDataPath!, ownSftData, base);
  const startedFrom = [
    await checkpointFingerprint(o.fromScratch ? run.pretrainDir : initDir),
    ...(ownSftData ? [`sft data ${hashText(JSON.stringify(ownSftData)).toString(16)}`] : []),
  ].join(" + ");
  return { ...base, startedFrom, ownSftData };
}

/** Your own SFT data against the starting model's vocabulary: a warning for a few unknown characters, an error (the model freed) for many. */
function checkOwnSftData(path: string, examples: readonly SftExample[], base: PretrainResult): void {
  let warning: string | undefined;
  try {
    warning = checkSftVocabulary(path, examples, base.tokenizer);
  } catch (err) {
    disposeGPT2(base.model);
    throw err;
  }
  if (warning) console.warn(`warning: ${warning}`);
}

/** A loaded HF GPT-2 directory in place of the pretraining stage. */
async function loadInitialModel(dir: string): Promise<PretrainResult> {
  const { tokenizer, ...model } = await loadPretrained(dir);
  if (!tokenizer) {
    for (const v of Object.values(model.params)) v.dispose();
    throw new Error(`${dir}: no tokenizer files (vocab.txt, or vocab.json + merges.txt) next to the weights`);
  }
  return { model, tokenizer, history: { train: [], eval: [] } };
}

/**
 * Frees every model a run returns: the SFT model, PPO's policy, the reward model, DPO's, the group methods' and the outside policies.
 *
 * @example
 * ```ts
 * import { disposePipelineResult, initBackend, runPipeline } from "rlhf";
 * await initBackend();
 * const r = await runPipeline({ quick: true });
 * console.log(r.ppo.after.gold);
 * disposePipelineResult(r); // every model of the run freed
 * ```
 */
export function disposePipelineResult(r: PipelineResult): void {
  disposePolicy(r.ppo.policy);
  disposeRewardModel(r.reward.rm);
  if (r.dpo) disposeGPT2(r.dpo.policy);
  for (const g of Object.values(r.group)) disposeGPT2(g!.lm);
  for (const p of r.outside) disposeGPT2(p.lm);
  disposeGPT2(r.model);
}

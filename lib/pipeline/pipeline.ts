/**
 * The chapter's pipeline as one call: the shipped base (or a model pretrained
 * from scratch) → SFT → rankings + reward model → PPO → evaluation on
 * held-out prompts with the gold scorer.
 * `deno task rlhf` and the notebooks call it.
 */
import { SEEDS } from "./seeds.ts";
import { cloneGPT2, disposeGPT2 } from "../gpt2/init.ts";
import { disposePolicy } from "../ppo/policy.ts";
import { disposeRewardModel } from "../reward/reward_model.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { inRounds, meanPerRequest, type PairedDifference, pairedDifference } from "../eval/paired_difference.ts";
import { sampleAndScore, type ScoredSample, summariseScores } from "../eval/sample_and_score.ts";
import { DEFAULT_TASK, loadTask } from "../tasks/registry.ts";
import type { Task } from "../tasks/types.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import type { TrainHistory } from "../train/trainer.ts";
import { type PretrainOptions, type PretrainResult, runPretrainStage } from "./pretrain_stage.ts";
import { loadPretrained } from "../pretrained.ts";
import { bestOfN, bestOfNKl } from "../eval/best_of_n.ts";
import { evaluatePolicy, rewardModelScores } from "../eval/policy_eval.ts";
import { type DpoStageOptions, type DpoStageResult, runDpoStage } from "./dpo_stage.ts";
import { type GroupStageOptions, type GroupStageResult, runGroupStage } from "./group_stage.ts";
import type { GroupMethod } from "../group/group_advantages.ts";

import { checkpointFingerprint } from "../checkpoint/fingerprint.ts";
import { BASE_MODEL_DIR } from "./base_export.ts";
import { runSftStage, type SftOptions } from "./sft_stage.ts";
import { checkpointDirs, type StageName } from "./checkpoint_dirs.ts";
import { checkSftVocabulary, loadSftJsonl } from "../data/sft_jsonl.ts";
import { lockHolder, tryLockFile } from "../file_lock.ts";
import { hashText } from "../hash.ts";
import { type RewardStageOptions, type RewardStageResult, runRewardStage } from "./reward_stage.ts";
import { type PPOStageOptions, type PPOStageResult, ppoStartedFrom, runPPOStage } from "./ppo_stage.ts";

/** The methods that can run beside PPO. */
export type OtherMethod = "dpo" | GroupMethod;
export const OTHER_METHODS: readonly OtherMethod[] = ["dpo", "rloo", "grpo"];

/** One method beside PPO, on the same held-out requests. */
export interface MethodSummary {
  scores: ReturnType<typeof summariseScores>;
  /** Gold, request by request: this method − SFT. */
  gain: PairedDifference;
  /** This method − PPO. */
  overPpo: PairedDifference;
  /** On PPO's held-out view (the same requests, seed and sampling as PPO's own evaluation). */
  view: { gold: number; rm: number; kl: number };
  /** Training wall time. */
  seconds: number;
  samples: ScoredSample[];
}

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

export const PIPELINE_DEFAULTS: Readonly<PipelineOptions> = Object.freeze({
  task: DEFAULT_TASK,
  quick: false,
  pretrain: {},
  sft: {},
  reward: {},
  ppo: {},
  methods: [],
  dpo: {},
  group: {},
  topP: 1,
  fromScratch: false,
  checkpointRoot: "checkpoints",
  fresh: false,
});

/** The sizes of `--quick`: a first run in about a minute. */
const QUICK = {
  pretrain: { train: { steps: 40, evalEvery: 20, checkpointEvery: 20 } },
  sft: { train: { steps: 40, evalEvery: 20, checkpointEvery: 20 } },
  reward: { trainPrompts: 16, heldoutPrompts: 8 },
  ppo: {
    iterations: 2,
    evalPrompts: 8,
    evalEvery: 2,
    sampleEvery: 1,
    checkpointEvery: 2,
    ppo: { batchSize: 8, miniBatchSize: 4, maxNewTokens: 48 },
  },
  evalPrompts: 16,
  evalAnswersPerPrompt: 1,
};

export interface StageTiming {
  readonly stage: string;
  readonly seconds: number;
}

export interface PipelineResult {
  readonly task: Task;
  readonly tokenizer: Tokenizer;
  /** The SFT model (the caller disposes it). */
  readonly model: GPT2Model;
  /** The weights SFT started from: "<base directory name>@<hash>" or the from-scratch pretraining's checkpoint. */
  readonly startedFrom: string;
  readonly pretrainHistory: TrainHistory;
  readonly sftHistory: TrainHistory;
  readonly skippedTooLong: number;
  /**
   * The same held-out prompts answered, with the same sampling, by the pretrained-only, the SFT and the PPO model:
   * `summary.answersPerRequest` rounds of the `summary.requests` prompts, one round after the other (the
   * pretrained-only model one round: its gap to SFT is thirty times its standard error, and its answers, which
   * never end, cost the most to sample).
   */
  readonly before: ScoredSample[];
  readonly after: ScoredSample[];
  readonly afterPpo: ScoredSample[];
  readonly summary: {
    pretrained: ReturnType<typeof summariseScores>;
    sft: ReturnType<typeof summariseScores>;
    ppo: ReturnType<typeof summariseScores>;
    requests: number;
    answersPerRequest: number;
    /** Gold score, request by request (each request's mean over its answers): SFT − pretrained and PPO − SFT, with standard errors. */
    sftGain: PairedDifference;
    ppoGain: PairedDifference;
    /**
     * Best-of-n (n = answers per request): the reward model picks one of the SFT model's n answers to each
     * request. Its gold score, its gain over SFT (paired), PPO's gain over it, and its KL to SFT (closed form).
     * Undefined with one answer per request.
     */
    bestOfN?: {
      n: number;
      kl: number;
      scores: ReturnType<typeof summariseScores>;
      gain: PairedDifference;
      ppoOverIt: PairedDifference;
      picks: ScoredSample[];
    };
    /** Share of answers in each class of the task's preference (e.g. bright / even / sorrowful), per model. */
    preferenceClasses?: {
      pretrained: Record<string, number>;
      sft: Record<string, number>;
      ppo: Record<string, number>;
      bestOfN?: Record<string, number>;
    } & Partial<Record<OtherMethod, Record<string, number>>>;
    /** Each method beside PPO: gold on the same requests, its gain over SFT and over PPO, RM score / KL on PPO's held-out view. */
    methods: Partial<Record<OtherMethod, MethodSummary>>;
  };
  /** The reward model (the caller disposes it) and how well it learned the rankings. */
  readonly reward: RewardStageResult;
  /** The PPO policy (the caller disposes it), its history and SFT-vs-PPO evaluation. */
  readonly ppo: PPOStageResult;
  /** The DPO policy (when DPO ran; the caller disposes it) and its history. */
  readonly dpo?: DpoStageResult;
  /** The RLOO / GRPO policies (when they ran; the caller disposes them) and their histories. */
  readonly group: Partial<Record<GroupMethod, GroupStageResult>>;
  readonly timings: StageTiming[];
  /** Where each stage's checkpoint is (those of stages that did not run are where they would be). */
  readonly checkpointDirs: Record<StageName, string>;
}

/**
 * Runs the pipeline with `overrides` of PIPELINE_DEFAULTS. The checkpoint root is locked for the whole run:
 * a second run on the same root (another terminal, a notebook) is refused instead of overwriting this one's
 * checkpoints half-way.
 */
export async function runPipeline(overrides: Partial<PipelineOptions> = {}): Promise<PipelineResult> {
  const o = { ...PIPELINE_DEFAULTS, ...overrides };
  if (o.fromScratch && o.initFrom) throw new Error("runPipeline: fromScratch and initFrom exclude each other");
  const lock = await tryLockFile(o.checkpointRoot);
  if (!lock) {
    const pid = await lockHolder(o.checkpointRoot);
    throw new Error(
      `${o.checkpointRoot}: another run${pid ? ` (process ${pid})` : ""} is writing these checkpoints; ` +
        "wait for it to end, or give this run a checkpoint root of its own (--checkpoint-root DIR)",
    );
  }
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
      await Deno.remove(dirs[stage], { recursive: true });
      if (!o.quiet) console.log(`[rlhf] fresh: removed ${dirs[stage]}/`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw new Error(`${dirs[stage]}: could not remove it to start afresh (${(err as Error).message})`);
    }
  }
}

async function runStages(o: PipelineOptions): Promise<PipelineResult> {
  const quick = o.quick ? QUICK : undefined;
  const timings: StageTiming[] = [];
  const timed = async <T>(stage: string, run: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const result = await run();
    timings.push({ stage, seconds: (performance.now() - start) / 1000 });
    return result;
  };
  const dirs = stageDirs(o);
  const task = await loadTask(o.task);
  // Your own SFT data is read (and any malformed line reported) before the first stage.
  const ownSftData = o.sftDataPath ? await loadSftJsonl(o.sftDataPath) : undefined;
  const pretrainDir = dirs.pretrain;
  const initDir = o.initFrom ?? BASE_MODEL_DIR;
  const base = o.fromScratch
    ? await timed("pretrain", () =>
      runPretrainStage(task, {
        checkpointDir: pretrainDir,
        quiet: o.quiet,
        ...o.pretrain,
        train: { ...quick?.pretrain.train, ...o.pretrain.train },
      }))
    : await loadInitialModel(initDir);
  const tokenizer = base.tokenizer;
  if (ownSftData) {
    let warning: string | undefined;
    try {
      warning = checkSftVocabulary(o.sftDataPath!, ownSftData, tokenizer);
    } catch (err) {
      disposeGPT2(base.model);
      throw err;
    }
    if (warning) console.warn(`warning: ${warning}`);
  }
  // SFT records which weights (and which data of your own) it started from, so that it never resumes a run that started elsewhere.
  const startedFrom = [
    await checkpointFingerprint(o.fromScratch ? pretrainDir : initDir),
    ...(ownSftData ? [`sft data ${hashText(JSON.stringify(ownSftData)).toString(16)}`] : []),
  ].join(" + ");
  const pretrainedOnly = cloneGPT2(base.model, { trainable: false });
  // SFT fine-tunes the base's weights in place: from here on they are the SFT model, the start of the
  // reward model and of PPO's policy, value model and frozen reference.
  const sftModel = base.model;
  const sftDir = dirs.sft;
  try {
    const sft = await timed("sft", () =>
      runSftStage(sftModel, tokenizer, task, {
        checkpointDir: sftDir,
        startedFrom,
        quiet: o.quiet,
        ...(ownSftData ? { examples: ownSftData } : {}),
        ...o.sft,
        train: { ...quick?.sft.train, ...o.sft.train },
      }));
    const rmDir = dirs.rm;
    const reward = await timed("reward model", () =>
      runRewardStage(sftModel, tokenizer, task, sftDir, {
        checkpointDir: rmDir,
        labelsPath: o.labelsPath,
        quiet: o.quiet,
        ...quick?.reward,
        ...o.reward,
      }));
    const sftFingerprint = await checkpointFingerprint(sftDir);
    const startedFromSftAndRm = await ppoStartedFrom(sftDir, rmDir);
    const ppo = await timed("ppo", () =>
      runPPOStage(sftModel, tokenizer, task, reward.rm, {
        checkpointDir: dirs.ppo,
        startedFrom: startedFromSftAndRm,
        quiet: o.quiet,
        ...quick?.ppo,
        ...o.ppo,
        ppo: { ...quick?.ppo.ppo, ...o.ppo.ppo },
      }));
    const dpo = o.methods.includes("dpo")
      ? await timed("dpo", () =>
        runDpoStage(sftModel, tokenizer, reward.lists, {
          checkpointDir: dirs.dpo,
          startedFrom: sftFingerprint,
          quiet: o.quiet,
          ...o.dpo,
          dpo: { ...(quick ? { epochs: 1, pairsPerStep: 4 } : {}), ...o.dpo.dpo },
        }))
      : undefined;
    const group: Partial<Record<GroupMethod, GroupStageResult>> = {};
    for (const method of (["rloo", "grpo"] as const).filter((m) => o.methods.includes(m))) {
      group[method] = await timed(method, () =>
        runGroupStage(sftModel, tokenizer, task, reward.rm, {
          checkpointDir: dirs[method],
          startedFrom: startedFromSftAndRm,
          quiet: o.quiet,
          ...(quick ? { iterations: 2, promptsPerIteration: 2, evalPrompts: 8, evalEvery: 2 } : {}),
          ...o.group,
          // On PPO's terms (its learning rate and answer length, also when they are changed for PPO); the KL
          // enters as each method's paper has it: RLOO in the reward, GRPO as a loss term.
          group: {
            maxNewTokens: ppo.config.maxNewTokens,
            lr: ppo.config.lr,
            method,
            klIn: method === "rloo" ? "reward" : "loss",
            ...o.group.group,
          },
        }));
    }
    const heldout = task.prompts("heldout", 0).slice(0, o.evalPrompts ?? quick?.evalPrompts);
    const rounds = o.evalAnswersPerPrompt ?? quick?.evalAnswersPerPrompt ?? 4;
    const prompts = inRounds(heldout, rounds);
    const sampling = { topP: o.topP, seed: SEEDS.finalEvaluation, maxNewTokens: o.evalMaxNewTokens };
    const [before, after, afterPpo] = await timed("evaluate", async () => [
      await sampleAndScore(pretrainedOnly, tokenizer, task, heldout, sampling),
      await sampleAndScore(sftModel, tokenizer, task, prompts, sampling),
      await sampleAndScore(ppo.policy.lm, tokenizer, task, prompts, sampling),
    ]);
    const n = heldout.length;
    const methods: Partial<Record<OtherMethod, MethodSummary>> = {};
    const others: [OtherMethod, GPT2Model][] = [
      ...(dpo ? [["dpo", dpo.policy] as [OtherMethod, GPT2Model]] : []),
      ...Object.entries(group).map(([m, r]) => [m, r!.lm] as [OtherMethod, GPT2Model]),
    ];
    for (const [method, lm] of others) {
      const samples = await timed(`evaluate ${method}`, () => sampleAndScore(lm, tokenizer, task, prompts, sampling));
      const ppoView = task.prompts("heldout", 0).slice(0, ppo.after.samples.length);
      const view = await evaluatePolicy(lm, sftModel, reward.rm, tokenizer, task, ppoView, {
        sampling: ppo.config.sampling,
        maxNewTokens: ppo.config.maxNewTokens,
        seed: SEEDS.heldoutView,
      });
      methods[method] = {
        scores: summariseScores(samples),
        gain: pairedDifference(perRequest(after, n), perRequest(samples, n)),
        overPpo: pairedDifference(perRequest(afterPpo, n), perRequest(samples, n)),
        view: { gold: view.gold, rm: view.rm, kl: view.kl },
        seconds: timings.find((t) => t.stage === method)?.seconds ?? 0,
        samples,
      };
    }
    let bestOf: NonNullable<PipelineResult["summary"]["bestOfN"]> | undefined;
    if (rounds >= 2) {
      const rewards = await rewardModelScores(reward.rm, tokenizer, after);
      const picks = bestOfN(rewards, n).map((i) => after[i]);
      const totals = picks.map((s) => s.score.total);
      bestOf = {
        n: rounds,
        kl: bestOfNKl(rounds),
        scores: summariseScores(picks),
        gain: pairedDifference(perRequest(after, n), totals),
        ppoOverIt: pairedDifference(totals, perRequest(afterPpo, n)),
        picks,
      };
    }
    const classOf = task.preference?.classOf;
    const shares = (samples: ScoredSample[]) => classShares(samples.map((s) => classOf!(s.response)));
    const preferenceClasses = classOf
      ? {
        pretrained: shares(before),
        sft: shares(after),
        ppo: shares(afterPpo),
        ...(bestOf ? { bestOfN: shares(bestOf.picks) } : {}),
        ...Object.fromEntries(Object.entries(methods).map(([m, v]) => [m, shares(v!.samples)])),
      }
      : undefined;
    return {
      task,
      tokenizer,
      model: sftModel,
      startedFrom,
      pretrainHistory: base.history,
      sftHistory: sft.history,
      skippedTooLong: sft.skippedTooLong,
      before,
      after,
      afterPpo,
      summary: {
        pretrained: summariseScores(before),
        sft: summariseScores(after),
        ppo: summariseScores(afterPpo),
        requests: heldout.length,
        answersPerRequest: rounds,
        sftGain: pairedDifference(perRequest(before, heldout.length), perRequest(after, heldout.length)),
        ppoGain: pairedDifference(perRequest(after, heldout.length), perRequest(afterPpo, heldout.length)),
        bestOfN: bestOf,
        preferenceClasses,
        methods,
      },
      reward,
      ppo,
      dpo,
      group,
      timings,
      checkpointDirs: dirs,
    };
  } finally {
    disposeGPT2(pretrainedOnly);
  }
}

/** Share of each class among the answers, classes in alphabetical order. */
function classShares(classes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of classes) counts[c] = (counts[c] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).map(([c, k]) => [c, k / Math.max(1, classes.length)]));
}

/** Each request's mean gold score over its answers. */
const perRequest = (samples: ScoredSample[], requests: number) => meanPerRequest(samples.map((s) => s.score.total), requests);

/** A loaded HF GPT-2 directory in place of the pretraining stage. */
async function loadInitialModel(dir: string): Promise<PretrainResult> {
  const { tokenizer, ...model } = await loadPretrained(dir);
  if (!tokenizer) {
    for (const v of Object.values(model.params)) v.dispose();
    throw new Error(`${dir}: no tokenizer files (vocab.txt, or vocab.json + merges.txt) next to the weights`);
  }
  return { model, tokenizer, history: { train: [], eval: [] } };
}

/** Frees every model a run returns: the SFT model, PPO's policy, the reward model, DPO's and the group methods' policies. */
export function disposePipelineResult(r: PipelineResult): void {
  disposePolicy(r.ppo.policy);
  disposeRewardModel(r.reward.rm);
  if (r.dpo) disposeGPT2(r.dpo.policy);
  for (const g of Object.values(r.group)) disposeGPT2(g!.lm);
  disposeGPT2(r.model);
}

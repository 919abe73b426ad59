/**
 * Step 3 of RLHF: PPO against the reward model (or, as the book's
 * "classifier as reward" option, the task's gold scorer), with a KL penalty
 * to the frozen SFT model. Logs the usual statistics every iteration, a few
 * samples every `sampleEvery` iterations, and held-out gold / RM / KL every
 * `evalEvery` iterations; checkpoints every `checkpointEvery` (resumable).
 */
import { SEEDS } from "./seeds.ts";
import { checkpointFingerprint } from "../checkpoint/fingerprint.ts";
import { cloneGPT2, disposeGPT2 } from "../gpt2/init.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { sampleAndScore } from "../eval/sample_and_score.ts";
import { type PolicyEvaluation, rewardModelScores } from "../eval/policy_eval.ts";
import { AdaptiveKLController, FixedKLController } from "../ppo/kl.ts";
import { type PPOConfig, resolvePPOConfig } from "../ppo/ppo_config.ts";
import { createPolicy, createPolicyOptimizer, disposePolicy, type Policy } from "../ppo/policy.ts";
import { ppoIteration, type PPOStats } from "../ppo/ppo_step.ts";
import { tensorFile } from "../run/run_directory.ts";
import { type HeldoutViewOptions, type OnlineHistory, type OnlineMethod, runOnlineRL } from "./online_rl.ts";
import { inRounds } from "../eval/paired_difference.ts";
import { type RewardModel, standardisation } from "../reward/reward_model.ts";
import type { Task, TaskPrompt } from "../tasks/types.ts";
import { encodePrompt, endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { encodeSftExamples, randomSftBatches } from "../data/sft_batches.ts";

export interface PPOStageOptions extends HeldoutViewOptions {
  /** PPO iterations. @default 30 */
  readonly iterations: number;
  /**
   * "rm": the trained reward model (the chapter); "gold": the task's scorer directly, shifted and
   * scaled like the reward model (mean 0, std 1 on the SFT model's answers to training prompts) so
   * that β means the same for both. @default "rm"
   */
  readonly reward: "rm" | "gold";
  /** PPO's own settings, over PPO_DEFAULTS. @default {} */
  readonly ppo: Partial<PPOConfig>;
  /** Held-out prompts for the periodic and final evaluation. @default 128 */
  readonly evalPrompts: number;
  /** @default 10 */
  readonly evalEvery: number;
  /** @default 5 */
  readonly sampleEvery: number;
  /** @default 10 */
  readonly checkpointEvery: number;
  /** @default "checkpoints/ppo" */
  readonly checkpointDir: string;
  /**
   * Names the SFT model and reward model PPO starts from (their fingerprints): part of the run's
   * identity, so a checkpoint of PPO on other models is refused instead of resumed.
   */
  readonly startedFrom?: string;
  /** Stop after this iteration as if the process were killed (for tests and teaching). */
  readonly stopAfterIteration?: number;
  readonly quiet?: boolean;
}

/**
 * What the PPO stage runs by default.
 *
 * @example
 * ```ts
 * import { PPO_STAGE_DEFAULTS } from "rlhf";
 * PPO_STAGE_DEFAULTS.iterations; // 30 iterations of PPO_DEFAULTS.batchSize = 64 answers
 * ```
 */
export const PPO_STAGE_DEFAULTS: Readonly<PPOStageOptions> = Object.freeze({
  iterations: 30,
  reward: "rm",
  ppo: {}, // PPO_DEFAULTS (lib/ppo/ppo_config.ts)
  evalPrompts: 128,
  evalEvery: 10,
  sampleEvery: 5,
  checkpointEvery: 10,
  checkpointDir: "checkpoints/ppo",
});

/**
 * The sizes of `deno task rlhf --quick` (and of the notebooks' quick run): a first try in seconds.
 *
 * @example
 * ```ts
 * import { PPO_STAGE_QUICK } from "rlhf";
 * PPO_STAGE_QUICK.iterations; // 2, of PPO_STAGE_QUICK.ppo.batchSize = 8 answers
 * ```
 */
export const PPO_STAGE_QUICK: Readonly<Partial<PPOStageOptions>> = Object.freeze({
  iterations: 2,
  evalPrompts: 8,
  evalEvery: 2,
  sampleEvery: 1,
  checkpointEvery: 2,
  ppo: Object.freeze({ batchSize: 8, miniBatchSize: 4, maxNewTokens: 48 }),
});

/**
 * What a PPO run starts from, as its checkpoint records it: the fingerprints of the SFT model's and the
 * reward model's checkpoints (the pipeline and notebook 03 record the same, so either resumes the other's run).
 *
 * @example
 * ```ts
 * import { ppoStartedFrom } from "rlhf";
 * await ppoStartedFrom("checkpoints/sft", "checkpoints/rm"); // "sft@… + rm@…": part of the PPO run's identity
 * ```
 */
export async function ppoStartedFrom(sftDir: string, rmDir: string): Promise<string> {
  return `${await checkpointFingerprint(sftDir)} + ${await checkpointFingerprint(rmDir)}`;
}

/** PPO's training record: statistics per iteration, held-out rows (iteration 0 = the SFT model), a few samples. */
export type PPOHistory = OnlineHistory<PPOStats>;

export interface PPOStageResult {
  readonly policy: Policy;
  /** The PPO settings this run used (defaults filled in). */
  readonly config: PPOConfig;
  readonly history: PPOHistory;
  readonly before: PolicyEvaluation;
  readonly after: PolicyEvaluation;
  /** Wall time spent training this run, over every session that trained it. */
  readonly trainingSeconds: number;
  /** The run was finished already: this session loaded it. */
  readonly reused: boolean;
}

/**
 * PPO from the SFT model against the reward model (or the gold scorer), in the online-RL loop: held-out views
 * before, during and after, resumable checkpoints.
 *
 * @example
 * ```ts
 * import { initBackend, loadPretrained, loadRewardModel, loadTask, PPO_STAGE_QUICK, ppoStartedFrom, runPPOStage } from "rlhf";
 * await initBackend(); // the fast kernels: a stage on the pure-JavaScript backend is many times slower
 * const sft = await loadPretrained("checkpoints/sft"); // written by deno task rlhf
 * const rm = await loadRewardModel("checkpoints/rm");
 * const task = await loadTask();
 * const result = await runPPOStage(sft, sft.tokenizer!, task, rm, {
 *   ...PPO_STAGE_QUICK,
 *   checkpointDir: `${await Deno.makeTempDir()}/ppo`,
 *   startedFrom: await ppoStartedFrom("checkpoints/sft", "checkpoints/rm"),
 * });
 * result.after.gold - result.before.gold; // the held-out gold score gained over SFT
 * ```
 */
export async function runPPOStage(
  sft: GPT2Model,
  tokenizer: Tokenizer,
  task: Task,
  rm: RewardModel,
  overrides: Partial<PPOStageOptions> = {},
): Promise<PPOStageResult> {
  const o = { ...PPO_STAGE_DEFAULTS, ...overrides, ppo: { ...PPO_STAGE_DEFAULTS.ppo, ...overrides.ppo } };
  const config = resolvePPOConfig(o.ppo);
  const policy = createPolicy(sft);
  const reference = cloneGPT2(sft, { trainable: false });
  const optimizer = createPolicyOptimizer(policy, config);
  const kl = config.klTarget
    ? new AdaptiveKLController(config.initKlCoef, config.klTarget, config.klHorizon)
    : new FixedKLController(config.initKlCoef);
  const trainPrompts = task.prompts("train", config.seed + SEEDS.trainRequestOrder);
  try {
    // PPO-ptx: a batch of the task's SFT conversations in every minibatch.
    const ptxBatches = config.ptxCoef > 0
      ? randomSftBatches(
        encodeSftExamples(task.sftExamples("train", config.seed + SEEDS.ptxConversations), tokenizer, sft.config.n_positions).encoded,
        {
          batchSize: config.ptxBatchSize,
          seed: config.seed + SEEDS.ptxConversations,
          padId: tokenizer.eosId,
        },
      )
      : undefined;
    const goldScale = o.reward === "gold" ? await goldNormalisation(reference, tokenizer, task, trainPrompts, config) : undefined;
    const valueHead = { "value.weight": policy.value.weight, "value.bias": policy.value.bias };
    const ppo: OnlineMethod<PPOStats, { klCoef: number }> = {
      name: "ppo",
      lm: policy.lm,
      optimizer,
      promptsPerIteration: config.batchSize,
      step: async (prompts, iteration, rng, rewardFor) => {
        const result = await ppoIteration({
          policy,
          reference,
          optimizer,
          klController: kl,
          prompts: prompts.map((p) => encodePrompt(p.messages, tokenizer)),
          reward: rewardFor(prompts),
          config,
          stopId: endOfTurnId(tokenizer),
          padId: tokenizer.eosId,
          rng,
          ptx: ptxBatches && { batches: ptxBatches, iteration },
        });
        return { ...result, answered: prompts };
      },
      state: () => ({ klCoef: kl.value }),
      restore: async (state, run) => {
        kl.value = state.klCoef;
        await run.restoreTensors(VALUE_HEAD_FILE, valueHead);
      },
      files: async () => ({ [VALUE_HEAD_FILE]: await tensorFile(valueHead) }),
      barValues: (stats) => ({
        score: stats["objective/scores"].toFixed(3),
        kl: stats["objective/kl"].toFixed(2),
        beta: kl.value.toFixed(3),
      }),
    };
    const { history, before, after, trainingSeconds, reused } = await runOnlineRL(ppo, {
      endViews: true,
      tokenizer,
      task,
      reference,
      rm,
      score: async (pairs) =>
        goldScale
          ? pairs.map((p) => goldScale.gain * task.score(p.prompt, p.response).total + goldScale.bias)
          : await rewardModelScores(rm, tokenizer, pairs),
      trainPrompts,
      heldout: inRounds(task.prompts("heldout", 0).slice(0, o.evalPrompts), o.evalAnswers ?? 1),
      evalOptions: { sampling: config.sampling, maxNewTokens: config.maxNewTokens, seed: SEEDS.heldoutView },
      seed: config.seed,
      iterations: o.iterations,
      evalEvery: o.evalEvery,
      sampleEvery: o.sampleEvery,
      checkpointEvery: o.checkpointEvery,
      checkpointDir: o.checkpointDir,
      identity: { ...config, reward: o.reward, iterations: o.iterations, started_from: o.startedFrom },
      stopAfterIteration: o.stopAfterIteration,
      onView: o.onView,
      referenceView: o.referenceView,
      quiet: o.quiet,
    });
    return { policy, config, history, before: before!, after: after!, trainingSeconds, reused };
  } catch (err) {
    disposePolicy(policy);
    throw err;
  } finally {
    optimizer.dispose();
    disposeGPT2(reference);
  }
}

/** The policy's value head beside its GPT-2 weights. */
const VALUE_HEAD_FILE = "value_head.safetensors";

/**
 * The reward model's shift and scale for the gold score: mean 0, std 1 over the SFT model's answers
 * to 128 training prompts (the same prompts and seed every time, so a resumed run gets the same numbers).
 */
async function goldNormalisation(sft: GPT2Model, tokenizer: Tokenizer, task: Task, prompts: readonly TaskPrompt[], config: PPOConfig) {
  const samples = await sampleAndScore(sft, tokenizer, task, prompts.slice(0, 128), {
    ...config.sampling,
    maxNewTokens: config.maxNewTokens,
    seed: SEEDS.goldNormalisation,
  });
  return standardisation(samples.map((s) => s.score.total));
}

/**
 * RLOO or GRPO beside PPO: the SFT model trained online against the same
 * reward model with a group baseline instead of a value head
 * (lib/group/group_step.ts), in the online-RL loop PPO runs in (online_rl.ts):
 * the same requests, reward, held-out view, checkpoints and resume rule.
 */
import { SEEDS } from "./seeds.ts";
import { cloneGPT2, disposeGPT2 } from "../gpt2/init.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { rewardModelScores } from "../eval/policy_eval.ts";
import { GROUP_BETA, GROUP_DEFAULTS, type GroupConfig, groupIteration, type GroupStats } from "../group/group_step.ts";
import type { GroupMethod } from "../group/group_advantages.ts";
import type { PPOConfig } from "../ppo/ppo_config.ts";
import type { RewardModel } from "../reward/reward_model.ts";
import type { Task } from "../tasks/types.ts";
import { encodePrompt, endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { AdamW } from "../train/adamw.ts";
import { type HeldoutViewOptions, type OnlineHistory, type OnlineMethod, runOnlineRL } from "./online_rl.ts";
import { inRounds } from "../eval/paired_difference.ts";

export interface GroupStageOptions extends HeldoutViewOptions {
  /** @default 30 (as PPO) */
  readonly iterations: number;
  /** Prompts per iteration; each is answered `group.groupSize` times. @default 16 (× 4 = PPO's 64 answers) */
  readonly promptsPerIteration: number;
  readonly group: Partial<GroupConfig>;
  /** Held-out prompts of the periodic evaluation (as PPO's). @default 128 */
  readonly evalPrompts: number;
  /** @default 10 */
  readonly evalEvery: number;
  /** A resumable checkpoint every this many iterations (as PPO's). @default 10 */
  readonly checkpointEvery: number;
  readonly checkpointDir: string;
  /** Stop after this iteration as if the process were killed, with its checkpoint written (tests). */
  readonly stopAfterIteration?: number;
  /** Names the SFT model and reward model (their fingerprints): part of the run's identity. */
  readonly startedFrom?: string;
  readonly seed: number;
  readonly quiet?: boolean;
}

/**
 * What the RLOO and GRPO stages run by default (GROUP_DEFAULTS).
 *
 * @example
 * ```ts
 * import { GROUP_STAGE_DEFAULTS } from "rlhf";
 * GROUP_STAGE_DEFAULTS.promptsPerIteration; // 16 requests × 4 answers: PPO's 64 answers an iteration
 * ```
 */
export const GROUP_STAGE_DEFAULTS: Readonly<Omit<GroupStageOptions, "checkpointDir">> = Object.freeze({
  iterations: 30,
  promptsPerIteration: 16,
  group: {},
  evalPrompts: 128,
  evalEvery: 10,
  checkpointEvery: 10,
  seed: 0,
});

/**
 * The sizes of `deno task rlhf --quick` (and of the notebooks' quick run): a first try in seconds.
 *
 * @example
 * ```ts
 * import { GROUP_STAGE_QUICK, type PipelineOptions } from "rlhf";
 * const options: Partial<PipelineOptions> = { methods: ["rloo", "grpo"], group: GROUP_STAGE_QUICK }; // beside PPO, at --quick's size
 * ```
 */
export const GROUP_STAGE_QUICK: Readonly<Partial<GroupStageOptions>> = Object.freeze({
  iterations: 2,
  promptsPerIteration: 2,
  evalPrompts: 8,
  evalEvery: 2,
});

/** An RLOO/GRPO run's record, as PPO's: statistics per iteration, held-out rows, a few samples. */
export type GroupHistory = OnlineHistory<GroupStats>;

export interface GroupStageResult {
  /** The trained policy (the caller disposes it). */
  readonly lm: GPT2Model;
  readonly config: Readonly<GroupConfig>;
  readonly history: GroupHistory;
  /** The last held-out view of the run (taken after its last iteration): gold, reward-model score, KL to SFT. */
  readonly after: { gold: number; rm: number; kl: number };
  /** Wall time spent training this run, over every session that trained it. */
  readonly trainingSeconds: number;
  /** The run was finished already: this session loaded it. */
  readonly reused: boolean;
}

/**
 * RLOO or GRPO on PPO's terms: PPO's learning rate and answer length (also when they are changed for PPO),
 * the KL where each method's paper puts it (RLOO in the reward, GRPO as a loss term) and each method's β
 * (GROUP_BETA).
 *
 * @example
 * ```ts
 * import { groupOnPpoTerms } from "rlhf";
 * groupOnPpoTerms("rloo", { lr: 1e-4, maxNewTokens: 80 }); // { method: "rloo", lr: 0.0001, maxNewTokens: 80, klIn: "reward", beta: 0.1 }
 * ```
 */
export function groupOnPpoTerms(method: GroupMethod, ppo: Pick<PPOConfig, "lr" | "maxNewTokens">): Partial<GroupConfig> {
  return { method, lr: ppo.lr, maxNewTokens: ppo.maxNewTokens, klIn: method === "rloo" ? "reward" : "loss", beta: GROUP_BETA[method] };
}

/**
 * RLOO or GRPO from the SFT model against the reward model, in the online-RL loop PPO runs in.
 *
 * @example
 * ```ts
 * import { GROUP_STAGE_QUICK, initBackend, loadPretrained, loadRewardModel, loadTask, runGroupStage } from "rlhf";
 * await initBackend(); // the fast kernels: a stage on the pure-JavaScript backend is many times slower
 * const sft = await loadPretrained("checkpoints/sft"); // written by deno task rlhf
 * const rm = await loadRewardModel("checkpoints/rm");
 * const task = await loadTask();
 * const { after } = await runGroupStage(sft, sft.tokenizer!, task, rm, {
 *   ...GROUP_STAGE_QUICK,
 *   group: { method: "rloo" },
 *   checkpointDir: `${await Deno.makeTempDir()}/rloo`,
 * });
 * after.gold; // RLOO's held-out gold score
 * ```
 */
export async function runGroupStage(
  sft: GPT2Model,
  tokenizer: Tokenizer,
  task: Task,
  rm: RewardModel,
  overrides: Partial<GroupStageOptions> & { checkpointDir: string },
): Promise<GroupStageResult> {
  const o = { ...GROUP_STAGE_DEFAULTS, ...overrides };
  const config: GroupConfig = { ...GROUP_DEFAULTS, ...o.group };
  const lm = cloneGPT2(sft, { trainable: true });
  const reference = cloneGPT2(sft, { trainable: false });
  const optimizer = new AdamW(lm.params, { weightDecay: 0 });
  try {
    const G = config.groupSize;
    const group: OnlineMethod<GroupStats, Record<string, never>> = {
      name: config.method,
      lm,
      optimizer,
      promptsPerIteration: o.promptsPerIteration,
      step: async (prompts, _iteration, rng, rewardFor) => {
        const answered = prompts.flatMap((p) => Array.from({ length: G }, () => p)); // each request G times, group by group
        const result = await groupIteration({
          lm,
          reference,
          optimizer,
          prompts: prompts.map((p) => encodePrompt(p.messages, tokenizer)),
          reward: rewardFor(answered),
          config,
          stopId: endOfTurnId(tokenizer),
          padId: tokenizer.eosId,
          rng,
        });
        return { ...result, answered };
      },
      state: () => ({}),
      restore: () => Promise.resolve(),
      files: () => Promise.resolve({}),
      barValues: (stats) => ({ score: stats["objective/scores"].toFixed(3), kl: stats["objective/kl"].toFixed(2) }),
    };
    const { history, trainingSeconds, reused } = await runOnlineRL(group, {
      tokenizer,
      task,
      reference,
      rm,
      score: (pairs) => rewardModelScores(rm, tokenizer, pairs),
      trainPrompts: task.prompts("train", o.seed + SEEDS.trainRequestOrder),
      heldout: inRounds(task.prompts("heldout", 0).slice(0, o.evalPrompts), o.evalAnswers ?? 1),
      evalOptions: { sampling: config.sampling, maxNewTokens: config.maxNewTokens, seed: SEEDS.heldoutView },
      seed: o.seed + SEEDS.groupSampling,
      iterations: o.iterations,
      evalEvery: o.evalEvery,
      sampleEvery: o.evalEvery,
      checkpointEvery: o.checkpointEvery,
      checkpointDir: o.checkpointDir,
      identity: { ...config, iterations: o.iterations, prompts: o.promptsPerIteration, seed: o.seed, started_from: o.startedFrom },
      stopAfterIteration: o.stopAfterIteration,
      onView: o.onView,
      referenceView: o.referenceView,
      quiet: o.quiet,
    });
    const last = history.eval.at(-1)!; // the policy's last held-out view: the loop takes one after the last iteration
    return { lm, config, history, after: { gold: last.gold, rm: last.rm, kl: last.kl }, trainingSeconds, reused };
  } catch (err) {
    disposeGPT2(lm);
    throw err;
  } finally {
    optimizer.dispose();
    disposeGPT2(reference);
  }
}

/**
 * RLOO or GRPO beside PPO: the SFT model trained online against the same
 * reward model with a group baseline instead of a value head
 * (lib/ppo/group_step.ts), evaluated on the same held-out view as PPO. The
 * finished policy is saved in the HF layout; a run with the same SFT model,
 * reward model and settings loads it instead of training again (a killed run
 * starts this stage over).
 */
import { SEEDS } from "./seeds.ts";
import { cloneGPT2, disposeGPT2 } from "../gpt2/init.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { evaluatePolicy, type HeldoutRow, heldoutRow, type PolicyEvaluation, rewardModelScores } from "../eval/policy_eval.ts";
import { GROUP_DEFAULTS, type GroupConfig, groupIteration, type GroupStats } from "../ppo/group_step.ts";
import type { RewardModel } from "../reward/reward_model.ts";
import type { Task } from "../tasks/types.ts";
import { decodeReply, encodePrompt, endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { AdamW } from "../train/adamw.ts";
import { ProgressBar } from "../train/progress.ts";
import { Rng } from "../rng.ts";
import { RunDirectory } from "../run/run_directory.ts";

export interface GroupStageOptions {
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

export const GROUP_STAGE_DEFAULTS: Readonly<Omit<GroupStageOptions, "checkpointDir">> = Object.freeze({
  iterations: 30,
  promptsPerIteration: 16,
  group: {},
  evalPrompts: 128,
  evalEvery: 10,
  checkpointEvery: 10,
  seed: 0,
});

export interface GroupHistory {
  stats: (GroupStats & { iteration: number })[];
  eval: HeldoutRow[];
}

export interface GroupStageResult {
  /** The trained policy (the caller disposes it). */
  readonly lm: GPT2Model;
  readonly config: Readonly<GroupConfig>;
  readonly history: GroupHistory;
  readonly after: { gold: number; rm: number; kl: number };
}

export async function runGroupStage(
  sft: GPT2Model,
  tokenizer: Tokenizer,
  task: Task,
  rm: RewardModel,
  overrides: Partial<GroupStageOptions> & { checkpointDir: string },
): Promise<GroupStageResult> {
  const o = { ...GROUP_STAGE_DEFAULTS, ...overrides };
  const config: GroupConfig = { ...GROUP_DEFAULTS, ...o.group };
  const run = new RunDirectory(o.checkpointDir, config.method, {
    ...config,
    iterations: o.iterations,
    prompts: o.promptsPerIteration,
    seed: o.seed,
    started_from: o.startedFrom,
  });
  const lm = cloneGPT2(sft, { trainable: true });
  const reference = cloneGPT2(sft, { trainable: false });
  const optimizer = new AdamW(lm.params, { weightDecay: 0 });
  try {
    // A finished run is reused; a run killed part-way resumes from its last checkpoint: weights, optimizer, sampling RNG and history.
    const saved = await run.open<GroupProgress>();
    if (saved) await run.restore(lm.params, optimizer);
    if (saved?.finished) {
      if (!o.quiet) console.log(`${config.method}: loaded ${o.checkpointDir} (already trained with these settings)`);
      return { lm, config, history: saved.progress.history, after: saved.progress.after! };
    }
    if (saved && !o.quiet) console.log(`${config.method}: resuming ${o.checkpointDir} at iteration ${saved.progress.iteration}`);
    const resumed = saved?.progress;
    const trainPrompts = task.prompts("train", o.seed + SEEDS.trainRequestOrder);
    const heldout = task.prompts("heldout", 0).slice(0, o.evalPrompts);
    const evalOptions = { sampling: config.sampling, maxNewTokens: config.maxNewTokens, seed: SEEDS.heldoutView };
    const rng = resumed ? Rng.fromState(resumed.rngState) : new Rng(o.seed + SEEDS.groupSampling);
    const history: GroupHistory = resumed?.history ?? {
      stats: [],
      eval: [heldoutRow(0, await evaluatePolicy(reference, reference, rm, tokenizer, task, heldout, evalOptions))],
    };
    const start = resumed?.iteration ?? 0;
    const bar = o.quiet ? undefined : new ProgressBar({ total: o.iterations - start, label: config.method, unit: "it" });
    let last: PolicyEvaluation | undefined;
    for (let it = start; it < o.iterations; it++) {
      const batch = Array.from(
        { length: o.promptsPerIteration },
        (_, i) => trainPrompts[(it * o.promptsPerIteration + i) % trainPrompts.length],
      );
      const G = config.groupSize;
      const result = await groupIteration({
        lm,
        reference,
        optimizer,
        prompts: batch.map((p) => encodePrompt(p.messages, tokenizer)),
        reward: (idx, responses) =>
          rewardModelScores(
            rm,
            tokenizer,
            idx.map((i) => ({ prompt: batch[Math.floor(i / G)], response: decodeReply(responses[i], tokenizer).text })),
          ),
        config,
        stopId: endOfTurnId(tokenizer),
        padId: tokenizer.eosId,
        rng,
      });
      const done = it + 1;
      const broken = Object.entries(result.stats).filter(([, v]) => !Number.isFinite(v)).map(([k, v]) => `${k} = ${v}`);
      if (broken.length) throw new Error(`${config.method} diverged at iteration ${done}: ${broken.join(", ")} (nothing saved)`);
      history.stats.push({ ...result.stats, iteration: done });
      if (done % o.evalEvery === 0 || done === o.iterations) {
        last = await evaluatePolicy(lm, reference, rm, tokenizer, task, heldout, evalOptions);
        history.eval.push(heldoutRow(done, last));
      }
      if (done !== o.iterations && (done % o.checkpointEvery === 0 || done === o.stopAfterIteration)) {
        await run.save(
          { model: lm, optimizer, tokenizer },
          { iteration: done, rngState: rng.state(), history },
          {
            finished: false,
          },
        );
      }
      if (done === o.stopAfterIteration) {
        throw new Error(`${config.method}: stopped after iteration ${done} as asked (stopAfterIteration); its checkpoint resumes the run`);
      }
      bar?.update(done - start, {
        tokens: done,
        extra: { score: result.stats["objective/scores"].toFixed(3), kl: result.stats["objective/kl"].toFixed(2) },
      });
    }
    bar?.finish();
    const after = { gold: last!.gold, rm: last!.rm, kl: last!.kl };
    await run.save({ model: lm, optimizer, tokenizer }, {
      iteration: o.iterations,
      rngState: rng.state(),
      history,
      after,
    }, {
      finished: true,
    });
    return { lm, config, history, after };
  } catch (err) {
    disposeGPT2(lm);
    throw err;
  } finally {
    optimizer.dispose();
    disposeGPT2(reference);
    run.close();
  }
}

/** What an RLOO/GRPO run saves: the next iteration, the sampling RNG, the history, and (finished) the last evaluation. */
interface GroupProgress {
  iteration: number;
  rngState: number;
  history: GroupHistory;
  after?: GroupStageResult["after"];
}

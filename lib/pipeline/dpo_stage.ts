/**
 * DPO beside PPO: the SFT model trained directly on the same rank lists the
 * reward model learned from (their untied pairs), against the frozen SFT
 * model, with no reward model and no sampling. The finished policy is saved
 * in the HF layout; a run with the same SFT model, lists and settings loads it
 * instead of training again.
 */
import { cloneGPT2, disposeGPT2 } from "../gpt2/init.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { type DpoConfig, type DpoHistory, type DpoHooks, resolveDpoConfig, trainDpo } from "../dpo/train_dpo.ts";
import { preferencePairs } from "../dpo/preference_pairs.ts";
import { rankListsFingerprint, type RankRecord } from "../reward/labels.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { RunDirectory } from "../run/run_directory.ts";

export interface DpoStageOptions {
  readonly dpo: Partial<DpoConfig>;
  /** @default "checkpoints/dpo" */
  readonly checkpointDir: string;
  /** Names the SFT model (its fingerprint): part of the run's identity. */
  readonly startedFrom?: string;
  /** Called after each optimiser step (the frontier evaluates the policy along the run). */
  readonly afterStep?: DpoHooks["afterStep"];
  /** The SFT model's log-probs shared by DPO runs over the same lists (a β sweep); its model must be `sft`. */
  readonly referenceLogprobs?: DpoHooks["referenceLogprobs"];
  readonly quiet?: boolean;
}

/**
 * What the DPO stage runs by default (DPO_DEFAULTS).
 *
 * @example
 * ```ts
 * import { DPO_STAGE_DEFAULTS } from "rlhf";
 * DPO_STAGE_DEFAULTS.checkpointDir; // "checkpoints/dpo"
 * ```
 */
export const DPO_STAGE_DEFAULTS: Readonly<DpoStageOptions> = Object.freeze({ dpo: {}, checkpointDir: "checkpoints/dpo" });

/**
 * The sizes of `deno task rlhf --quick` (and of the notebooks' quick run): a first try in seconds.
 *
 * @example
 * ```ts
 * import { DPO_STAGE_QUICK, type PipelineOptions } from "rlhf";
 * const options: Partial<PipelineOptions> = { methods: ["dpo"], dpo: DPO_STAGE_QUICK }; // DPO beside PPO, at --quick's size
 * ```
 */
export const DPO_STAGE_QUICK: Readonly<Partial<DpoStageOptions>> = Object.freeze({ dpo: Object.freeze({ epochs: 1, pairsPerStep: 4 }) });

export interface DpoStageResult {
  /** The trained policy (the caller disposes it). */
  readonly policy: GPT2Model;
  readonly history: DpoHistory;
  readonly config: Readonly<DpoConfig>;
  readonly pairs: number;
  /** Wall time spent training this run, over every session that trained it. */
  readonly trainingSeconds: number;
  /** The run was finished already: this session loaded it. */
  readonly reused: boolean;
}

export async function runDpoStage(
  sft: GPT2Model,
  tokenizer: Tokenizer,
  lists: readonly RankRecord[],
  overrides: Partial<DpoStageOptions> = {},
): Promise<DpoStageResult> {
  const o = { ...DPO_STAGE_DEFAULTS, ...overrides };
  const config = resolveDpoConfig({ ...o.dpo, quiet: o.quiet });
  const pairs = preferencePairs(lists);
  const { quiet: _, ...settings } = config;
  const run = new RunDirectory(o.checkpointDir, "dpo", { ...settings, lists: rankListsFingerprint(lists), started_from: o.startedFrom });
  const policy = cloneGPT2(sft, { trainable: true });
  try {
    const saved = await run.open<{ history: DpoHistory }>();
    if (saved?.finished) {
      await run.restore(policy.params);
      if (!o.quiet) console.log(`dpo: loaded ${o.checkpointDir} (already trained on these ${pairs.length} pairs)`);
      return { policy, history: saved.progress.history, config, pairs: pairs.length, trainingSeconds: run.trainingSeconds, reused: true };
    }
    const history = await trainDpo(policy, sft, tokenizer, pairs, config, {
      afterStep: o.afterStep,
      referenceLogprobs: o.referenceLogprobs,
    });
    await run.save({ model: policy, tokenizer }, { history }, { finished: true });
    return { policy, history, config, pairs: pairs.length, trainingSeconds: run.trainingSeconds, reused: false };
  } catch (err) {
    disposeGPT2(policy);
    throw err;
  } finally {
    run.close();
  }
}

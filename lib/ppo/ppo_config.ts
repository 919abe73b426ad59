/**
 * PPO hyper-parameters. The defaults are the ones `deno task rlhf` runs; the runs that chose them, each with
 * its command, are in docs/RESULTS.md. Where lm-human-preferences / TRL use another value, the comment says so.
 */
import type { SamplingOptions } from "../generate/sampling.ts";
import type { KlEstimator } from "../rollout/kl_estimators.ts";

export interface PPOConfig {
  /** Prompts (rollouts) per iteration. @default 64 */
  readonly batchSize: number;
  /** Rollouts per gradient step. @default 16 */
  readonly miniBatchSize: number;
  /** Passes over each rollout batch. @default 2 (TRL: 4) */
  readonly ppoEpochs: number;
  /** Learning rate of the policy. @default 1e-4 (TRL: 1e-5, for models a hundred times larger) */
  readonly lr: number;
  /** Clip range ε of the ratio. @default 0.2 */
  readonly clipRange: number;
  /** Clip range of the value prediction. @default 0.2 */
  readonly clipRangeValue: number;
  /** Weight of the value loss. @default 0.1 */
  readonly vfCoef: number;
  /**
   * Learning-rate multiplier of the zero-initialised value head. Adam's step
   * does not grow with the gradient, so `vfCoef` cannot speed the head up: at
   * the policy's lr (1e-5…1e-4) its bias needs thousands of steps to reach
   * the scale of the returns, and meanwhile GAE (λ < 1) bootstraps from
   * values that say nothing. @default 10
   */
  readonly valueHeadLrScale: number;
  /** Discount γ of the returns (GAE), per token. @default 1 */
  readonly gamma: number;
  /**
   * GAE λ. @default 1 (TRL: 0.95): the value head starts at zero, and λ = 0.95 would give the first line
   * of an 8-line poem only 0.95^60 ≈ 0.05 of the final score.
   */
  readonly lambda: number;
  /** Initial β of the KL penalty. @default 0.05 (TRL: 0.05; lm-human-preferences: 0.1) */
  readonly initKlCoef: number;
  /** Adaptive β: target KL per sequence (nats); undefined = fixed β. @default 6 */
  readonly klTarget?: number;
  /** Adaptive β horizon (samples): over 30 × 64 answers β stays within a few per cent of its start. @default 10000 */
  readonly klHorizon: number;
  /** @default "k1" */
  readonly klEstimator: KlEstimator;
  /** Subtracted from the score of a response that never produced the stop token. @default 1 */
  readonly noEndPenalty: number;
  /** Scores are clipped to [−scoreClip, scoreClip] (0 = no clipping). @default 0 */
  readonly scoreClip: number;
  /** Stop an iteration's epochs early when approx KL of a minibatch exceeds this. @default 0.1 */
  readonly maxApproxKl: number;
  /**
   * The coefficient c_ptx of InstructGPT's "PPO-ptx" (the paper's γ, renamed so as not to be confused with the
   * discount γ): each minibatch also takes c_ptx × the next-token loss of a batch of
   * supervised examples (InstructGPT: pretraining data; here the SFT conversations), so that what the
   * reward model does not look at (e.g. how many lines a poem has) stays as SFT taught it. 0 = off. @default 1
   */
  readonly ptxCoef: number;
  /** Supervised examples per minibatch for PPO-ptx. @default 8 */
  readonly ptxBatchSize: number;
  /** @default 1 */
  readonly gradClip: number;
  /** Longest response (an 8-line 七言 poem is 69 tokens). @default 80 */
  readonly maxNewTokens: number;
  /** How responses are sampled (and so how their log-probs are computed). @default temperature 1 */
  readonly sampling: SamplingOptions;
  /** @default 0 */
  readonly seed: number;
}

/**
 * Every field of `PPOConfig` at its default: what `deno task rlhf` runs.
 *
 * @example
 * ```ts
 * import { PPO_DEFAULTS } from "rlhf";
 * const { batchSize, initKlCoef, klTarget } = PPO_DEFAULTS; // 64 answers an iteration; β starts at 0.05, adapted towards 6 nats
 * ```
 */
export const PPO_DEFAULTS: Readonly<PPOConfig> = Object.freeze({
  batchSize: 64,
  miniBatchSize: 16,
  ppoEpochs: 2,
  lr: 1e-4,
  clipRange: 0.2,
  clipRangeValue: 0.2,
  vfCoef: 0.1,
  gamma: 1,
  lambda: 1,
  initKlCoef: 0.05,
  klTarget: 6,
  valueHeadLrScale: 10,
  klHorizon: 10000,
  klEstimator: "k1",
  noEndPenalty: 1,
  scoreClip: 0,
  maxApproxKl: 0.1,
  ptxCoef: 1,
  ptxBatchSize: 8,
  gradClip: 1,
  maxNewTokens: 80,
  sampling: Object.freeze({ temperature: 1 }),
  seed: 0,
});

/**
 * Checks overrides of `PPO_DEFAULTS` and returns a new frozen config; errors name the field.
 *
 * @example
 * ```ts
 * import { resolvePPOConfig } from "rlhf";
 * const config = resolvePPOConfig({ batchSize: 8, miniBatchSize: 4, maxNewTokens: 16 });
 * // resolvePPOConfig({ batchSize: 8, miniBatchSize: 3 }) throws "PPOConfig.miniBatchSize: 3 must divide batchSize 8"
 * ```
 */
export function resolvePPOConfig(overrides: Partial<PPOConfig> = {}): Readonly<PPOConfig> {
  const c = { ...PPO_DEFAULTS, ...overrides };
  for (const key of ["batchSize", "miniBatchSize", "ppoEpochs", "maxNewTokens", "ptxBatchSize"] as const) {
    if (!Number.isInteger(c[key]) || c[key] <= 0) throw new Error(`PPOConfig.${key}: expected a positive integer, got ${c[key]}`);
  }
  if (c.batchSize % c.miniBatchSize !== 0) {
    throw new Error(`PPOConfig.miniBatchSize: ${c.miniBatchSize} must divide batchSize ${c.batchSize}`);
  }
  if (!(c.lr > 0)) throw new Error(`PPOConfig.lr: expected > 0, got ${c.lr}`);
  if (!(c.valueHeadLrScale > 0)) throw new Error(`PPOConfig.valueHeadLrScale: expected > 0, got ${c.valueHeadLrScale}`);
  if (!(c.clipRange > 0)) throw new Error(`PPOConfig.clipRange: expected > 0, got ${c.clipRange}`);
  if (!(c.ptxCoef >= 0)) throw new Error(`PPOConfig.ptxCoef: expected ≥ 0, got ${c.ptxCoef}`);
  if (c.klEstimator !== "k1" && c.klEstimator !== "k3") {
    throw new Error(`PPOConfig.klEstimator: expected "k1" or "k3", got ${c.klEstimator}`);
  }
  // No option may be ±Infinity or NaN: a non-finite number turns every weight into NaN a few steps later.
  for (const [key, value] of Object.entries(c)) {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error(`PPOConfig.${key}: expected a finite number, got ${value}`);
  }
  return Object.freeze(c);
}

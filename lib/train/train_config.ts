/** The settings of a training run (pretraining, SFT) and the history it records. */

/** Hyper-parameters of one training run. */
export interface TrainConfig {
  /** Optimiser steps in the whole run. @default 1000 */
  readonly steps: number;
  /** Peak learning rate, reached after warmup. @default 1e-3 */
  readonly maxLr: number;
  /** Learning rate at the end of the cosine decay. @default 1e-4 */
  readonly minLr: number;
  /** Steps of linear warmup from 0 to maxLr. @default 50 */
  readonly warmupSteps: number;
  /** Decoupled weight decay on matrices and embeddings. @default 0.1 */
  readonly weightDecay: number;
  /** Adam β1, β2. @default [0.9, 0.95] */
  readonly betas: readonly [number, number];
  /** Clip the global gradient norm to this (0 = no clipping). @default 1.0 */
  readonly gradClip: number;
  /** Evaluate every this many steps (and at the end). @default 100 */
  readonly evalEvery: number;
  /** Checkpoint every this many steps (and at the end) when a directory is given. @default 200 */
  readonly checkpointEvery: number;
  /** Seed of batches and dropout. @default 0 */
  readonly seed: number;
}

/**
 * Every field of `TrainConfig` at its default.
 *
 * @example
 * ```ts
 * import { TRAIN_DEFAULTS } from "rlhf";
 * const { steps, maxLr, warmupSteps } = TRAIN_DEFAULTS; // 1000 steps, peak 1e-3 after 50 steps of warmup
 * ```
 */
export const TRAIN_DEFAULTS: Readonly<TrainConfig> = Object.freeze({
  steps: 1000,
  maxLr: 1e-3,
  minLr: 1e-4,
  warmupSteps: 50,
  weightDecay: 0.1,
  betas: [0.9, 0.95] as const,
  gradClip: 1.0,
  evalEvery: 100,
  checkpointEvery: 200,
  seed: 0,
});

/**
 * Validates overrides and returns a new frozen config; errors name the field.
 *
 * @example
 * ```ts
 * import { resolveTrainConfig } from "rlhf";
 * const config = resolveTrainConfig({ steps: 200, maxLr: 3e-4 }); // the other fields from TRAIN_DEFAULTS
 * // resolveTrainConfig({ minLr: 1 }) throws "TrainConfig.minLr: expected in [0, maxLr], got 1"
 * ```
 */
export function resolveTrainConfig(overrides: Partial<TrainConfig> = {}): Readonly<TrainConfig> {
  const c = { ...TRAIN_DEFAULTS, ...overrides };
  for (const key of ["steps", "evalEvery", "checkpointEvery"] as const) {
    if (!Number.isInteger(c[key]) || c[key] <= 0) throw new Error(`TrainConfig.${key}: expected a positive integer, got ${c[key]}`);
  }
  if (!Number.isInteger(c.warmupSteps) || c.warmupSteps < 0) {
    throw new Error(`TrainConfig.warmupSteps: expected an integer ≥ 0, got ${c.warmupSteps}`);
  }
  if (!(c.maxLr > 0)) throw new Error(`TrainConfig.maxLr: expected > 0, got ${c.maxLr}`);
  if (!(c.minLr >= 0 && c.minLr <= c.maxLr)) throw new Error(`TrainConfig.minLr: expected in [0, maxLr], got ${c.minLr}`);
  if (!(c.gradClip >= 0)) throw new Error(`TrainConfig.gradClip: expected ≥ 0, got ${c.gradClip}`);
  if (!(c.weightDecay >= 0)) throw new Error(`TrainConfig.weightDecay: expected ≥ 0, got ${c.weightDecay}`);
  for (const [key, value] of Object.entries(c)) {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error(`TrainConfig.${key}: expected a finite number, got ${value}`);
  }
  return Object.freeze({ ...c, betas: Object.freeze([...c.betas]) as unknown as readonly [number, number] });
}

/** What the loop recorded, for charts: one row per step and per evaluation. */
export interface TrainHistory {
  train: { step: number; loss: number; lr: number; gradNorm: number; tokensPerSecond: number }[];
  eval: { step: number; loss: number }[];
  /** Wall time spent training, over every session that trained the run (set by trainLM on return). */
  trainingSeconds?: number;
  /** The run was finished already and only loaded (set by trainLM on return). */
  reused?: boolean;
}

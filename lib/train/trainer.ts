/**
 * The training loop shared by pretraining and SFT: AdamW, warmup + cosine
 * learning rate, gradient clipping, periodic evaluation, a progress bar, and
 * periodic checkpoints (weights + optimiser + loop state, written atomically
 * as one directory) from which a killed run resumes to the same final
 * weights as an uninterrupted one.
 */
import { tf } from "../tf.ts";
import type { BatchSource, LMBatch } from "../data/lm_batches.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { AdamW } from "./adamw.ts";
import { learningRateAt } from "./schedule.ts";
import { ProgressBar } from "./progress.ts";
import { batchLoss, trainStep } from "./train_step.ts";
import { type CheckpointExtras, readTrainCheckpoint, writeTrainCheckpoint } from "./train_checkpoint.ts";

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

/** Validates overrides and returns a new frozen config; errors name the field. */
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
  return Object.freeze({ ...c, betas: Object.freeze([...c.betas]) as unknown as readonly [number, number] });
}

/** What the loop recorded, for charts: one row per step and per evaluation. */
export interface TrainHistory {
  train: { step: number; loss: number; lr: number; gradNorm: number; tokensPerSecond: number }[];
  eval: { step: number; loss: number }[];
}

export interface TrainRun {
  /** Trained in place. */
  readonly model: GPT2Model;
  readonly data: BatchSource;
  /** A fixed held-out set; its mean loss is the eval loss. */
  readonly evalData?: readonly LMBatch[];
  readonly config: Readonly<TrainConfig>;
  /** Where periodic checkpoints go, and where a previous run is resumed from. */
  readonly checkpointDir?: string;
  /** Files written into every checkpoint beside the weights (e.g. the tokenizer's). */
  readonly extras?: CheckpointExtras;
  /** Label of the progress bar, e.g. "pretrain" or "sft". @default "train" */
  readonly label?: string;
  /**
   * Names the weights a fine-tuning run starts from (e.g. the base's fingerprint): stored in every
   * checkpoint, and a checkpoint that started elsewhere is refused instead of resumed.
   */
  readonly startedFrom?: string;
  /** Stop after this step as if the process were killed (for tests and teaching). */
  readonly stopAfterStep?: number;
  /** No progress bar. @default false */
  readonly quiet?: boolean;
}

/**
 * Trains `run.model` for `run.config.steps` steps, resuming from
 * `run.checkpointDir` when it holds an unfinished run of the same config.
 */
export async function trainLM(run: TrainRun): Promise<TrainHistory> {
  const { model, config } = run;
  const optimizer = new AdamW(model.params, { betas: config.betas, weightDecay: config.weightDecay });
  let history: TrainHistory = { train: [], eval: [] };
  let start = 0;
  try {
    if (run.checkpointDir) {
      const resumed = await readTrainCheckpoint(run.checkpointDir, model, optimizer, config, run.startedFrom);
      if (resumed) ({ step: start, history } = resumed);
    }
    const bar = run.quiet ? undefined : new ProgressBar({ total: config.steps - start, label: run.label ?? "train", unit: "tok" });
    let tokens = 0;
    for (let step = start; step < config.steps; step++) {
      const batch = run.data.batch(step);
      const lr = learningRateAt(step, {
        maxLr: config.maxLr,
        minLr: config.minLr,
        warmupSteps: config.warmupSteps,
        totalSteps: config.steps,
      });
      const stepStart = performance.now();
      const { loss, gradNorm } = trainStep(model, optimizer, batch, { lr, gradClip: config.gradClip, seed: config.seed * 7_919 + step });
      const [lossValue, normValue] = [(await loss.data())[0], (await gradNorm.data())[0]]; // the step's one sync
      tf.dispose([loss, gradNorm]);
      if (!Number.isFinite(lossValue)) throw new Error(`training diverged at step ${step}: loss is ${lossValue}`);
      const batchTokens = batch.ids.length * batch.ids[0].length;
      tokens += batchTokens;
      history.train.push({
        step,
        loss: lossValue,
        lr,
        gradNorm: normValue,
        tokensPerSecond: batchTokens / ((performance.now() - stepStart) / 1000),
      });
      const done = step + 1;
      const last = done === config.steps;
      if (run.evalData && (done % config.evalEvery === 0 || last)) {
        history.eval.push({ step: done, loss: await evaluateLoss(model, run.evalData) });
      }
      bar?.update(done - start, {
        tokens,
        extra: { step: done, loss: lossValue.toFixed(3), ...(history.eval.length ? { eval: history.eval.at(-1)!.loss.toFixed(3) } : {}) },
      });
      if (run.checkpointDir && (done % config.checkpointEvery === 0 || last || done === run.stopAfterStep)) {
        await writeTrainCheckpoint(run.checkpointDir, {
          model,
          optimizer,
          config,
          step: done,
          history,
          extras: run.extras,
          startedFrom: run.startedFrom,
        });
      }
      if (done === run.stopAfterStep) break;
    }
    bar?.finish();
    return history;
  } finally {
    optimizer.dispose();
  }
}

/** Mean loss over a fixed set of batches, dropout off. */
export async function evaluateLoss(model: GPT2Model, batches: readonly LMBatch[]): Promise<number> {
  let sum = 0;
  for (const batch of batches) {
    const loss = batchLoss(model, batch);
    sum += (await loss.data())[0];
    loss.dispose();
  }
  return sum / batches.length;
}

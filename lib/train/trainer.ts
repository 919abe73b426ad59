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
import type { TrainConfig, TrainHistory } from "./train_config.ts";

export { resolveTrainConfig, TRAIN_DEFAULTS, type TrainConfig, type TrainHistory } from "./train_config.ts";

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
      if (resumed) {
        ({ step: start, history } = resumed);
        if (!run.quiet) {
          console.log(
            start >= config.steps
              ? `[${run.label ?? "train"}] ${run.checkpointDir}: a finished run of the same settings, reused (${start} steps)`
              : `[${run.label ?? "train"}] ${run.checkpointDir}: resuming at step ${start} of ${config.steps}`,
          );
        }
      }
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

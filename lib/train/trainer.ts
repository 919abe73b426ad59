/**
 * The training loop shared by pretraining and SFT: AdamW, warmup + cosine
 * learning rate, gradient clipping, periodic evaluation, a progress bar, and
 * periodic checkpoints in a run directory (weights + optimiser + loop state,
 * written atomically as one directory) from which a killed run resumes to the
 * same final weights as an uninterrupted one.
 */
import { tf } from "../tf.ts";
import type { BatchSource, LMBatch } from "../data/lm_batches.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { AdamW } from "./adamw.ts";
import { learningRateAt } from "./schedule.ts";
import { ProgressBar } from "./progress.ts";
import { nextTokenLoss, trainStep } from "./train_step.ts";
import type { TrainConfig, TrainHistory } from "./train_config.ts";
import { RunDirectory } from "../run/run_directory.ts";
import type { Tokenizer } from "../tokenizer/types.ts";

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
  /** Written into every checkpoint beside the weights (its files, and its end-of-text id into config.json). */
  readonly tokenizer?: Tokenizer;
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
 *
 * @example
 * ```ts
 * import { createGPT2, randomWindows, resolveGPT2Config, resolveTrainConfig, sequentialWindows, tokenStream, trainLM } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const stream = tokenStream([[4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]], 3); // learn to count
 * const history = await trainLM({
 *   model,
 *   data: randomWindows(stream, { batchSize: 4, seqLen: 8, seed: 0 }),
 *   evalData: sequentialWindows(stream, { batchSize: 1, seqLen: 8, maxBatches: 1 }),
 *   config: resolveTrainConfig({ steps: 30, warmupSteps: 3, maxLr: 1e-2, evalEvery: 10 }),
 *   quiet: true,
 * });
 * history.eval.map((e) => e.loss); // falling from about ln 16 ≈ 2.8, one value every 10 steps
 * ```
 */
export async function trainLM(run: TrainRun): Promise<TrainHistory> {
  const { model, config } = run;
  const label = run.label ?? "train";
  const optimizer = new AdamW(model.params, { betas: config.betas, weightDecay: config.weightDecay });
  const saved = run.checkpointDir ? new RunDirectory(run.checkpointDir, label, trainIdentity(config, run.startedFrom)) : undefined;
  let history: TrainHistory = { train: [], eval: [] };
  let start = 0;
  const started = performance.now();
  try {
    const resumed = await saved?.open<TrainProgress>();
    if (saved && resumed) {
      await saved.restore(model.params, optimizer);
      ({ step: start, history } = resumed.progress);
      if (!run.quiet) {
        console.log(
          resumed.finished
            ? `[${label}] ${saved.dir}: a finished run of the same settings, reused (${start} steps)`
            : `[${label}] ${saved.dir}: resuming at step ${start} of ${config.steps}`,
        );
      }
    }
    const bar = run.quiet ? undefined : new ProgressBar({ total: config.steps - start, label, unit: "tok" });
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
      if (saved && (done % config.checkpointEvery === 0 || last || done === run.stopAfterStep)) {
        await saved.save({ model, optimizer, tokenizer: run.tokenizer }, { step: done, history }, { finished: last });
      }
      if (done === run.stopAfterStep) break;
    }
    bar?.finish();
    const trainingSeconds = saved ? saved.trainingSeconds : (performance.now() - started) / 1000;
    return { ...history, trainingSeconds, reused: saved?.reused ?? false };
  } finally {
    optimizer.dispose();
    saved?.close();
  }
}

/** What a training run saves to go on: the next step and the history so far. */
interface TrainProgress {
  step: number;
  history: TrainHistory;
}

/** Settings that do not change the trained weights (how often to evaluate and save): a run resumes whatever they are. */
const CADENCE: readonly (keyof TrainConfig)[] = ["evalEvery", "checkpointEvery"];

/** A training run's identity: its settings but the cadence, and the weights it started from (fine-tuning). */
function trainIdentity(config: TrainConfig, startedFrom?: string): Record<string, unknown> {
  const settings = Object.fromEntries(Object.entries(config).filter(([k]) => !CADENCE.includes(k as keyof TrainConfig)));
  return { ...settings, started_from: startedFrom };
}

/**
 * Mean loss over a fixed set of batches, dropout off.
 *
 * @example
 * ```ts
 * import { createGPT2, evaluateLoss, resolveGPT2Config, sequentialWindows, tokenStream } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const evalSet = sequentialWindows(tokenStream([[4, 5, 6, 7, 8, 9, 10, 11, 12]], 3), { batchSize: 1, seqLen: 8, maxBatches: 1 });
 * await evaluateLoss(model, evalSet); // about ln 16 ≈ 2.8 before any training
 * ```
 */
export async function evaluateLoss(model: GPT2Model, batches: readonly LMBatch[]): Promise<number> {
  let sum = 0;
  for (const batch of batches) {
    const loss = nextTokenLoss(model, batch);
    sum += (await loss.data())[0];
    loss.dispose();
  }
  return sum / batches.length;
}

/**
 * Step 1 of RLHF, supervised fine-tuning (SFT): teach the pretrained model to
 * answer in the chat format, training only on the assistant's tokens.
 */
import { encodeSftExamples, randomSftBatches, sequentialSftBatches } from "../data/sft_batches.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { SftExample, Task } from "../tasks/types.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { resolveTrainConfig, type TrainConfig, type TrainHistory, trainLM } from "../train/trainer.ts";

export interface SftOptions {
  /** Conversations per step. @default 16 */
  readonly batchSize: number;
  /** Training-loop settings. */
  readonly train: Partial<TrainConfig>;
  /** @default "checkpoints/sft" */
  readonly checkpointDir: string;
  /** Names the weights SFT starts from; a checkpoint that started from others is refused, not resumed. */
  readonly startedFrom?: string;
  /** Your own conversations (e.g. from `loadSftJsonl`) instead of the task's: every 20th is held out. */
  readonly examples?: readonly SftExample[];
  readonly quiet?: boolean;
}

/**
 * What the SFT stage runs by default.
 *
 * @example
 * ```ts
 * import { SFT_DEFAULTS } from "rlhf";
 * SFT_DEFAULTS.train.steps; // 400 steps of 16 conversations
 * ```
 */
export const SFT_DEFAULTS: Readonly<SftOptions> = Object.freeze({
  batchSize: 16,
  train: { steps: 400, maxLr: 1e-3, minLr: 1e-4, warmupSteps: 20, evalEvery: 50, checkpointEvery: 100, seed: 1 },
  checkpointDir: "checkpoints/sft",
});

/**
 * The sizes of `deno task rlhf --quick` (and of the notebooks' quick run): a first try in seconds.
 *
 * @example
 * ```ts
 * import { SFT_QUICK } from "rlhf";
 * SFT_QUICK.train?.steps; // 40 instead of 400
 * ```
 */
export const SFT_QUICK: Readonly<Partial<SftOptions>> = Object.freeze({
  train: Object.freeze({ steps: 40, evalEvery: 20, checkpointEvery: 20 }),
});

export interface SftResult {
  readonly history: TrainHistory;
  /** Examples longer than the context, skipped (not truncated). */
  readonly skippedTooLong: number;
  readonly trainExamples: number;
}

/**
 * Fine-tunes `model` in place on the task's SFT conversations.
 *
 * @example
 * ```ts
 * import { initBackend, loadPretrained, loadTask, runSftStage, SFT_QUICK } from "rlhf";
 * await initBackend(); // the fast kernels: a stage on the pure-JavaScript backend is many times slower
 * const model = await loadPretrained("models/gpt2-poetry-zh"); // the shipped base
 * const task = await loadTask();
 * const checkpointDir = `${await Deno.makeTempDir()}/sft`;
 * const { history, trainExamples } = await runSftStage(model, model.tokenizer!, task, { ...SFT_QUICK, checkpointDir });
 * // model is fine-tuned in place: it now answers requests in the chat template
 * ```
 */
export async function runSftStage(
  model: GPT2Model,
  tokenizer: Tokenizer,
  task: Task,
  overrides: Partial<SftOptions> = {},
): Promise<SftResult> {
  const o = { ...SFT_DEFAULTS, ...overrides, train: { ...SFT_DEFAULTS.train, ...overrides.train } };
  const config = resolveTrainConfig(o.train);
  const maxLength = model.config.n_positions;
  const own = o.examples ? splitOwnExamples(o.examples) : undefined;
  const train = encodeSftExamples(own?.train ?? task.sftExamples("train", config.seed), tokenizer, maxLength);
  const heldout = encodeSftExamples(own?.heldout ?? task.sftExamples("heldout", config.seed), tokenizer, maxLength);
  if (train.encoded.length === 0) throw new Error("SFT: no training conversation fits the model's context");
  const padId = tokenizer.eosId;
  const history = await trainLM({
    model,
    data: randomSftBatches(train.encoded, { batchSize: o.batchSize, seed: config.seed, padId }),
    evalData: sequentialSftBatches(heldout.encoded, { batchSize: o.batchSize, maxBatches: 4, padId }),
    config,
    checkpointDir: o.checkpointDir,
    tokenizer,
    label: "sft",
    startedFrom: o.startedFrom,
    quiet: o.quiet,
  });
  return { history, skippedTooLong: train.skippedTooLong + heldout.skippedTooLong, trainExamples: train.encoded.length };
}

/** Every 20th conversation (at least one) is held out to measure the SFT loss on; the rest train. */
export function splitOwnExamples<T extends SftExample>(examples: readonly T[]): { train: T[]; heldout: T[] } {
  if (examples.length < 2) throw new Error(`SFT data: ${examples.length} conversation(s); at least 2 are needed (one is held out)`);
  const every = Math.min(20, examples.length);
  return {
    train: examples.filter((_, i) => i % every !== every - 1),
    heldout: examples.filter((_, i) => i % every === every - 1),
  };
}

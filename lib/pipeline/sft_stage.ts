/**
 * Step 1 of RLHF, supervised fine-tuning (SFT): teach the pretrained model to
 * answer in the chat format, training only on the assistant's tokens.
 */
import { encodeSftExamples, randomSftBatches, sequentialSftBatches } from "../data/sft_batches.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { Task } from "../tasks/types.ts";
import { saveTokenizerFiles } from "../tokenizer/io.ts";
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
  readonly quiet?: boolean;
}

export const SFT_DEFAULTS: Readonly<SftOptions> = Object.freeze({
  batchSize: 16,
  train: { steps: 600, maxLr: 1e-3, minLr: 1e-4, warmupSteps: 20, evalEvery: 50, checkpointEvery: 100, seed: 1 },
  checkpointDir: "checkpoints/sft",
});

export interface SftResult {
  readonly history: TrainHistory;
  /** Examples longer than the context, skipped (not truncated). */
  readonly skippedTooLong: number;
  readonly trainExamples: number;
}

/** Fine-tunes `model` in place on the task's SFT conversations. */
export async function runSftStage(
  model: GPT2Model,
  tokenizer: Tokenizer,
  task: Task,
  overrides: Partial<SftOptions> = {},
): Promise<SftResult> {
  const o = { ...SFT_DEFAULTS, ...overrides, train: { ...SFT_DEFAULTS.train, ...overrides.train } };
  const config = resolveTrainConfig(o.train);
  const maxLength = model.config.n_positions;
  const train = encodeSftExamples(task.sftExamples("train", config.seed), tokenizer, maxLength);
  const heldout = encodeSftExamples(task.sftExamples("heldout", config.seed), tokenizer, maxLength);
  const padId = tokenizer.eosId;
  const history = await trainLM({
    model,
    data: randomSftBatches(train.encoded, { batchSize: o.batchSize, seed: config.seed, padId }),
    evalData: sequentialSftBatches(heldout.encoded, { batchSize: o.batchSize, maxBatches: 4, padId }),
    config,
    checkpointDir: o.checkpointDir,
    extras: { files: saveTokenizerFiles(tokenizer), bosTokenId: tokenizer.eosId, eosTokenId: tokenizer.eosId },
    label: "sft",
    startedFrom: o.startedFrom,
    quiet: o.quiet,
  });
  return { history, skippedTooLong: train.skippedTooLong + heldout.skippedTooLong, trainExamples: train.encoded.length };
}

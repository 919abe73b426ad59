/**
 * Stage 0 of the pipeline: pretrain a tiny GPT-2 from scratch on the task's
 * corpus (causal language modelling). The book starts from a pretrained
 * Chinese GPT-2; on a CPU we train our own small one first.
 */
import { hashText } from "../hash.ts";
import { randomWindows, sequentialWindows, tokenStream } from "../data/lm_batches.ts";
import { type GPT2PresetName, resolveGPT2Config } from "../gpt2/config.ts";
import { createGPT2 } from "../gpt2/init.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { Task } from "../tasks/types.ts";
import { buildCharVocab } from "../tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../tokenizer/chat_template.ts";
import { saveTokenizerFiles } from "../tokenizer/io.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { resolveTrainConfig, type TrainConfig, type TrainHistory, trainLM } from "../train/trainer.ts";

/** What the pretraining stage needs to know. */
export interface PretrainOptions {
  /** Model size. @default "gpt2-micro" (4 layers, C = 128: ~3 minutes of pretraining on 2 CPU cores; gpt2-nano is ~4× faster and learns much less) */
  readonly preset: GPT2PresetName;
  /** Tokens per training window. @default 64 */
  readonly seqLen: number;
  /** Windows per step. @default 16 */
  readonly batchSize: number;
  /** Training-loop settings (steps, learning rate, …). */
  readonly train: Partial<TrainConfig>;
  /** Where checkpoints go; an unfinished run there is resumed. @default "checkpoints/pretrain" */
  readonly checkpointDir: string;
  readonly quiet?: boolean;
}

/**
 * What the pretraining stage runs by default (`deno task rlhf --from-scratch`).
 *
 * @example
 * ```ts
 * import { PRETRAIN_DEFAULTS } from "rlhf";
 * const { preset, seqLen, batchSize } = PRETRAIN_DEFAULTS; // "gpt2-micro", windows of 64 tokens, 16 a step
 * PRETRAIN_DEFAULTS.train.steps; // 1500
 * ```
 */
export const PRETRAIN_DEFAULTS: Readonly<PretrainOptions> = Object.freeze({
  preset: "gpt2-micro",
  seqLen: 64,
  batchSize: 16,
  train: { steps: 1500, maxLr: 3e-3, minLr: 3e-4, warmupSteps: 20, evalEvery: 100, checkpointEvery: 100 },
  checkpointDir: "checkpoints/pretrain",
});

/**
 * The sizes of `deno task rlhf --quick` (and of the notebooks' quick run): a first try in seconds.
 *
 * @example
 * ```ts
 * import { PRETRAIN_QUICK } from "rlhf";
 * PRETRAIN_QUICK.train?.steps; // 40 instead of 1500: what --quick and the notebooks' quick run train
 * ```
 */
export const PRETRAIN_QUICK: Readonly<Partial<PretrainOptions>> = Object.freeze({
  train: Object.freeze({ steps: 40, evalEvery: 20, checkpointEvery: 20 }),
});

export interface PretrainResult {
  readonly model: GPT2Model;
  readonly tokenizer: Tokenizer;
  readonly history: TrainHistory;
}

/**
 * Builds the vocabulary, trains a new model on the task's corpus and returns it (the caller disposes it).
 *
 * @example
 * ```ts
 * import { initBackend, loadTask, PRETRAIN_QUICK, runPretrainStage } from "rlhf";
 * await initBackend(); // the fast kernels: a stage on the pure-JavaScript backend is many times slower
 * const task = await loadTask();
 * const checkpointDir = `${await Deno.makeTempDir()}/pretrain`;
 * const { model, tokenizer, history } = await runPretrainStage(task, { ...PRETRAIN_QUICK, checkpointDir });
 * history.eval.at(-1)!.loss; // the held-out loss after 40 steps
 * ```
 */
export async function runPretrainStage(task: Task, overrides: Partial<PretrainOptions> = {}): Promise<PretrainResult> {
  const o = { ...PRETRAIN_DEFAULTS, ...overrides, train: { ...PRETRAIN_DEFAULTS.train, ...overrides.train } };
  // A character vocabulary over the corpus and the instruction templates (no labels involved), plus chat markers.
  const tokenizer = buildCharVocab(task.vocabularyTexts(), { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const trainDocs = task.pretrainTexts("train");
  const { model, history } = await pretrainOnDocuments(tokenizer, trainDocs, task.pretrainTexts("heldout"), {
    ...o,
    evalBatches: 4,
    label: "pretrain",
    startedFrom: pretrainingInputs(trainDocs, tokenizer),
  });
  return { model, tokenizer, history };
}

/**
 * What a pretraining checkpoint is built from: fingerprints of its corpus and vocabulary. A run in the
 * checkpoint directory built from another corpus or vocabulary is another run, refused rather than resumed.
 */
export function pretrainingInputs(trainDocs: readonly string[], tokenizer: Tokenizer): string {
  const vocabText = saveTokenizerFiles(tokenizer)["vocab.txt"] ?? "";
  return `corpus ${hashText(trainDocs.join("\n")).toString(16)} + vocabulary ${tokenizer.vocabSize}@${hashText(vocabText).toString(16)}`;
}

/** How `pretrainOnDocuments` trains: the model size, windows, loop settings and where checkpoints go. */
export interface DocumentPretraining {
  readonly preset: GPT2PresetName;
  readonly seqLen: number;
  readonly batchSize: number;
  /** Held-out windows of `batchSize × seqLen` evaluated (at most). */
  readonly evalBatches: number;
  readonly train: Partial<TrainConfig>;
  readonly checkpointDir: string;
  /** Progress-bar label. */
  readonly label: string;
  readonly stopAfterStep?: number;
  /** What the run is built from (its data); a checkpoint built from something else is refused, not resumed. */
  readonly startedFrom?: string;
  readonly quiet?: boolean;
}

/**
 * Causal-LM pretraining of a new GPT-2 on documents (each followed by the end token): random windows to
 * train, the first held-out windows to evaluate, resumable from `checkpointDir`. Shared by the pipeline's
 * short pretraining from scratch and the shipped base's long one.
 */
export async function pretrainOnDocuments(
  tokenizer: Tokenizer,
  trainDocs: readonly string[],
  evalDocs: readonly string[],
  o: DocumentPretraining,
): Promise<{ model: GPT2Model; history: TrainHistory }> {
  const stream = (docs: readonly string[]) => tokenStream(docs.map((d) => tokenizer.encode(d)), tokenizer.eosId);
  const config = resolveGPT2Config({ preset: o.preset, vocab_size: tokenizer.vocabSize, dropout: 0 });
  if (o.seqLen > config.n_positions) {
    throw new Error(`${o.label}.seqLen: ${o.seqLen} exceeds the preset's n_positions ${config.n_positions}`);
  }
  const trainConfig = resolveTrainConfig(o.train);
  const model = createGPT2(config, { seed: trainConfig.seed });
  const history = await trainLM({
    model,
    data: randomWindows(stream(trainDocs), { batchSize: o.batchSize, seqLen: o.seqLen, seed: trainConfig.seed }),
    evalData: sequentialWindows(stream(evalDocs), { batchSize: o.batchSize, seqLen: o.seqLen, maxBatches: o.evalBatches }),
    config: trainConfig,
    checkpointDir: o.checkpointDir,
    tokenizer,
    label: o.label,
    stopAfterStep: o.stopAfterStep,
    startedFrom: o.startedFrom,
    quiet: o.quiet,
  });
  return { model, history };
}

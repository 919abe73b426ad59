/**
 * Stage 0 of the pipeline: pretrain a tiny GPT-2 from scratch on the bundled
 * Tang poems (causal language modelling), then show samples. The book starts
 * from a pretrained Chinese GPT-2; on a CPU we train our own small one first.
 */
import { DEFAULT_POEMS_PATH, loadPoems, poemText, splitPoems } from "../data/poems.ts";
import { randomWindows, sequentialWindows, tokenStream } from "../data/lm_batches.ts";
import { type GPT2PresetName, resolveGPT2Config } from "../gpt2/config.ts";
import { createGPT2 } from "../gpt2/init.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { generate } from "../generate/generate.ts";
import { buildCharVocab, CHAT_SPECIAL_TOKENS, saveTokenizerFiles } from "../tokenizer/mod.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { Rng } from "../train/rng.ts";
import { resolveTrainConfig, type TrainConfig, type TrainHistory, trainLM } from "../train/trainer.ts";

/** What the pretraining stage needs to know. */
export interface PretrainOptions {
  /** Model size. @default "gpt2-nano" (a few minutes on 2 CPU cores; gpt2-micro learns more, ~3× slower) */
  readonly preset: GPT2PresetName;
  /** Tokens per training window. @default 64 */
  readonly seqLen: number;
  /** Windows per step. @default 16 */
  readonly batchSize: number;
  /** Training-loop settings (steps, learning rate, …). */
  readonly train: Partial<TrainConfig>;
  /** Where checkpoints go; an unfinished run there is resumed. @default "checkpoints/pretrain" */
  readonly checkpointDir: string;
  /** Poems file. @default the bundled data/poetry-zh/poems.jsonl */
  readonly poemsPath: string;
  /** Number of samples printed at the end. @default 6 */
  readonly samples: number;
  readonly quiet?: boolean;
}

export const PRETRAIN_DEFAULTS: Readonly<PretrainOptions> = Object.freeze({
  preset: "gpt2-nano",
  seqLen: 64,
  batchSize: 16,
  train: { steps: 400, maxLr: 3e-3, minLr: 3e-4, warmupSteps: 20, evalEvery: 50, checkpointEvery: 100 },
  checkpointDir: "checkpoints/pretrain",
  poemsPath: DEFAULT_POEMS_PATH,
  samples: 6,
});

export interface PretrainResult {
  readonly model: GPT2Model;
  readonly tokenizer: Tokenizer;
  readonly history: TrainHistory;
  /** (prompt, continuation, the real poem) for a few held-out poems. */
  readonly samples: { prompt: string; generated: string; reference: string }[];
}

/** Runs pretraining end to end and returns the trained model (the caller disposes it). */
export async function runPretrainStage(overrides: Partial<PretrainOptions> = {}): Promise<PretrainResult> {
  const o = { ...PRETRAIN_DEFAULTS, ...overrides, train: { ...PRETRAIN_DEFAULTS.train, ...overrides.train } };
  const poems = await loadPoems(o.poemsPath);
  const { train, heldout } = splitPoems(poems);
  // The vocabulary covers every character of the bundled corpus (no labels involved), plus chat markers.
  const tokenizer = buildCharVocab(poems.map(poemText), { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const encode = (texts: string[]) => texts.map((t) => tokenizer.encode(t));
  const trainStream = tokenStream(encode(train.map(poemText)), tokenizer.eosId);
  const evalStream = tokenStream(encode(heldout.map(poemText)), tokenizer.eosId);

  const config = resolveGPT2Config({ preset: o.preset, vocab_size: tokenizer.vocabSize, dropout: 0 });
  if (o.seqLen > config.n_positions) throw new Error(`pretrain.seqLen: ${o.seqLen} exceeds the preset's n_positions ${config.n_positions}`);
  const trainConfig = resolveTrainConfig(o.train);
  const model = createGPT2(config, { seed: trainConfig.seed });
  const history = await trainLM({
    model,
    data: randomWindows(trainStream, { batchSize: o.batchSize, seqLen: o.seqLen, seed: trainConfig.seed }),
    evalData: sequentialWindows(evalStream, { batchSize: o.batchSize, seqLen: o.seqLen, maxBatches: 4 }),
    config: trainConfig,
    checkpointDir: o.checkpointDir,
    extras: { files: saveTokenizerFiles(tokenizer), bosTokenId: tokenizer.eosId, eosTokenId: tokenizer.eosId },
    label: "pretrain",
    quiet: o.quiet,
  });

  // Samples: start each held-out poem with its first two characters.
  const shown = heldout.slice(0, o.samples);
  const prompts = shown.map((p) => [tokenizer.eosId, ...tokenizer.encode(poemText(p).slice(0, 2))]);
  const out = await generate(model, prompts, {
    maxNewTokens: Math.min(80, config.n_positions - 3),
    topP: 0.9,
    stopIds: [tokenizer.eosId],
    padId: tokenizer.eosId,
    rng: new Rng(trainConfig.seed + 1),
  });
  const samples = shown.map((p, i) => ({
    prompt: poemText(p).slice(0, 2),
    generated: poemText(p).slice(0, 2) + tokenizer.decode(out.tokens[i].filter((t) => t !== tokenizer.eosId)),
    reference: poemText(p),
  }));
  return { model, tokenizer, history, samples };
}

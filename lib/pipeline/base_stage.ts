/**
 * The shipped base: a poetry GPT-2 pretrained once by this project's own
 * trainer on every regular Tang and Song poem (lib/corpus/base_corpus.ts) and
 * written in the Hugging Face layout to models/gpt2-poetry-zh/, with a model
 * card. The book starts from a pretrained Chinese GPT-2
 * (uer/gpt2-chinese-cluecorpussmall); this is ours, made on a CPU in hours.
 *
 *   deno task pretrain-base            # resumes checkpoints/base/ if a run is there
 */
import { join } from "../platform/path.ts";
import { pathExists, readJsonFile } from "../fs.ts";
import { loadGPT2Weights } from "../checkpoint/pretrained.ts";
import { RUN_FILE } from "../run/run_directory.ts";
import { type BaseCorpus, loadBaseCorpus, poemDocument } from "../corpus/base_corpus.ts";
import { sequentialWindows, tokenStream } from "../data/lm_batches.ts";
import type { Poem } from "../corpus/poems.ts";
import type { GPT2PresetName } from "../gpt2/config.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { buildCharVocab, type CharVocabTokenizer } from "../tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../tokenizer/chat_template.ts";
import { evaluateLoss, type TrainConfig, type TrainHistory } from "../train/trainer.ts";
import { pretrainingInputs, pretrainOnDocuments } from "./pretrain_stage.ts";
import { platform } from "../platform/platform.ts";

/** What the base pretraining needs to know. */
export interface BasePretrainOptions {
  /** Model size. @default "gpt2-micro" */
  readonly preset: GPT2PresetName;
  /** Tokens per training window: a whole poem with its title fits. @default 128 */
  readonly seqLen: number;
  /** Windows per step. @default 16 */
  readonly batchSize: number;
  /** Characters seen fewer times in the corpus become [UNK]. @default 20 */
  readonly minCharCount: number;
  /** Training-loop settings. */
  readonly train: Partial<TrainConfig>;
  /** Where the resumable training state goes. @default "checkpoints/base" */
  readonly checkpointDir: string;
  /** Stop after this step as if killed (tests). */
  readonly stopAfterStep?: number;
  readonly quiet?: boolean;
}

/**
 * What `deno task pretrain-base` runs.
 *
 * @example
 * ```ts
 * import { BASE_PRETRAIN_DEFAULTS } from "rlhf";
 * BASE_PRETRAIN_DEFAULTS.train.steps; // 20000: hours on a CPU
 * ```
 */
export const BASE_PRETRAIN_DEFAULTS: Readonly<BasePretrainOptions> = Object.freeze({
  preset: "gpt2-micro",
  seqLen: 128,
  batchSize: 16,
  minCharCount: 20,
  train: { steps: 20_000, maxLr: 2e-3, minLr: 2e-4, warmupSteps: 200, evalEvery: 1000, checkpointEvery: 250 },
  checkpointDir: "checkpoints/base",
});

/** The fixed slice every consumer measures the held-out loss on: the pipeline's own pretraining measure. */
export const HELDOUT_SLICE = Object.freeze({ batchSize: 16, seqLen: 64, maxBatches: 4 });

export interface BasePretrainResult {
  readonly model: GPT2Model;
  readonly tokenizer: CharVocabTokenizer;
  readonly history: TrainHistory;
  readonly corpus: BaseCorpus;
  readonly options: Readonly<BasePretrainOptions>;
}

/** The base's vocabulary: corpus characters seen at least `minCount` times, every character of `requiredTexts`, chat markers. */
function baseVocabulary(corpus: BaseCorpus, minCount: number, requiredTexts: readonly string[]): CharVocabTokenizer {
  return buildCharVocab(corpus.train.map(poemDocument), { extraSpecialTokens: CHAT_SPECIAL_TOKENS, minCount, requiredTexts });
}

/** Share of characters of `poems` (their documents, without line breaks) that encode as [UNK]. */
export function unknownShare(tokenizer: CharVocabTokenizer, poems: readonly Poem[]): number {
  const unk = tokenizer.idOf("[UNK]")!;
  let total = 0, unknown = 0;
  for (const p of poems) {
    for (const id of tokenizer.encode(poemDocument(p).replaceAll("\n", ""))) {
      total++;
      if (id === unk) unknown++;
    }
  }
  return unknown / total;
}

/** Mean loss on the fixed held-out slice of `poems` (nats per token). */
export function heldoutSliceLoss(model: GPT2Model, tokenizer: CharVocabTokenizer, poems: readonly Poem[]): Promise<number> {
  const stream = tokenStream(poems.map((p) => tokenizer.encode(poemDocument(p))), tokenizer.eosId);
  return evaluateLoss(model, sequentialWindows(stream, HELDOUT_SLICE));
}

/**
 * Builds the corpus and vocabulary and trains (or resumes) the base.
 * `heldoutPoems` are the bundled held-out poems (kept out, near-copies too);
 * `requiredTexts` the instruction templates, whose characters must not be [UNK].
 *
 * @example
 * ```ts
 * import { initBackend, loadPoems, runBasePretrain, splitPoems } from "rlhf";
 * await initBackend(); // the fast kernels: a stage on the pure-JavaScript backend is many times slower
 * const { heldout } = splitPoems(await loadPoems()); // kept out of the corpus, near-copies too
 * const checkpointDir = `${await Deno.makeTempDir()}/base`;
 * // The characters of the requests must be in the vocabulary (deno task pretrain-base passes the instruction templates).
 * const result = await runBasePretrain(heldout, ["写一首五言绝句"], { train: { steps: 20, evalEvery: 10 }, checkpointDir });
 * result.history.eval.at(-1)!.loss; // the loss on the bundled held-out poems
 * ```
 */
export async function runBasePretrain(
  heldoutPoems: readonly Poem[],
  requiredTexts: readonly string[],
  overrides: Partial<BasePretrainOptions> = {},
): Promise<BasePretrainResult> {
  const { o, corpus, tokenizer } = await prepareBaseRun(heldoutPoems, requiredTexts, overrides);
  const trainDocs = corpus.train.map(poemDocument);
  const { model, history } = await pretrainOnDocuments(tokenizer, trainDocs, heldoutPoems.map(poemDocument), {
    ...o,
    evalBatches: 1_000, // every held-out poem
    label: "base",
    startedFrom: pretrainingInputs(trainDocs, tokenizer),
  });
  return { model, tokenizer, history, corpus, options: o };
}

/**
 * The run in the checkpoint directory as it stands, without training (to export a snapshot of a run in
 * progress): the same corpus and vocabulary, the checkpoint's weights and history.
 */
export async function loadBaseRun(
  heldoutPoems: readonly Poem[],
  requiredTexts: readonly string[],
  overrides: Partial<BasePretrainOptions> = {},
): Promise<BasePretrainResult> {
  const { o, corpus, tokenizer } = await prepareBaseRun(heldoutPoems, requiredTexts, overrides);
  const statePath = join(o.checkpointDir, RUN_FILE);
  if (!(await pathExists(statePath))) throw new Error(`${statePath}: no run to export (start one with deno task pretrain-base)`);
  const history = ((await readJsonFile(statePath)) as { progress?: { history?: TrainHistory } }).progress?.history;
  if (!history) throw new Error(`${statePath}: no "progress.history"`);
  const model = await loadGPT2Weights(o.checkpointDir);
  return { model, tokenizer, history, corpus, options: o };
}

/** Options with defaults, the corpus and the vocabulary (checked against a run already in the checkpoint directory). */
async function prepareBaseRun(heldoutPoems: readonly Poem[], requiredTexts: readonly string[], overrides: Partial<BasePretrainOptions>) {
  const o = { ...BASE_PRETRAIN_DEFAULTS, ...overrides, train: { ...BASE_PRETRAIN_DEFAULTS.train, ...overrides.train } };
  const corpus = loadBaseCorpus(heldoutPoems);
  const tokenizer = baseVocabulary(corpus, o.minCharCount, requiredTexts);
  await refuseOtherVocabulary(o.checkpointDir, tokenizer);
  return { o, corpus, tokenizer };
}

/** A run in `dir` made with another vocabulary (other corpus or minimum count) cannot be resumed with this one. */
async function refuseOtherVocabulary(dir: string, tokenizer: CharVocabTokenizer): Promise<void> {
  const path = join(dir, "vocab.txt");
  if (!(await pathExists(path))) return;
  if ((await platform().readTextFile(path)) !== tokenizer.vocabText()) {
    throw new Error(`${path}: this run was trained with another vocabulary; delete ${dir} or pass another checkpoint directory`);
  }
}

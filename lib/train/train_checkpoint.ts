/**
 * A training checkpoint is one directory, replaced atomically as a whole:
 * the HF-layout weights (config.json + model.safetensors), the tokenizer
 * files, `optimizer.safetensors` (AdamW moments) and `train_state.json`
 * (step, config, history). Resuming reads all of it back.
 */
import { loadGPT2Weights, recoverInterruptedSwap, saveGPT2Weights } from "../checkpoint/pretrained.ts";
import { parseJsonText } from "../fs.ts";
import { parseSafetensors, serializeSafetensors } from "../checkpoint/safetensors.ts";
import { disposeGPT2 } from "../gpt2/init.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { AdamW } from "./adamw.ts";
import type { TrainConfig, TrainHistory } from "./train_config.ts";

export const TRAIN_STATE_FILE = "train_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";

/** Files and token ids a checkpoint carries beside the weights. */
export interface CheckpointExtras {
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
}

interface TrainState {
  step: number;
  config: TrainConfig;
  history: TrainHistory;
  /** Which weights the run started from (fine-tuning runs), e.g. "gpt2-poetry-zh@3f2a…". */
  started_from?: string;
}

/** Writes weights, optimiser and loop state into `dir` in one atomic swap. */
export async function writeTrainCheckpoint(
  dir: string,
  s: {
    model: GPT2Model;
    optimizer: AdamW;
    config: TrainConfig;
    step: number;
    history: TrainHistory;
    extras?: CheckpointExtras;
    startedFrom?: string;
  },
): Promise<void> {
  const optimizerState = await s.optimizer.state();
  const tensors = new Map<string, { dtype: "F32"; shape: number[]; data: Float32Array }>();
  for (const [name, t] of optimizerState.tensors) tensors.set(name, { dtype: "F32", shape: t.shape, data: t.data });
  const state: TrainState = { step: s.step, config: s.config, history: s.history, started_from: s.startedFrom };
  await saveGPT2Weights(s.model, dir, {
    bosTokenId: s.extras?.bosTokenId,
    eosTokenId: s.extras?.eosTokenId,
    extraFiles: {
      ...s.extras?.files,
      [OPTIMIZER_FILE]: serializeSafetensors(tensors, { adamw_step: String(optimizerState.step) }),
      [TRAIN_STATE_FILE]: JSON.stringify(state, null, 1) + "\n",
    },
  });
}

/** Settings that do not change the trained weights (how often to evaluate and save): a run resumes whatever they are. */
const CADENCE: readonly (keyof TrainConfig)[] = ["evalEvery", "checkpointEvery"];

/**
 * Loads an unfinished run from `dir` into `model` and `optimizer`.
 * Returns undefined when `dir` holds no training state; throws when it was
 * trained with a different config or started from other weights (resuming
 * would silently mix two runs).
 */
export async function readTrainCheckpoint(
  dir: string,
  model: GPT2Model,
  optimizer: AdamW,
  config: TrainConfig,
  startedFrom?: string,
): Promise<{ step: number; history: TrainHistory } | undefined> {
  await recoverInterruptedSwap(dir); // a crash between the two renames of a swap left the finished checkpoint aside
  const statePath = `${dir}/${TRAIN_STATE_FILE}`;
  let text: string;
  try {
    text = await Deno.readTextFile(statePath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const state = parseJsonText(text, statePath) as TrainState;
  for (const key of (Object.keys(config) as (keyof TrainConfig)[]).filter((k) => !CADENCE.includes(k))) {
    if (JSON.stringify(state.config?.[key]) !== JSON.stringify(config[key])) {
      throw new Error(
        `${statePath}: this checkpoint was trained with ${key}=${JSON.stringify(state.config?.[key])}, ` +
          `the new run asks for ${JSON.stringify(config[key])}; use another checkpoint directory or delete this one`,
      );
    }
  }
  if (state.started_from !== startedFrom) {
    throw new Error(
      `${statePath}: this checkpoint was trained from ${state.started_from ?? "inputs it does not record"}, ` +
        `the new run starts from ${startedFrom ?? "new weights"}; use another checkpoint directory or delete this one`,
    );
  }
  const saved = await loadGPT2Weights(dir);
  try {
    for (const [name, variable] of Object.entries(model.params)) {
      const source = saved.params[name];
      if (!source || source.shape.join() !== variable.shape.join()) {
        throw new Error(`${dir}: weight "${name}" does not match the model being trained (shape ${source?.shape} vs ${variable.shape})`);
      }
      variable.assign(source);
    }
  } finally {
    disposeGPT2(saved);
  }
  const optimizerFile = parseSafetensors(await Deno.readFile(`${dir}/${OPTIMIZER_FILE}`), `${dir}/${OPTIMIZER_FILE}`);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of optimizerFile.tensors) tensors.set(name, { shape: t.shape, data: t.data as Float32Array });
  optimizer.loadState({ step: Number(optimizerFile.metadata.adamw_step), tensors });
  return { step: state.step, history: state.history };
}

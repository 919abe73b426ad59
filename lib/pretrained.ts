/**
 * The public load/save pair: a GPT-2 directory in the Hugging Face layout
 * (config.json + model.safetensors + tokenizer files) ⇄ a model in memory.
 */
import { loadGPT2Weights, saveGPT2Weights } from "./checkpoint/pretrained.ts";
import { disposeGPT2 } from "./gpt2/init.ts";
import type { GPT2Model } from "./gpt2/model_types.ts";
import { loadTokenizer, saveTokenizerFiles } from "./tokenizer/io.ts";
import type { Tokenizer } from "./tokenizer/types.ts";

/** A GPT-2 and, when its directory has one, its tokenizer. */
export interface PretrainedGPT2 extends GPT2Model {
  readonly tokenizer?: Tokenizer;
}

/**
 * Loads a GPT-2 directory: ours, or one downloaded from the Hugging Face hub
 * (`gpt2`, `uer/gpt2-chinese-cluecorpussmall` with its vocab.txt, …).
 *
 * @example
 * ```ts
 * import { loadPretrained, logits, tf } from "rlhf";
 * const model = await loadPretrained("models/gpt2-poetry-zh"); // the shipped base: config.json, model.safetensors, vocab.txt
 * const ids = tf.tensor2d([model.tokenizer!.encode("床前")], undefined, "int32");
 * const out = logits(model, ids); // [1, 2, 5676]
 * ```
 */
export async function loadPretrained(dir: string): Promise<PretrainedGPT2> {
  const model = await loadGPT2Weights(dir);
  const tokenizer = await loadTokenizer(dir);
  if (tokenizer && tokenizer.vocabSize > model.config.vocab_size) {
    disposeGPT2(model);
    throw new Error(`${dir}: the tokenizer has ${tokenizer.vocabSize} ids but config.json vocab_size is ${model.config.vocab_size}`);
  }
  // A character vocabulary has one line per id (BERT-Chinese and ours): fewer lines is a truncated vocab.txt.
  if (tokenizer?.kind === "char-vocab" && tokenizer.vocabSize < model.config.vocab_size) {
    disposeGPT2(model);
    throw new Error(
      `${dir}/vocab.txt: ${tokenizer.vocabSize} entries, but config.json vocab_size is ${model.config.vocab_size} (a truncated file?)`,
    );
  }
  return { ...model, tokenizer };
}

/**
 * Writes `model` (and its tokenizer, if any) to `dir` in the HF layout, as one
 * atomic directory swap: a crash leaves the old directory or the new one.
 * The result loads in HF transformers (`GPT2LMHeadModel.from_pretrained(dir)`).
 *
 * @example
 * ```ts
 * import { buildCharVocab, createGPT2, resolveGPT2Config, savePretrained } from "rlhf";
 * const tokenizer = buildCharVocab(["床前明月光"]);
 * const config = resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
 * const dir = `${await Deno.makeTempDir()}/tiny`;
 * await savePretrained({ ...createGPT2(config), tokenizer }, dir); // config.json, model.safetensors, vocab.txt, …
 * ```
 */
export async function savePretrained(
  model: PretrainedGPT2,
  dir: string,
  options: { extraFiles?: Record<string, string | Uint8Array> } = {},
): Promise<void> {
  const tokenizerFiles = model.tokenizer ? saveTokenizerFiles(model.tokenizer) : {};
  await saveGPT2Weights(model, dir, {
    bosTokenId: model.tokenizer?.eosId,
    eosTokenId: model.tokenizer?.eosId,
    extraFiles: { ...tokenizerFiles, ...options.extraFiles },
  });
}

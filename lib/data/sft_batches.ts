/**
 * SFT batches: conversations in the chat template, trained only on the
 * assistant's tokens. Each batch is padded to its longest example (not to the
 * context), and, like LM batches, depends only on (seed, step).
 */
import type { SftExample } from "../tasks/types.ts";
import { encodeChat } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { Rng } from "../rng.ts";
import type { BatchSource, LMBatch } from "./lm_batches.ts";

/** One encoded conversation: ids and the loss mask (1 = an assistant token). */
export interface EncodedExample {
  readonly ids: number[];
  readonly lossMask: number[];
}

/**
 * Encodes examples. Examples longer than `maxLength` tokens cannot be trained
 * whole; they are skipped and counted (the caller reports the count), never
 * silently truncated (a truncated reply would teach the model to stop early).
 *
 * @example
 * ```ts
 * import { encodeSftExamples, loadTask, loadTokenizer } from "rlhf";
 * const task = await loadTask();
 * const tokenizer = (await loadTokenizer("models/gpt2-poetry-zh"))!;
 * const { encoded, skippedTooLong } = encodeSftExamples(task.sftExamples("train", 0), tokenizer, 128);
 * encoded[0].lossMask; // 0 on the request and the role markers, 1 on the poem and its <|end|>
 * ```
 */
export function encodeSftExamples(
  examples: readonly SftExample[],
  tokenizer: Tokenizer,
  maxLength: number,
): { encoded: EncodedExample[]; skippedTooLong: number } {
  const encoded: EncodedExample[] = [];
  let skippedTooLong = 0;
  for (const ex of examples) {
    const e = encodeChat([...ex.prompt.messages, { role: "assistant", content: ex.response }], tokenizer);
    if (e.ids.length > maxLength) skippedTooLong++;
    else encoded.push(e);
  }
  return { encoded, skippedTooLong };
}

/**
 * Turns encoded conversations into a next-token batch padded with `padId` (mask 0 on padding).
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, encodeChat, sftBatch } from "rlhf";
 * const tok = buildCharVocab(["写诗明月"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * const example = encodeChat([{ role: "user", content: "写诗" }, { role: "assistant", content: "明月" }], tok);
 * const batch = sftBatch([example], tok.eosId); // ids and targets: 7 positions, targets one token ahead
 * batch.mask; // [[0, 0, 0, 0, 1, 1, 1]]: the loss counts the targets 明, 月 and <|end|>
 * ```
 */
export function sftBatch(examples: readonly EncodedExample[], padId: number): LMBatch {
  const T = Math.max(...examples.map((e) => e.ids.length)) - 1;
  const pad = <X>(row: X[], value: X) => [...row, ...Array(T - row.length).fill(value)];
  return {
    ids: examples.map((e) => pad(e.ids.slice(0, -1), padId)),
    targets: examples.map((e) => pad(e.ids.slice(1), padId)),
    // The mask of a target is the mask of the token being predicted.
    mask: examples.map((e) => pad(e.lossMask.slice(1), 0)),
  };
}

/**
 * Random batches of `batchSize` conversations a step.
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, encodeChat, randomSftBatches } from "rlhf";
 * const tok = buildCharVocab(["写诗明月"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * const example = encodeChat([{ role: "user", content: "写诗" }, { role: "assistant", content: "明月" }], tok);
 * const data = randomSftBatches([example], { batchSize: 8, seed: 0, padId: tok.eosId });
 * data.batch(0).ids.length; // 8 conversations, drawn by (seed, step)
 * ```
 */
export function randomSftBatches(
  examples: readonly EncodedExample[],
  options: { batchSize: number; seed: number; padId: number },
): BatchSource {
  if (examples.length === 0) throw new Error("randomSftBatches: no examples");
  return {
    batch(step: number): LMBatch {
      const rng = new Rng(options.seed * 1_000_003 + step);
      return sftBatch(Array.from({ length: options.batchSize }, () => examples[rng.nextInt(examples.length)]), options.padId);
    },
  };
}

/**
 * Consecutive batches over a fixed set (evaluation).
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, encodeChat, sequentialSftBatches } from "rlhf";
 * const tok = buildCharVocab(["写诗明月"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * const example = encodeChat([{ role: "user", content: "写诗" }, { role: "assistant", content: "明月" }], tok);
 * const evalSet = sequentialSftBatches([example, example, example], { batchSize: 2, maxBatches: 4, padId: tok.eosId });
 * evalSet.map((b) => b.ids.length); // [2, 1]: every example once
 * ```
 */
export function sequentialSftBatches(
  examples: readonly EncodedExample[],
  options: { batchSize: number; maxBatches: number; padId: number },
): LMBatch[] {
  const batches: LMBatch[] = [];
  for (let i = 0; i < examples.length && batches.length < options.maxBatches; i += options.batchSize) {
    batches.push(sftBatch(examples.slice(i, i + options.batchSize), options.padId));
  }
  return batches;
}

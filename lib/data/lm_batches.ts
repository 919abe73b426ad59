/**
 * Batches for causal language modelling: a token stream cut into windows,
 * each target the next token of its input.
 *
 * A batch depends only on (seed, step), never on how many batches came before,
 * so a resumed run sees exactly the batches an uninterrupted one would.
 */
import { Rng } from "../rng.ts";

/** One batch: ids [B, T], next-token targets [B, T], and an optional loss mask [B, T] (1 = train on it). */
export interface LMBatch {
  readonly ids: number[][];
  readonly targets: number[][];
  readonly mask?: number[][];
}

/**
 * The positions a batch's mask counts (1), flat (b · T + t), each with its row and its target: where a loss
 * reads the next-token logits (an SFT or DPO batch's answer tokens). The mask must be 0 or 1.
 *
 * @example
 * ```ts
 * import { countedPositions } from "rlhf";
 * countedPositions({ ids: [[1, 2, 3], [4, 5, 0]], targets: [[2, 3, 9], [5, 9, 0]], mask: [[0, 1, 1], [1, 1, 0]] });
 * // { at: [1, 2, 3, 4], rows: [0, 0, 1, 1], targets: [3, 9, 5, 9] }
 * ```
 */
export function countedPositions(batch: LMBatch & { readonly mask: number[][] }): { at: number[]; rows: number[]; targets: number[] } {
  const T = batch.ids[0]?.length ?? 0;
  const at: number[] = [], rows: number[] = [], targets: number[] = [];
  batch.mask.forEach((row, b) =>
    row.forEach((m, t) => {
      if (m !== 0 && m !== 1) throw new Error(`batch mask[${b}][${t}] is ${m}, expected 0 or 1`);
      if (m === 1) at.push(b * T + t), rows.push(b), targets.push(batch.targets[b][t]);
    })
  );
  return { at, rows, targets };
}

/** Gives the batch of a training step. */
export interface BatchSource {
  batch(step: number): LMBatch;
}

/**
 * Joins documents into one stream, each followed by `eosId` so the model learns where a text ends.
 *
 * @example
 * ```ts
 * import { tokenStream } from "rlhf";
 * tokenStream([[5, 6], [7]], 3); // Int32Array [5, 6, 3, 7, 3]: each document ends with the end-of-text id
 * ```
 */
export function tokenStream(docs: readonly number[][], eosId: number): Int32Array {
  const total = docs.reduce((n, d) => n + d.length + 1, 0);
  const stream = new Int32Array(total);
  let at = 0;
  for (const doc of docs) {
    stream.set(doc, at);
    at += doc.length;
    stream[at++] = eosId;
  }
  return stream;
}

/**
 * Random windows of `seqLen + 1` tokens from a stream, `batchSize` a step.
 *
 * @example
 * ```ts
 * import { randomWindows, tokenStream } from "rlhf";
 * const stream = tokenStream([[5, 6, 7, 8, 9], [10, 11, 12]], 3);
 * const data = randomWindows(stream, { batchSize: 2, seqLen: 4, seed: 0 });
 * const { ids, targets } = data.batch(0); // 2 rows of 4 ids; targets[b][t] = the token after ids[b][t]
 * // data.batch(0) gives the same batch again: it depends on (seed, step) only, so a resumed run sees the same data
 * ```
 */
export function randomWindows(
  stream: Int32Array,
  options: { batchSize: number; seqLen: number; seed: number },
): BatchSource {
  const { batchSize, seqLen, seed } = options;
  if (stream.length < seqLen + 1) {
    throw new Error(`randomWindows: the stream has ${stream.length} tokens, fewer than seqLen + 1 = ${seqLen + 1}`);
  }
  return {
    batch(step: number): LMBatch {
      const rng = new Rng(seed * 1_000_003 + step);
      const starts = Array.from({ length: batchSize }, () => rng.nextInt(stream.length - seqLen));
      return windowsAt(stream, starts, seqLen);
    },
  };
}

/**
 * Consecutive non-overlapping windows from the start of a stream (a fixed evaluation set).
 *
 * @example
 * ```ts
 * import { sequentialWindows, tokenStream } from "rlhf";
 * const stream = tokenStream([[5, 6, 7, 8, 9], [10, 11, 12]], 3); // 10 tokens
 * const evalSet = sequentialWindows(stream, { batchSize: 1, seqLen: 4, maxBatches: 8 });
 * evalSet.length; // 2: the windows that fit, the same every time
 * ```
 */
export function sequentialWindows(
  stream: Int32Array,
  options: { batchSize: number; seqLen: number; maxBatches: number },
): LMBatch[] {
  const { batchSize, seqLen, maxBatches } = options;
  const batches: LMBatch[] = [];
  let start = 0;
  while (batches.length < maxBatches && start + batchSize * seqLen + 1 <= stream.length) {
    const starts = Array.from({ length: batchSize }, (_, i) => start + i * seqLen);
    batches.push(windowsAt(stream, starts, seqLen));
    start += batchSize * seqLen;
  }
  if (batches.length === 0) {
    throw new Error(`sequentialWindows: ${stream.length} tokens do not fill one batch of ${batchSize}×${seqLen}`);
  }
  return batches;
}

function windowsAt(stream: Int32Array, starts: number[], seqLen: number): LMBatch {
  return {
    ids: starts.map((s) => Array.from(stream.subarray(s, s + seqLen))),
    targets: starts.map((s) => Array.from(stream.subarray(s + 1, s + seqLen + 1))),
  };
}

/**
 * The update loop of every policy-gradient method here (PPO, RLOO, GRPO): several passes over one batch
 * of answers, each pass in a fresh shuffled order cut into minibatches, one gradient step per minibatch.
 */
import type { Rng } from "../rng.ts";

/** How the passes are cut. */
export interface MinibatchOptions {
  /** Passes over the batch. */
  readonly epochs: number;
  /** Rows per minibatch (the last one of a pass may be smaller). */
  readonly miniBatchSize: number;
  /** Draws each pass's order (a resumed run draws the same orders). */
  readonly rng: Rng;
}

/**
 * Calls `step` with the row indices of each minibatch of a batch of `rows` rows, pass after pass. `step`
 * returns true to stop early (PPO: the approximate KL passed its limit). Returns the passes done, a pass
 * cut short included.
 *
 * @example
 * ```ts
 * import { minibatchEpochs } from "./minibatch_epochs.ts";
 * import { Rng } from "../rng.ts";
 * const seen: number[][] = [];
 * await minibatchEpochs(4, { epochs: 2, miniBatchSize: 2, rng: new Rng(0) }, (rows) => { seen.push(rows); return Promise.resolve(false); });
 * seen.length; // 4: two passes of two minibatches
 * ```
 */
export async function minibatchEpochs(
  rows: number,
  o: MinibatchOptions,
  step: (rows: number[]) => Promise<boolean>,
): Promise<number> {
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = o.rng.shuffle(Array.from({ length: rows }, (_, i) => i));
    for (let start = 0; start < rows; start += o.miniBatchSize) {
      if (await step(order.slice(start, start + o.miniBatchSize))) return epoch + 1;
    }
  }
  return o.epochs;
}

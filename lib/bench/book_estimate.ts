/**
 * How long the default run would take at the book's model size, from what the
 * run itself measured: the seconds each stage spent sampling, training and on
 * everything else, each times the bench's slowdown for that kind of work
 * between the run's model and the book's (the same machine). A stage that ran
 * below the bench's rate keeps that shortfall at the book's size. Time outside
 * sampling and training (scoring, evaluation forward passes, files) is scaled
 * as training is. An estimate from measured rates, not a run.
 */
import type { Work, WorkKind } from "../work.ts";

/** A model's bench rates: training positions and generated tokens per second. */
export interface BenchRates {
  readonly train: number;
  readonly generate: number;
}

/** What a stage of the run did: its wall seconds and its counted work. */
export interface StageWork {
  readonly stage: string;
  readonly seconds: number;
  readonly work: Record<WorkKind, Work>;
}

/** One stage's estimate at the book's size, beside the run's own seconds. */
export interface StageEstimate {
  readonly stage: string;
  readonly seconds: number;
  readonly measuredSeconds: number;
}

/**
 * Each stage's seconds at the book's size: sampling seconds × (small ÷ book generation rate), training and all
 * other seconds × (small ÷ book training rate).
 *
 * @example
 * ```ts
 * import { bookSizeEstimate } from "rlhf";
 * const work = { generate: { tokens: 70_000, seconds: 10 }, train: { tokens: 600_000, seconds: 60 } };
 * bookSizeEstimate([{ stage: "ppo", seconds: 80, work }], { train: 12_000, generate: 7_000 }, { train: 200, generate: 70 });
 * // [{ stage: "ppo", seconds: 5200, measuredSeconds: 80 }]: 10 s × 100 sampling, (60 + 10) s × 60 the rest
 * ```
 */
export function bookSizeEstimate(stages: readonly StageWork[], small: BenchRates, book: BenchRates): StageEstimate[] {
  const slowdown = { train: small.train / book.train, generate: small.generate / book.generate };
  return stages.map(({ stage, seconds, work }) => {
    const sampling = work.generate.seconds;
    return { stage, seconds: sampling * slowdown.generate + Math.max(0, seconds - sampling) * slowdown.train, measuredSeconds: seconds };
  });
}

/**
 * Throughput counters: how many tokens this process has generated and trained
 * on, and the seconds spent on them. `generate()` counts every new token it
 * samples; a gradient step counts the positions it ran forward and backward
 * (padding included: the compute was spent on them). A stage reads the
 * counters before and after itself (StageTimer), so the report can set each
 * stage's tokens per second beside `deno task bench`'s rate for the model.
 * Counting changes nothing a computation does.
 */

/** What was counted: sampled tokens, or positions through a forward and backward pass. */
export type WorkKind = "generate" | "train";

/** Tokens moved and the seconds they took. */
export interface Work {
  readonly tokens: number;
  readonly seconds: number;
}

const totals: Record<WorkKind, { tokens: number; seconds: number }> = {
  generate: { tokens: 0, seconds: 0 },
  train: { tokens: 0, seconds: 0 },
};

/**
 * Adds `tokens` done in `seconds` to the process's count of `kind`.
 *
 * @example
 * ```ts
 * import { countWork, workSince, workSoFar } from "rlhf";
 * const before = workSoFar();
 * countWork("train", 1024, 0.1);
 * workSince(before).train; // { tokens: 1024, seconds: 0.1 }
 * ```
 */
export function countWork(kind: WorkKind, tokens: number, seconds: number): void {
  totals[kind].tokens += tokens;
  totals[kind].seconds += seconds;
}

/**
 * A snapshot of the counters, for `workSince`.
 *
 * @example
 * ```ts
 * import { workSoFar } from "rlhf";
 * workSoFar().generate.tokens; // every token generate() has sampled in this process so far
 * ```
 */
export function workSoFar(): Record<WorkKind, Work> {
  return { generate: { ...totals.generate }, train: { ...totals.train } };
}

/**
 * What was counted since `before` (a `workSoFar()` snapshot).
 *
 * @example
 * ```ts
 * import { workSince, workSoFar } from "rlhf";
 * const before = workSoFar();
 * // … a stage runs …
 * const { generate, train } = workSince(before); // its sampled and trained tokens, and the seconds they took
 * ```
 */
export function workSince(before: Record<WorkKind, Work>): Record<WorkKind, Work> {
  const now = workSoFar();
  const since = (kind: WorkKind) => ({ tokens: now[kind].tokens - before[kind].tokens, seconds: now[kind].seconds - before[kind].seconds });
  return { generate: since("generate"), train: since("train") };
}

/**
 * Tokens per second of `work`, or null when nothing was done (a stage loaded from its checkpoint).
 *
 * @example
 * ```ts
 * import { tokensPerSecond } from "rlhf";
 * tokensPerSecond({ tokens: 1024, seconds: 0.5 }); // 2048
 * tokensPerSecond({ tokens: 0, seconds: 0 }); // null
 * ```
 */
export function tokensPerSecond(work: Work): number | null {
  return work.tokens > 0 && work.seconds > 0 ? work.tokens / work.seconds : null;
}

/**
 * Positions a padded batch of token rows runs through the model: rows × length (padding counted).
 *
 * @example
 * ```ts
 * import { positions } from "rlhf";
 * positions([[5, 6, 7], [8, 0, 0]]); // 6
 * ```
 */
export function positions(rows: readonly { readonly length: number }[]): number {
  return rows.length * (rows[0]?.length ?? 0);
}

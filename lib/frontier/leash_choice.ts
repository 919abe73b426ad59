/**
 * How a method's default leash is read off the frontier: the loosest setting whose run still writes the
 * poems SFT writes. A run keeps the form when every part of its gold score but the preference itself
 * (line count, characters per line, punctuation, clean text, variety) stays within FORM_TOLERANCE of SFT's
 * at every point the sweep measured it; of those runs, the one with the highest gold wins. Looser settings buy gold the labeler's blind spot
 * pays for (repeated bright characters), which is over-optimisation, not a better method.
 */
import { type FrontierMethod, type FrontierPoint, sftPoint } from "./points.ts";

/**
 * How far below SFT's a part of the gold may fall in a run that keeps the form.
 *
 * @example
 * ```ts
 * import { FORM_TOLERANCE } from "rlhf";
 * FORM_TOLERANCE; // 0.02
 * ```
 */
export const FORM_TOLERANCE = 0.02;

/**
 * Whether `point` keeps every part of the gold but `preferencePart` within `tolerance` of `sft`'s.
 *
 * @example
 * ```ts
 * import { keepsForm } from "rlhf";
 * const at = (parts: Record<string, number>) => ({ parts }) as Parameters<typeof keepsForm>[0];
 * const sft = at({ line_count: 0.99, variety: 1, mood: 0.4 });
 * keepsForm(at({ line_count: 0.98, variety: 0.99, mood: 0.9 }), sft, "mood"); // true: the mood may move
 * keepsForm(at({ line_count: 0.98, variety: 0.34, mood: 1 }), sft, "mood"); // false: one character over and over
 * ```
 */
export function keepsForm(
  point: Pick<FrontierPoint, "parts">,
  sft: Pick<FrontierPoint, "parts">,
  preferencePart: string | undefined,
  tolerance = FORM_TOLERANCE,
): boolean {
  return Object.entries(sft.parts).every(([part, base]) => part === preferencePart || (point.parts[part] ?? -Infinity) >= base - tolerance);
}

/**
 * Whether every measured point of `run` (its checkpoints along the way and its last) keeps the form. A run that
 * broke the form on the way and came back within the tolerance at its end is not trusted to keep it: RLOO at
 * β 0.05 ended 0.016 below SFT's characters per line in the sweep, 0.043 below at its 10th iteration, and 0.021
 * below on the default run's larger evaluation.
 *
 * @example
 * ```ts
 * import { keepsFormThroughout, readPoints, sftPoint } from "rlhf";
 * const points = await readPoints("docs/runs/frontier/points.jsonl");
 * keepsFormThroughout(points, "rloo-beta0.1", sftPoint(points)!, "mood"); // true
 * keepsFormThroughout(points, "rloo-beta0.05", sftPoint(points)!, "mood"); // false: its 10th iteration broke it
 * ```
 */
export function keepsFormThroughout(
  points: readonly FrontierPoint[],
  run: string,
  sft: Pick<FrontierPoint, "parts">,
  preferencePart: string | undefined,
): boolean {
  const own = points.filter((p) => p.run === run);
  return own.length > 0 && own.every((p) => keepsForm(p, sft, preferencePart));
}

/**
 * Of a method's runs that keep the form at every measured point, the last point with the highest gold (undefined: none does).
 *
 * @example
 * ```ts
 * import { readPoints, strongestFormKeepingRun } from "rlhf";
 * const points = await readPoints("docs/runs/frontier/points.jsonl");
 * strongestFormKeepingRun(points, "dpo", "mood")?.run; // "dpo-beta0.5": DPO_DEFAULTS.beta is read here
 * ```
 */
export function strongestFormKeepingRun(
  points: readonly FrontierPoint[],
  method: FrontierMethod,
  preferencePart: string | undefined,
): FrontierPoint | undefined {
  const sft = sftPoint(points);
  if (!sft) return undefined;
  const keeping = points.filter((p) => p.method === method && p.final && keepsFormThroughout(points, p.run, sft, preferencePart));
  return keeping.reduce<FrontierPoint | undefined>((best, p) => (!best || p.gold.mean > best.gold.mean ? p : best), undefined);
}

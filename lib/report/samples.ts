/**
 * Which held-out answers to show side by side. The first requests in order,
 * plus — where the task has a preference with classes — requests on which the
 * preference's class changed from SFT to PPO in the preferred direction
 * (e.g. a sorrowful SFT answer and a bright PPO answer to the same request),
 * so that a reader sees what PPO changed. The picks are labelled as such: the
 * shares of every class over all answers are printed beside them.
 */
import type { PipelineResult } from "../pipeline/pipeline.ts";

export interface SidePick {
  /** Index into r.before (the request) and r.after / r.afterPpo (its first answers). */
  readonly index: number;
  /** Why it is shown. */
  readonly why: "in order" | "class changed";
}

/** `inOrder` first requests, then up to `changed` requests whose class went from `from` to `to`. */
export function sideBySidePicks(r: PipelineResult, inOrder = 2, changed = 3, from = "sorrowful", to = "bright"): SidePick[] {
  const picks: SidePick[] = Array.from({ length: Math.min(inOrder, r.summary.requests) }, (_, index) => ({ index, why: "in order" }));
  const classOf = r.task.preference?.classOf;
  if (!classOf) return picks;
  for (let i = inOrder; i < r.summary.requests && picks.length < inOrder + changed; i++) {
    if (classOf(r.after[i].response) === from && classOf(r.afterPpo[i].response) === to) picks.push({ index: i, why: "class changed" });
  }
  return picks;
}

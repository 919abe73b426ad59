/**
 * A point of the gold–KL frontier: one policy (a method at one setting, after some steps) measured on the
 * same held-out requests as every other point. KL is the common currency of the methods (Gao, Schulman &
 * Hilton 2022): each method buys gold score with distance from the SFT model, and they are compared at
 * equal distance. Points are appended to a JSONL file as they are measured, so a sweep resumes where it
 * stopped.
 */
import type { PolicySample } from "../eval/policy_eval.ts";
import { meanPerRequest } from "../eval/paired_difference.ts";
import { withFileLock } from "../file_lock.ts";
import { parseJsonl, withLinesAppended } from "../jsonl.ts";
import { pathExists } from "../fs.ts";
import { writeTextFileAtomic } from "../checkpoint/atomic.ts";
import { platform } from "../platform/platform.ts";

/** The method a point belongs to. */
export type FrontierMethod = "sft" | "best-of-n" | "ppo" | "dpo" | "rloo" | "grpo";

/**
 * The methods a frontier compares (SFT is their common origin), in the order tables and figures list them.
 *
 * @example
 * ```ts
 * import { FRONTIER_METHODS } from "rlhf";
 * FRONTIER_METHODS; // ["best-of-n", "ppo", "dpo", "rloo", "grpo"]
 * ```
 */
export const FRONTIER_METHODS: readonly FrontierMethod[] = ["best-of-n", "ppo", "dpo", "rloo", "grpo"];

/**
 * The SFT point (KL 0), which every envelope starts from.
 *
 * @example
 * ```ts
 * import { readPoints, sftPoint } from "rlhf";
 * const points = await readPoints("docs/runs/frontier/points.jsonl"); // deno task frontier writes it
 * sftPoint(points)?.gold.mean; // the SFT model's gold score, where every method starts
 * ```
 */
export function sftPoint(points: readonly FrontierPoint[]): FrontierPoint | undefined {
  return points.find((p) => p.method === "sft");
}

/** A mean over the requests with its standard error (over the requests' own means). */
export interface Estimate {
  readonly mean: number;
  readonly se: number;
}

export interface FrontierPoint {
  /** The run it comes from, e.g. "ppo-kl0.02" (a best-of-n point: "best-of-n"). */
  readonly run: string;
  readonly method: FrontierMethod;
  /** The settings that make this run differ from the method's default. */
  readonly settings: Readonly<Record<string, number | string | undefined>>;
  /** Iterations (online methods) or optimiser steps (DPO) done; n for best-of-n; 0 for SFT. */
  readonly step: number;
  /** The run's last point (its trained policy as the stage ends); false for a checkpoint along the way. */
  readonly final: boolean;
  readonly requests: number;
  readonly answersPerRequest: number;
  /** Sequence KL to SFT on the policy's own samples: k1 summed over answer tokens (best-of-n: log n − (n−1)/n, exact). */
  readonly kl: Estimate;
  /** k3 summed over answer tokens, beside k1 as a check (null for best-of-n, whose KL is not sampled). */
  readonly k3: Estimate | null;
  readonly gold: Estimate;
  /** The reward model's score (normalised): the proxy the methods optimise. */
  readonly rm: Estimate;
  /** Mean of each part of the gold score (form, mood, variety …). */
  readonly parts: Readonly<Record<string, number>>;
  /**
   * The models it was measured from, as the points file records them (`ppoStartedFrom`: "sft@<hash> + rm@<hash>"):
   * every point of a file has the same, so a sweep never mixes its points with another SFT model's or reward model's.
   */
  readonly from?: string;
}

/**
 * Mean and standard error of `values` asked in rounds (answer r of request i at r · requests + i), over the requests' means.
 *
 * @example
 * ```ts
 * import { estimate } from "rlhf";
 * estimate([0.2, 0.4, 0.6, 0.8], 2); // requests' means 0.4 and 0.6: { mean: 0.5, se: 0.1 }
 * ```
 */
export function estimate(values: readonly number[], requests: number): Estimate {
  const perRequest = meanPerRequest(values, requests);
  const n = perRequest.length;
  const mean = perRequest.reduce((a, b) => a + b, 0) / n;
  const variance = n < 2 ? 0 : perRequest.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}

/**
 * The point of a policy's held-out samples (asked in rounds over `requests` requests).
 *
 * @example
 * ```ts
 * import { pointFromSamples, type PolicySample } from "rlhf";
 * // samples: evaluatePolicy(…).samples on 256 requests × 2 answers, asked in rounds
 * const dpoPoint = (samples: PolicySample[]) =>
 *   pointFromSamples(samples, 256, { run: "dpo-beta0.5", method: "dpo", settings: { beta: 0.5 }, step: 739, final: true });
 * // dpoPoint(samples).kl: { mean, se }, k1 summed over each answer's tokens, averaged per request
 * ```
 */
export function pointFromSamples(
  samples: readonly PolicySample[],
  requests: number,
  at: Pick<FrontierPoint, "run" | "method" | "settings" | "step" | "final">,
): FrontierPoint {
  const parts: Record<string, number> = {};
  for (const key of Object.keys(samples[0]?.parts ?? {})) {
    parts[key] = samples.reduce((a, s) => a + (s.parts[key] ?? 0), 0) / samples.length;
  }
  return {
    ...at,
    requests,
    answersPerRequest: samples.length / requests,
    kl: estimate(samples.map((s) => s.kl), requests),
    k3: estimate(samples.map((s) => s.k3), requests),
    gold: estimate(samples.map((s) => s.gold), requests),
    rm: estimate(samples.map((s) => s.rm), requests),
    parts,
  };
}

/** Identifies a point in the file: its run and step. */
const pointKey = (p: Pick<FrontierPoint, "run" | "step">) => `${p.run}@${p.step}`;

/** Checks one line of a points file. */
function checkPoint(value: unknown, where: string): FrontierPoint {
  const p = value as Partial<FrontierPoint>;
  if (typeof p?.run !== "string" || typeof p.step !== "number" || typeof p.kl?.mean !== "number" || typeof p.gold?.mean !== "number") {
    throw new Error(`${where}: expected a frontier point {run, method, step, kl, gold, …}`);
  }
  return p as FrontierPoint;
}

/** The text of a points file, "" when it does not exist. */
async function readPointsText(path: string): Promise<string> {
  return (await pathExists(path)) ? await platform().readTextFile(path) : "";
}

/**
 * The points of a points file (none when it does not exist); a malformed line names the file and line.
 *
 * @example
 * ```ts
 * import { readPoints } from "rlhf";
 * const points = await readPoints("docs/runs/frontier/points.jsonl");
 * points.filter((p) => p.method === "dpo" && p.final).map((p) => [p.settings.beta, p.kl.mean, p.gold.mean]);
 * ```
 */
export async function readPoints(path: string): Promise<FrontierPoint[]> {
  return parseJsonl(await readPointsText(path), path, checkPoint);
}

/**
 * The points of a points file measured from `from` (none when the file does not exist); a file holding points of
 * other models (or of a file that did not record them) is refused, naming both, rather than mixed with this sweep's.
 *
 * @example
 * ```ts
 * import { pointsFromModels, ppoStartedFrom } from "rlhf";
 * const from = await ppoStartedFrom("checkpoints/sft", "checkpoints/rm"); // after deno task rlhf
 * await pointsFromModels("docs/runs/frontier/points.jsonl", from); // the committed sweep's points, or an error if they came from other models
 * ```
 */
export async function pointsFromModels(path: string, from: string): Promise<FrontierPoint[]> {
  const points = await readPoints(path);
  refuseOtherModels(path, points, from);
  return points;
}

function refuseOtherModels(path: string, points: readonly FrontierPoint[], from: string): void {
  const other = points.find((p) => p.from !== from);
  if (other) {
    throw new Error(
      `${path}: its points were measured from other models (${other.from ?? "not recorded"}), not from ${from}; ` +
        "pass --points FILE for this sweep, or move the file away",
    );
  }
}

/**
 * Appends points measured from `from` under the file's lock; a point already there (same run and step) is kept as it
 * was, and a file of other models' points is refused (`pointsFromModels`). Returns how many were added.
 *
 * @example
 * ```ts
 * import { appendPoints, readPoints } from "rlhf";
 * const path = `${await Deno.makeTempDir()}/points.jsonl`;
 * const [sft] = await readPoints("docs/runs/frontier/points.jsonl");
 * await appendPoints(path, [sft], sft.from!); // 1
 * await appendPoints(path, [sft], sft.from!); // 0: the same run and step is kept once
 * await appendPoints(path, [sft], "sft@other + rm@other"); // throws: the file holds another pair of models' points
 * ```
 */
export function appendPoints(path: string, points: readonly FrontierPoint[], from: string): Promise<number> {
  return withFileLock(path, async () => {
    const before = await readPointsText(path); // read once, inside the lock
    const existing = parseJsonl(before, path, checkPoint);
    refuseOtherModels(path, existing, from);
    const known = new Set(existing.map(pointKey));
    const fresh = points.filter((p) => !known.has(pointKey(p))).map((p) => ({ ...p, from }));
    if (fresh.length === 0) return 0;
    // The whole file rewritten atomically (it is small): a crash leaves the old points or the new ones.
    await writeTextFileAtomic(path, withLinesAppended(before, fresh.map((p) => JSON.stringify(p))));
    return fresh.length;
  });
}

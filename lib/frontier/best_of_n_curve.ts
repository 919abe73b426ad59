/**
 * Best-of-n along the frontier: from n answers of the SFT model to each request, the reward model keeps its
 * favourite. Its KL to SFT is known in closed form, log n − (n − 1)/n (lib/eval/best_of_n.ts), so its
 * points need no sampling from a trained policy: one set of SFT answers gives every n up to their number.
 */
import type { PolicySample } from "../eval/policy_eval.ts";
import { bestOfN, bestOfNKl } from "../eval/best_of_n.ts";
import { estimate, type FrontierPoint } from "./points.ts";

/** The n of the sweep: 1 (SFT itself) to 32. */
export const BEST_OF_N = [1, 2, 4, 8, 16, 32] as const;

/**
 * A point for each n from SFT samples asked in rounds (answer r of request i at r · requests + i), the
 * reward model picking among the first n rounds.
 */
export function bestOfNPoints(samples: readonly PolicySample[], requests: number, ns: readonly number[] = BEST_OF_N): FrontierPoint[] {
  const rounds = samples.length / requests;
  return ns.filter((n) => n <= rounds).map((n) => {
    const picks = bestOfN(samples.slice(0, n * requests).map((s) => s.rm), requests).map((i) => samples[i]);
    const parts: Record<string, number> = {};
    for (const key of Object.keys(picks[0]?.parts ?? {})) parts[key] = picks.reduce((a, s) => a + (s.parts[key] ?? 0), 0) / picks.length;
    return {
      run: "best-of-n",
      method: "best-of-n",
      settings: { n },
      step: n,
      final: true,
      requests,
      answersPerRequest: 1,
      kl: { mean: bestOfNKl(n), se: 0 },
      k3: null,
      gold: estimate(picks.map((s) => s.gold), requests),
      rm: estimate(picks.map((s) => s.rm), requests),
      parts,
    };
  });
}

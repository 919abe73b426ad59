/**
 * The frontier drawn as the literature draws it (Gao et al. 2022; the DPO paper's Fig. 2): the gold score
 * against the KL to the SFT model, every method's checkpoints as points and its upper envelope as a line,
 * best-of-n's curve, SFT at the origin; beside it the reward-model score against the same KL, where a
 * proxy that keeps rising while the gold turns shows over-optimisation, method by method.
 */
import { type Chart, lineChart } from "../charts/figure.ts";
import type { Series } from "../charts/chart_spec.ts";
import { FRONTIER_METHODS, type FrontierMethod, type FrontierPoint, sftPoint } from "./points.ts";
import { methodEnvelopes } from "./summary.ts";

const LABEL: Record<FrontierMethod, string> = {
  "sft": "SFT",
  "best-of-n": "best-of-n",
  ppo: "PPO",
  dpo: "DPO",
  rloo: "RLOO",
  grpo: "GRPO",
};

/** The x of a point: the KL itself, or its square root (Gao et al.'s d, on which best-of-n's gold is a parabola). */
type Axis = "kl" | "sqrt-kl";
const xOf = (kl: number, axis: Axis) => (axis === "kl" ? kl : Math.sqrt(Math.max(0, kl)));
const xTitle = (axis: Axis) => (axis === "kl" ? "KL to SFT (nats per answer)" : "√KL to SFT (√nats)");

/**
 * Gold against KL (or √KL): each method's checkpoints and envelope, best-of-n, SFT.
 *
 * @example
 * ```ts
 * import { frontierGoldChart, readPoints } from "rlhf";
 * const points = await readPoints("docs/runs/frontier/points.jsonl");
 * frontierGoldChart(points, "sqrt-kl"); // Gao et al.'s axis, gold against √KL; a notebook cell's value draws it
 * ```
 */
export function frontierGoldChart(points: readonly FrontierPoint[], axis: Axis = "kl"): Chart {
  const envelopes = methodEnvelopes(points);
  const series: Series[] = [];
  FRONTIER_METHODS.forEach((method, color) => {
    const own = points.filter((p) => p.method === method);
    const env = envelopes.get(method);
    if (!own.length || !env) return;
    series.push({ name: `${LABEL[method]} envelope`, x: env.map((p) => xOf(p.kl, axis)), y: env.map((p) => p.gold), color });
    if (method !== "best-of-n") {
      series.push({
        name: `${LABEL[method]} checkpoints`,
        mode: "markers",
        x: own.map((p) => xOf(p.kl.mean, axis)),
        y: own.map((p) => p.gold.mean),
        color,
      });
    }
  });
  const sft = sftPoint(points);
  if (sft) series.push({ name: "SFT", mode: "markers", x: [0], y: [sft.gold.mean], color: FRONTIER_METHODS.length });
  return lineChart({
    title: "金分数 vs KL: gold score along each method's leash",
    xTitle: xTitle(axis),
    yTitle: "gold score (held-out)",
    series,
  });
}

/**
 * The reward model's score against KL at every checkpoint: the proxy beside the gold.
 *
 * @example
 * ```ts
 * import { frontierProxyChart, readPoints } from "rlhf";
 * frontierProxyChart(await readPoints("docs/runs/frontier/points.jsonl")); // in a notebook, the cell's value draws it
 * ```
 */
export function frontierProxyChart(points: readonly FrontierPoint[]): Chart {
  const series: Series[] = [];
  FRONTIER_METHODS.forEach((method, color) => {
    const own = points.filter((p) => p.method === method);
    if (own.length) {
      series.push({
        name: `${LABEL[method]} (RM score)`,
        mode: "markers",
        x: own.map((p) => p.kl.mean),
        y: own.map((p) => p.rm.mean),
        color,
      });
    }
  });
  const sft = sftPoint(points);
  if (sft) series.push({ name: "SFT", mode: "markers", x: [0], y: [sft.rm.mean], color: FRONTIER_METHODS.length });
  return lineChart({
    title: "奖励模型分数 vs KL: the proxy the methods optimise",
    xTitle: xTitle("kl"),
    yTitle: "reward-model score (normalised)",
    series,
  });
}

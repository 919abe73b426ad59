/**
 * The frontier read as numbers: each method's envelope (the best gold it reached within each KL budget),
 * its gold at equal KL, the KL it needs to reach a stated gain, Gao et al.'s forms fitted to it, and every
 * run's last point with its form and variety beside the gold (a high gold bought by repeating bright
 * characters shows there).
 */
import { Table } from "../charts/table.ts";
import { fitGao, type GaoFit, goldAtKl, type KlGold, klToReach, upperEnvelope } from "./envelope.ts";
import { type Estimate, FRONTIER_METHODS, type FrontierMethod, type FrontierPoint, sftPoint } from "./points.ts";
import { FORM_TOLERANCE, keepsForm, keepsFormThroughout, strongestFormKeepingRun } from "./leash_choice.ts";

/** The KL budgets (nats) at which the methods are compared. */
const EQUAL_KL = [0.5, 1, 2, 4, 8] as const;
/** The gain over SFT whose price in KL the summary states. */
const STATED_GAIN = 0.1;

const asKlGold = (p: FrontierPoint): KlGold => ({ kl: p.kl.mean, gold: p.gold.mean, goldSe: p.gold.se });
const pm = (e: Estimate | undefined, digits = 3) => (e ? `${e.mean.toFixed(digits)} ± ${e.se.toFixed(digits)}` : "—");

/**
 * Each method's upper envelope over all its points (every run, every checkpoint), from SFT.
 *
 * @example
 * ```ts
 * import { methodEnvelopes, readPoints } from "rlhf";
 * const envelopes = methodEnvelopes(await readPoints("docs/runs/frontier/points.jsonl"));
 * envelopes.get("ppo")?.map((p) => [p.kl, p.gold]); // PPO's best gold within each KL budget
 * ```
 */
export function methodEnvelopes(points: readonly FrontierPoint[]): Map<FrontierMethod, KlGold[]> {
  const sft = sftPoint(points);
  const envelopes = new Map<FrontierMethod, KlGold[]>();
  for (const method of FRONTIER_METHODS) {
    const own = points.filter((p) => p.method === method);
    if (own.length) envelopes.set(method, upperEnvelope(own.map(asKlGold), sft && asKlGold(sft)));
  }
  return envelopes;
}

/**
 * Gold on each method's envelope at the KL budgets, and the KL it needs to gain STATED_GAIN over SFT.
 *
 * @example
 * ```ts
 * import { equalKlTable, readPoints } from "rlhf";
 * equalKlTable(await readPoints("docs/runs/frontier/points.jsonl")); // one row a method: gold at KL 0.5, 1, 2, 4, 8
 * ```
 */
export function equalKlTable(points: readonly FrontierPoint[]): Table {
  const sftGold = sftPoint(points)?.gold.mean ?? NaN;
  const rows = [...methodEnvelopes(points)].map(([method, env]) => {
    const reach = klToReach(env, sftGold + STATED_GAIN);
    return [method, ...EQUAL_KL.map((kl) => pm(goldAtKl(env, kl))), reach === undefined ? "not reached" : reach.toFixed(2)];
  });
  return new Table(["method", ...EQUAL_KL.map((kl) => `gold at KL ${kl}`), `KL for SFT + ${STATED_GAIN}`], rows);
}

/** Gao et al.'s best-of-n form for best-of-n and the RL form for the others, fitted to each envelope's gain over SFT. */
function gaoFits(points: readonly FrontierPoint[]): { method: FrontierMethod; fit: GaoFit }[] {
  const sftGold = sftPoint(points)?.gold.mean ?? 0;
  const fits: { method: FrontierMethod; fit: GaoFit }[] = [];
  for (const [method, env] of methodEnvelopes(points)) {
    const fit = fitGao(method === "best-of-n" ? "best-of-n" : "rl", env.map((p) => ({ kl: p.kl, gain: p.gold - sftGold })));
    if (fit) fits.push({ method, fit });
  }
  return fits;
}

/** Each run's last point: KL (k1, with k3 beside it), gold, reward-model score, form and variety, whether it keeps the form. */
function finalPointsTable(points: readonly FrontierPoint[], preferencePart: string | undefined): Table {
  const sft = sftPoint(points);
  const rows = points.filter((p) => p.final).map((p) => [
    p.run,
    p.step,
    `${pm(p.kl, 2)}${p.k3 ? ` (k3 ${p.k3.mean.toFixed(2)})` : ""}`,
    pm(p.gold),
    pm(p.rm, 2),
    (p.parts.line_count ?? NaN).toFixed(2),
    (p.parts.variety ?? NaN).toFixed(2),
    sft && (p.method === "best-of-n" ? keepsForm(p, sft, preferencePart) : keepsFormThroughout(points, p.run, sft, preferencePart))
      ? "yes"
      : "no",
  ]);
  return new Table(["run", "step", "KL to SFT (nats)", "gold", "RM score", "line count", "variety", "keeps form (every point)"], rows);
}

/** Each trained method's strongest run that keeps the form: where its default leash is read. */
function leashChoices(points: readonly FrontierPoint[], preferencePart: string | undefined): string[] {
  return FRONTIER_METHODS.filter((m) => m !== "best-of-n" && points.some((p) => p.method === m)).map((method) => {
    const best = strongestFormKeepingRun(points, method, preferencePart);
    return best ? `${method}: ${best.run} (gold ${pm(best.gold)} at KL ${best.kl.mean.toFixed(2)})` : `${method}: no run keeps the form`;
  });
}

/**
 * The whole summary as plain text (the console's). `preferencePart` is the part of the gold the labeler's
 * preference is about (the task's `preference.part`): every other part counts as form.
 *
 * @example
 * ```ts
 * import { frontierSummary, readPoints } from "rlhf";
 * console.log(frontierSummary(await readPoints("docs/runs/frontier/points.jsonl"), "mood")); // what deno task frontier prints
 * ```
 */
export function frontierSummary(points: readonly FrontierPoint[], preferencePart?: string): string {
  const fits = gaoFits(points).map(({ method, fit }) =>
    `${method}: ${fit.form} form, α = ${fit.alpha.toFixed(3)}, β = ${fit.beta.toFixed(3)} (rms ${fit.rmse.toFixed(3)})`
  );
  return [
    "Every run's last point:",
    finalPointsTable(points, preferencePart).text(),
    "",
    `Each method's strongest run that keeps the form (every part but ${
      preferencePart ?? "none"
    } within ${FORM_TOLERANCE} of SFT's at every measured point):`,
    ...leashChoices(points, preferencePart),
    "",
    "At equal KL (gold on each method's envelope, ± the larger SE of its two neighbours; — = not reached):",
    equalKlTable(points).text(),
    "",
    "Gao et al.'s forms fitted to the envelopes (gain over SFT against d = √KL):",
    ...fits,
  ].join("\n");
}

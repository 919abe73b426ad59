/**
 * The people's agreement in a run's report, when the run trained on rank lists
 * of at least two people (`deno task rlhf --labels` a class's files): the
 * reward model's held-out accuracy beside how often the labelers agree with
 * each other, its ceiling (InstructGPT: labeler–labeler 72.6 ± 1.5 %, reward
 * model on held-out labelers 72.4 ± 0.4 %).
 */
import { escapeHtml } from "../charts/table.ts";
import { agreementLines, type ClassAgreement, percent } from "../labeling/class_agreement.ts";
import type { RewardStageResult } from "../pipeline/reward_stage.ts";
import type { GroupRewardRow } from "../labeling/reward_by_labeler.ts";

/** One reward model per labeler or per session (`deno task rlhf --rm-per`), each measured on its own and the others' lists. */
export interface RewardModelsPer {
  readonly per: "labeler" | "session";
  readonly rows: readonly GroupRewardRow[];
}

/** The agreement as metrics.json numbers (NaN as null); with `versusSimulated`, the simulated labeler against each person. */
export function labelerAgreementMetrics(a: ClassAgreement, versusSimulated: RewardStageResult["simulatedVsPeople"] = []) {
  const n = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    labelers: a.labelers.length,
    pairwise: { pairs: a.pairwise.pooled.pairs, agreement: n(a.pairwise.pooled.agreement) },
    vs_majority: Object.fromEntries(a.majority.map((m) => [m.labeler, { pairs: m.pairs, agreement: n(m.agreement) }])),
    kendall_w: { mean: n(a.kendallW.mean), lists: a.kendallW.items },
    krippendorff_alpha_ordinal: { value: n(a.alpha.value), answers: a.alpha.units },
    ...(versusSimulated.length
      ? { simulated_labeler_vs: Object.fromEntries(versusSimulated.map((r) => [r.labeler, { pairs: r.pairs, agreement: n(r.agreement) }])) }
      : {}),
  };
}

/** The simulated labeler against each person, as lines (the report's and the console's). */
export function versusSimulatedLines(rw: Pick<RewardStageResult, "simulatedVsPeople">): string[] {
  return (rw.simulatedVsPeople ?? []).map((r) => `  the simulated labeler vs ${r.labeler}: ${percent(r.agreement)} on ${r.pairs} pairs`);
}

/** A paragraph for the report's summary; empty without two people's rank lists. With `per`, the reward models per group. */
export function labelerAgreementParagraph(
  rw: Pick<RewardStageResult, "labelerAgreement" | "heldoutAccuracy" | "simulatedVsPeople">,
  per?: RewardModelsPer,
): string {
  const a = rw.labelerAgreement;
  if (!a) return "";
  return `<p><b>Labelers</b>: reward model held-out accuracy ${(100 * rw.heldoutAccuracy.pairwise).toFixed(1)} % ` +
    `(on the simulated labeler's held-out lists) beside the people's agreement with each other, the ceiling of any reward model ` +
    `fitted on their rankings:</p>\n<pre>${
      escapeHtml([...agreementLines(a), ...versusSimulatedLines(rw), ...perGroupLines(per)].join("\n"))
    }</pre>`;
}

/** metrics.json's `reward_models_per`: each group's lists and pairwise accuracy on its own and on the others' lists. */
export function rewardModelsPerMetrics(per: RewardModelsPer) {
  const n = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    per: per.per,
    groups: Object.fromEntries(per.rows.map((r) => [r.group, { lists: r.lists, own_lists: n(r.own), others_lists: n(r.others) }])),
  };
}

/** The reward model per group, as lines: accuracy on its own lists and on the others' (held-out labelers). */
export function perGroupLines(per: RewardModelsPer | undefined): string[] {
  if (!per?.rows.length) return [];
  return [
    `one reward model per ${per.per}, pairwise accuracy on its own lists / on the others' (held-out labelers):`,
    ...per.rows.map((r) => `  ${r.group}: ${r.lists} lists, own ${percent(r.own)}, others ${percent(r.others)}`),
  ];
}

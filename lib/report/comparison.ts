/**
 * One table of every method the run trained, on the same held-out evaluation:
 * SFT, best-of-n (the reward model picks one of SFT's n answers), PPO and the
 * methods beside it (DPO, RLOO, GRPO). Gold score and its gain over SFT
 * (paired, ± 1 SE) on all held-out requests; reward-model score and KL to SFT
 * on PPO's held-out view; whether the row sits at PPO's KL; training wall time
 * (over every session that trained the stage, so a reused stage says what it
 * cost); one answer to the first request. The console and the report print the
 * same rows.
 *
 * A method further from SFT buys more gold with more drift, so gains at
 * different KL do not rank methods: each row says whether its KL matches PPO's,
 * and `klNote` says it in a sentence (the equal-KL comparison is `deno task
 * frontier`'s).
 */
import { formatDifference } from "../eval/paired_difference.ts";
import type { PipelineResult } from "../pipeline/pipeline.ts";

export interface ComparisonRow {
  readonly method: string;
  readonly gold: string;
  readonly gainOverSft: string;
  readonly rm: string;
  readonly kl: string;
  readonly matched: string;
  readonly seconds: string;
  readonly sample: string;
}

export const COMPARISON_COLUMNS = [
  "method",
  "gold",
  "gain over SFT (± SE)",
  "RM score",
  "KL to SFT (nats)",
  "at PPO's KL?",
  "training (s)",
  "an answer",
];

/** A method's row as the table names it ("DPO"); an outside policy keeps its "policy:<directory>". */
const rowLabel = (row: string) => (row.startsWith("policy:") ? row : row.toUpperCase());

/** Two KLs within this factor of each other count as matched. */
export const KL_MATCH_FACTOR = 1.5;

/** Whether a KL matches PPO's, said plainly: "yes (1.2×)", "no: 4.9× PPO's". */
function matchToPpo(kl: number, ppoKl: number): string {
  const ratio = kl / ppoKl;
  const matched = ratio <= KL_MATCH_FACTOR && ratio >= 1 / KL_MATCH_FACTOR;
  return matched ? `yes (${ratio.toFixed(1)}×)` : `no: ${ratio.toFixed(1)}× PPO's`;
}

/** What a trained stage cost (wall time over every session that trained it) and whether this run only loaded it. */
export function stageTraining(r: PipelineResult, method: string): { seconds?: number; reused?: boolean } {
  if (method === "sft") return { seconds: r.sftHistory.trainingSeconds, reused: r.sftHistory.reused };
  if (method === "ppo") return { seconds: r.ppo.trainingSeconds, reused: r.ppo.reused };
  if (method === "reward model") return { seconds: r.reward.trainingSeconds, reused: r.reward.reused };
  const result = method === "dpo" ? r.dpo : r.group[method as keyof PipelineResult["group"]];
  return { seconds: result?.trainingSeconds, reused: result?.reused };
}

/** A trained stage's wall time over every session (a reused stage: what it cost when it trained); metrics.json's "seconds". */
export function trainingSeconds(r: PipelineResult, method: string): number | undefined {
  return stageTraining(r, method).seconds;
}

/** "186" for a stage this run trained, "186 (loaded)" for one it only loaded. */
export function trainingCell(r: PipelineResult, method: string): string {
  const { seconds, reused } = stageTraining(r, method);
  return seconds === undefined ? "" : `${seconds.toFixed(0)}${reused ? " (loaded)" : ""}`;
}

export function methodComparison(r: PipelineResult): ComparisonRow[] {
  const s = r.summary;
  const seconds = (method: string) => trainingCell(r, method);
  const ppoKl = r.ppo.after.kl;
  const short = (text: string) => (text.length > 40 ? text.slice(0, 40) + "…" : text).replaceAll("\n", " ");
  const rows: ComparisonRow[] = [{
    method: "SFT",
    gold: s.sft.total.toFixed(3),
    gainOverSft: "",
    rm: r.ppo.before.rm.toFixed(3),
    kl: "0",
    matched: "",
    seconds: seconds("sft"),
    sample: short(r.after[0]?.response ?? ""),
  }];
  if (s.bestOfN) {
    rows.push({
      method: `best-of-${s.bestOfN.n} (RM picks)`,
      gold: s.bestOfN.scores.total.toFixed(3),
      gainOverSft: formatDifference(s.bestOfN.gain),
      rm: "",
      kl: s.bestOfN.kl.toFixed(3),
      matched: matchToPpo(s.bestOfN.kl, ppoKl),
      seconds: "0",
      sample: short(s.bestOfN.picks[0]?.response ?? ""),
    });
  }
  rows.push({
    method: "PPO",
    gold: s.ppo.total.toFixed(3),
    gainOverSft: formatDifference(s.ppoGain),
    rm: r.ppo.after.rm.toFixed(3),
    kl: ppoKl.toFixed(3),
    matched: "PPO's own",
    seconds: seconds("ppo"),
    sample: short(r.afterPpo[0]?.response ?? ""),
  });
  for (const [method, m] of Object.entries(s.methods)) {
    rows.push({
      method: rowLabel(method),
      gold: m!.scores.total.toFixed(3),
      gainOverSft: formatDifference(m!.gain),
      rm: m!.view.rm.toFixed(3),
      kl: m!.view.kl.toFixed(3),
      matched: matchToPpo(m!.view.kl, ppoKl),
      seconds: seconds(method),
      sample: short(m!.samples[0]?.response ?? ""),
    });
  }
  return rows;
}

/**
 * The table's KLs in one sentence: matched (every row within KL_MATCH_FACTOR of PPO's), or plainly not,
 * with the range, and where the methods are compared at equal KL.
 */
export function comparisonKlNote(r: PipelineResult): string {
  const ppoKl = r.ppo.after.kl;
  const others: [string, number][] = [
    ...(r.summary.bestOfN ? [[`best-of-${r.summary.bestOfN.n}`, r.summary.bestOfN.kl] as [string, number]] : []),
    ...Object.entries(r.summary.methods).map(([m, v]) => [rowLabel(m), v!.view.kl] as [string, number]),
  ];
  const unmatched = others.filter(([, kl]) => matchToPpo(kl, ppoKl).startsWith("no"));
  if (!unmatched.length) {
    return `Every row sits within ${KL_MATCH_FACTOR}× of PPO's KL (${ppoKl.toFixed(2)} nats): the gains compare like for like.`;
  }
  const listed = unmatched.map(([name, kl]) => `${name} ${kl.toFixed(2)}`).join(", ");
  return `Not matched: PPO ends at KL ${ppoKl.toFixed(2)} nats, ${listed}. A method further from SFT buys more gold with more ` +
    `drift, so these gains do not rank the methods; \`deno task frontier\` compares them at equal KL (docs/runs/frontier).`;
}

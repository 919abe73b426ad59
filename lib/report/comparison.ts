/**
 * One table of every method the run trained, on the same held-out evaluation:
 * SFT, best-of-n (the reward model picks one of SFT's n answers), PPO and the
 * methods beside it (DPO, RLOO, GRPO). Gold score and its gain over SFT
 * (paired, ± 1 SE) on all held-out requests; reward-model score and KL to SFT
 * on PPO's held-out view; training wall time; one answer to the first request.
 * The console and the report print the same rows.
 */
import { formatDifference } from "../eval/paired_difference.ts";
import type { PipelineResult } from "../pipeline/pipeline.ts";

export interface ComparisonRow {
  readonly method: string;
  readonly gold: string;
  readonly gainOverSft: string;
  readonly rm: string;
  readonly kl: string;
  readonly seconds: string;
  readonly sample: string;
}

export const COMPARISON_COLUMNS = ["method", "gold", "gain over SFT (± SE)", "RM score", "KL to SFT (nats)", "training (s)", "an answer"];

export function methodComparison(r: PipelineResult): ComparisonRow[] {
  const s = r.summary;
  const seconds = (stage: string) => r.timings.find((t) => t.stage === stage)?.seconds.toFixed(0) ?? "";
  const short = (text: string) => (text.length > 40 ? text.slice(0, 40) + "…" : text).replaceAll("\n", " ");
  const rows: ComparisonRow[] = [{
    method: "SFT",
    gold: s.sft.total.toFixed(3),
    gainOverSft: "",
    rm: r.ppo.before.rm.toFixed(3),
    kl: "0",
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
      seconds: "0",
      sample: short(s.bestOfN.picks[0]?.response ?? ""),
    });
  }
  rows.push({
    method: "PPO",
    gold: s.ppo.total.toFixed(3),
    gainOverSft: formatDifference(s.ppoGain),
    rm: r.ppo.after.rm.toFixed(3),
    kl: r.ppo.after.kl.toFixed(3),
    seconds: seconds("ppo"),
    sample: short(r.afterPpo[0]?.response ?? ""),
  });
  for (const [method, m] of Object.entries(s.methods)) {
    rows.push({
      method: method.toUpperCase(),
      gold: m!.scores.total.toFixed(3),
      gainOverSft: formatDifference(m!.gain),
      rm: m!.view.rm.toFixed(3),
      kl: m!.view.kl.toFixed(3),
      seconds: m!.seconds.toFixed(0),
      sample: short(m!.samples[0]?.response ?? ""),
    });
  }
  return rows;
}

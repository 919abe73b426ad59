/**
 * The console summary of a pipeline run, printed by `deno task rlhf`: the same
 * numbers the report and metrics.json carry, as tables and a few samples.
 */
import { agreementLines } from "../labeling/class_agreement.ts";
import { versusSimulatedLines } from "./labeler_agreement.ts";
import { formatDifference } from "../eval/paired_difference.ts";
import { countParams } from "../gpt2/init.ts";
import type { PipelineResult } from "../pipeline/pipeline.ts";
import { comparisonKlNote, methodComparison } from "./comparison.ts";
import { sideBySidePicks } from "./samples.ts";
import { throughputLine } from "./throughput.ts";

export interface SummaryContext {
  readonly backend: string;
  readonly totalSeconds: number;
  /** The run pretrained its own model first (its held-out loss is shown). */
  readonly fromScratch: boolean;
  readonly ppoReward: "rm" | "gold";
}

export function printRunSummary(r: PipelineResult, o: SummaryContext): void {
  const c = r.model.config;
  const last = (h: { eval: { loss: number }[] }) => h.eval.at(-1)?.loss.toFixed(3) ?? "-";
  console.log(`\n== ${r.task.name}: ${r.task.description} ==`);
  if (r.task.preference) console.log(`preference (what the simulated labeler ranks by): ${r.task.preference.description}`);
  console.log(
    `backend ${o.backend}; model ${c.n_layer} layers × C=${c.n_embd}, vocab ${c.vocab_size}, ${
      (countParams(r.model) / 1e6).toFixed(2)
    }M parameters`,
  );
  console.log(`times: ${r.timings.map((t) => `${t.stage} ${t.seconds.toFixed(0)} s`).join(", ")}; total ${o.totalSeconds.toFixed(0)} s`);
  console.log(throughputLine(r.timings));
  console.log(
    `held-out loss: ${o.fromScratch ? `pretrain ${last(r.pretrainHistory)}, ` : ""}SFT (assistant tokens) ${
      last(r.sftHistory)
    }; started from ${r.startedFrom}`,
  );
  if (r.skippedTooLong) console.log(`SFT examples skipped as longer than the context: ${r.skippedTooLong}`);

  const pp = r.ppo;
  const ptxCoefUsed = pp.config.ptxCoef;
  console.log(
    `\nPPO (${pp.history.stats.length} iterations against the ${
      o.ppoReward === "gold" ? "gold scorer" : "reward model"
    }, KL penalty to the SFT model${
      ptxCoefUsed ? `, PPO-ptx c_ptx = ${ptxCoefUsed}` : ""
    }), ${pp.after.samples.length} held-out requests, one answer each (gold ± ~0.01; the precise comparison is at the end):`,
  );
  console.table({
    "reward-model score": { sft: +pp.before.rm.toFixed(3), ppo: +pp.after.rm.toFixed(3) },
    "gold score": { sft: +pp.before.gold.toFixed(3), ppo: +pp.after.gold.toFixed(3) },
    "KL to SFT (nats/answer)": { sft: +pp.before.kl.toFixed(3), ppo: +pp.after.kl.toFixed(3) },
  });
  for (let i = 0; i < Math.min(3, pp.after.samples.length); i++) {
    const [b, a] = [pp.before.samples[i], pp.after.samples[i]];
    console.log(`  request: ${a.prompt.messages.at(-1)!.content}`);
    console.log(`    sft (gold ${b.gold.toFixed(2)}, rm ${b.rm.toFixed(2)}): ${JSON.stringify(b.response.slice(0, 60))}`);
    console.log(`    ppo (gold ${a.gold.toFixed(2)}, rm ${a.rm.toFixed(2)}): ${JSON.stringify(a.response.slice(0, 60))}`);
  }

  const rw = r.reward;
  console.log(
    `\nReward model: ${rw.trainLists} training rank lists (${
      Object.entries(rw.listsByLabeler).map(([who, n]) => `${who}: ${n}`).join(", ")
    }), ${rw.heldoutLists} held-out lists (simulated labeler)`,
  );
  console.log(
    `  held-out pairwise accuracy ${rw.accuracyBefore.pairwise.toFixed(3)} (untrained head) → ${
      rw.heldoutAccuracy.pairwise.toFixed(3)
    }, exact order ${rw.heldoutAccuracy.exactOrder.toFixed(3)} (${
      (100 * rw.heldoutTiedPairs).toFixed(0)
    } % of pairs tied by the labeler, left out)`,
  );
  console.log(`  Spearman(RM score, gold score) on held-out responses: ${rw.spearmanWithGold.toFixed(3)}`);
  if (rw.labelerAgreement) {
    console.log(`  the people's agreement with each other, the ceiling of a reward model fitted on their rankings:`);
    for (const line of [...agreementLines(rw.labelerAgreement), ...versusSimulatedLines(rw)]) console.log(`    ${line}`);
  }
  console.log(
    `  pairs the gold score tells apart, by the part that differs (RM agreement): ${
      rw.agreementByPart.map((a) => `${a.kind} ${a.agreement.toFixed(2)} (${a.pairs})`).join(", ")
    }`,
  );
  console.log(
    `  the best held-out answers made worse in one known way; RM prefers the original (chance 0.5): ${
      rw.editProbe.map((e) => `${e.edit} ${e.rmPrefersOriginal.toFixed(2)}`).join(", ")
    }`,
  );
  console.log(`  the gold scorer itself on the same labels: pairwise ${rw.goldAccuracy.pairwise.toFixed(3)} (the ceiling: label noise)`);

  const { pretrained, sft, ppo } = r.summary;
  const partNames = Object.keys(sft.parts);
  const row = (pick: (s: typeof sft) => number) => ({
    pretrained: +pick(pretrained).toFixed(3),
    sft: +pick(sft).toFixed(3),
    ppo: +pick(ppo).toFixed(3),
  });
  const bo = r.summary.bestOfN;
  console.log(
    `\nGold score on ${r.summary.requests} held-out requests × ${r.summary.answersPerRequest} answers each (pretrained-only: 1), same sampling for all (mean, in [0, 1])` +
      (bo ? `; best-of-${bo.n}: the reward model picks one of SFT's ${bo.n} answers to each request:` : ":"),
  );
  const withBest = (pick: (s: typeof sft) => number) => ({
    ...row(pick),
    ...(bo ? { [`best-of-${bo.n}`]: +pick(bo.scores).toFixed(3) } : {}),
  });
  console.table(Object.fromEntries([
    ["total", withBest((s) => s.total)],
    ["ended its turn", withBest((s) => s.ended)],
    ...partNames.map((k) => [k, withBest((s) => s.parts[k] ?? 0)]),
  ]));
  const classes = r.summary.preferenceClasses;
  if (classes) {
    const kinds = Object.keys({ ...classes.pretrained, ...classes.sft, ...classes.ppo });
    console.log(`Answers by class of the preference (share of all answers):`);
    console.table(Object.fromEntries(kinds.map((k) => [k, {
      pretrained: +(classes.pretrained[k] ?? 0).toFixed(3),
      sft: +(classes.sft[k] ?? 0).toFixed(3),
      ppo: +(classes.ppo[k] ?? 0).toFixed(3),
      ...(classes.bestOfN ? { [`best-of-${bo!.n}`]: +(classes.bestOfN[k] ?? 0).toFixed(3) } : {}),
    }])));
  }
  console.log(
    `Gain, request by request (mean of each request's answers; ± 1 standard error over requests): SFT − pretrained ${
      formatDifference(r.summary.sftGain)
    }, PPO − SFT ${formatDifference(r.summary.ppoGain)}`,
  );
  if (Object.keys(r.summary.methods).length) {
    console.log(`\nEvery method on the same held-out evaluation (RM score and KL on PPO's held-out view):`);
    console.table(methodComparison(r));
    console.log(comparisonKlNote(r));
  }
  if (bo) {
    console.log(
      `  best-of-${bo.n} − SFT ${formatDifference(bo.gain)} at KL ${bo.kl.toFixed(3)} nats (log ${bo.n} − ${
        bo.n - 1
      }/${bo.n}); PPO − best-of-${bo.n} ${formatDifference(bo.ppoOverIt)} at KL ${pp.after.kl.toFixed(3)}`,
    );
  }
  const classOf = r.task.preference?.classOf;
  console.log(
    `Samples, side by side: the first requests, then requests whose SFT answer is sorrowful and PPO answer bright (picked to show the change; the shares above are over all answers):`,
  );
  for (const { index: i, why } of sideBySidePicks(r)) {
    const show = (s: string) => JSON.stringify(s.length > 60 ? s.slice(0, 60) + "…" : s) + (classOf ? ` [${classOf(s)}]` : "");
    console.log(`  request (${why}): ${r.after[i].prompt.messages.at(-1)!.content}`);
    console.log(`    pretrained (${r.before[i].score.total.toFixed(2)}): ${show(r.before[i].response)}`);
    console.log(`    sft        (${r.after[i].score.total.toFixed(2)}): ${show(r.after[i].response)}`);
    console.log(`    ppo        (${r.afterPpo[i].score.total.toFixed(2)}): ${show(r.afterPpo[i].response)}`);
  }
}

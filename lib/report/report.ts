/**
 * The pipeline's report: one self-contained HTML file (inline SVG charts and
 * tables; no scripts, no network: it opens anywhere, offline) and
 * `metrics.json` beside it with the final numbers, so runs can be compared by
 * a script. Both written atomically.
 */
import { escapeHtml } from "../charts/table.ts";
import { machineLine } from "../machine.ts";
import { writeJsonAtomic, writeTextFileAtomic } from "../checkpoint/atomic.ts";
import { withFileLock } from "../file_lock.ts";
import { formatDifference } from "../eval/paired_difference.ts";
import { lineChart } from "../charts/figure.ts";
import { renderSvg } from "../charts/svg.ts";
import { Table } from "../charts/table.ts";
import {
  heldoutGoldChart,
  heldoutKlChart,
  heldoutRewardChart,
  lossChart,
  rewardAccuracyChart,
  rewardTrainingChart,
} from "../charts/training.ts";
import { countParams } from "../gpt2/init.ts";
import type { PipelineResult } from "../pipeline/pipeline.ts";
import { COMPARISON_COLUMNS, comparisonKlNote, methodComparison, trainingCell, trainingSeconds } from "./comparison.ts";
import { sideBySidePicks } from "./samples.ts";
import { frontierSection, type ReportFrontier } from "./frontier_section.ts";
import { benchReference, stageThroughput, throughputTable } from "./throughput.ts";
import type { BenchRecord } from "../bench/bench_record.ts";
import { labelerAgreementMetrics, labelerAgreementParagraph, type RewardModelsPer, rewardModelsPerMetrics } from "./labeler_agreement.ts";

export interface ReportContext {
  readonly backend: string;
  readonly totalSeconds: number;
  readonly options: unknown;
  /** The gold–KL frontier to show beside this run's methods (`deno task frontier`'s points), if any. */
  readonly frontier?: ReportFrontier;
  /** `deno task bench`'s record (reports/bench/latest.json): each stage's throughput is set beside it on the same machine. */
  readonly bench?: BenchRecord;
  /** One reward model per labeler or session (`--rm-per`), shown beside the people's agreement. */
  readonly rewardModelsPer?: RewardModelsPer;
}

/** The numbers of a run, per stage (see the README for their meaning). */
function pipelineMetrics(r: PipelineResult, ctx: ReportContext) {
  const seconds = (stage: string) => r.timings.find((t) => t.stage === stage)?.seconds ?? null;
  const throughput = (stage: string) => stageThroughput(r.timings.find((t) => t.stage === stage)?.work);
  const c = r.model.config;
  return {
    date: new Date().toISOString(),
    task: r.task.name,
    preference: r.task.preference?.description ?? null,
    preference_part: r.task.preference?.part ?? null,
    started_from: r.startedFrom,
    backend: ctx.backend,
    machine: machineLine(),
    sizes: {
      n_layer: c.n_layer,
      n_head: c.n_head,
      n_embd: c.n_embd,
      vocab_size: c.vocab_size,
      n_positions: c.n_positions,
      parameters: countParams(r.model),
    },
    total_seconds: ctx.totalSeconds,
    // deno task bench's tokens/s for this model's shape on this machine (reports/bench/latest.json), if it ran here
    bench: benchReference(ctx.bench, c, machineLine()),
    stages: {
      pretrain: {
        seconds: seconds("pretrain"),
        throughput: throughput("pretrain"),
        heldout_loss: r.pretrainHistory.eval.at(-1)?.loss ?? null,
      },
      sft: { seconds: seconds("sft"), throughput: throughput("sft"), heldout_loss: r.sftHistory.eval.at(-1)?.loss ?? null },
      reward_model: {
        seconds: seconds("reward model"),
        throughput: throughput("reward model"),
        train_rank_lists: r.reward.trainLists,
        train_rank_lists_by_labeler: r.reward.listsByLabeler,
        heldout_rank_lists: r.reward.heldoutLists,
        heldout_pairwise_accuracy: r.reward.heldoutAccuracy.pairwise,
        ...(r.reward.labelerAgreement
          ? { labeler_agreement: labelerAgreementMetrics(r.reward.labelerAgreement, r.reward.simulatedVsPeople) }
          : {}),
        ...(ctx.rewardModelsPer ? { reward_models_per: rewardModelsPerMetrics(ctx.rewardModelsPer) } : {}),
        heldout_tied_pairs: r.reward.heldoutTiedPairs,
        agreement_by_part: Object.fromEntries(r.reward.agreementByPart.map((a) => [a.kind, { pairs: a.pairs, agreement: a.agreement }])),
        edit_probe: Object.fromEntries(
          r.reward.editProbe.map((
            e,
          ) => [e.edit, {
            answers: e.answers,
            rm_prefers_original: e.rmPrefersOriginal,
            mean_rm_change: e.meanRmChange,
            mean_gold_change: e.meanGoldChange,
          }]),
        ),
        heldout_exact_order_accuracy: r.reward.heldoutAccuracy.exactOrder,
        spearman_with_gold: r.reward.spearmanWithGold,
        gold_scorer_pairwise_accuracy: r.reward.goldAccuracy.pairwise,
      },
      ppo: {
        seconds: seconds("ppo"),
        throughput: throughput("ppo"),
        iterations: r.ppo.history.stats.length,
        rollouts_per_iteration: r.ppo.config.batchSize,
        kl_coef_initial: r.ppo.config.initKlCoef,
        ptx_coef: r.ppo.config.ptxCoef,
        rm_score: { sft: r.ppo.before.rm, ppo: r.ppo.after.rm },
        gold_score: { sft: r.ppo.before.gold, ppo: r.ppo.after.gold },
        kl_to_sft: { sft: r.ppo.before.kl, ppo: r.ppo.after.kl },
        // held-out gold (± SE), its parts, RM score (± SE) and KL every few iterations (iteration 0 = SFT)
        heldout_curve: r.ppo.history.eval,
      },
      evaluate: { seconds: seconds("evaluate"), throughput: throughput("evaluate") },
    },
    heldout_gold: {
      requests: r.summary.requests,
      answers_per_request: r.summary.answersPerRequest, // SFT and PPO; the pretrained-only model answers each once
      pretrained: r.summary.pretrained.total,
      sft: r.summary.sft.total,
      ppo: r.summary.ppo.total,
      // paired over the same requests (each request's mean over its answers): mean difference and its standard error
      sft_minus_pretrained: { mean: r.summary.sftGain.mean, standard_error: r.summary.sftGain.standardError },
      ppo_minus_sft: { mean: r.summary.ppoGain.mean, standard_error: r.summary.ppoGain.standardError },
      parts: { pretrained: r.summary.pretrained.parts, sft: r.summary.sft.parts, ppo: r.summary.ppo.parts },
      preference_classes: r.summary.preferenceClasses ?? null,
      best_of_n: r.summary.bestOfN
        ? {
          n: r.summary.bestOfN.n,
          kl_to_sft: r.summary.bestOfN.kl,
          gold: r.summary.bestOfN.scores.total,
          parts: r.summary.bestOfN.scores.parts,
          minus_sft: { mean: r.summary.bestOfN.gain.mean, standard_error: r.summary.bestOfN.gain.standardError },
          ppo_minus_best_of_n: { mean: r.summary.bestOfN.ppoOverIt.mean, standard_error: r.summary.bestOfN.ppoOverIt.standardError },
        }
        : null,
      methods: Object.fromEntries(
        Object.entries(r.summary.methods).map(([m, v]) => [m, {
          gold: v!.scores.total,
          parts: v!.scores.parts,
          minus_sft: { mean: v!.gain.mean, standard_error: v!.gain.standardError },
          minus_ppo: { mean: v!.overPpo.mean, standard_error: v!.overPpo.standardError },
          ppo_view: v!.view,
          seconds: trainingSeconds(r, m) ?? null,
          throughput: throughput(m),
        }]),
      ),
      dpo_pairs: r.dpo?.pairs ?? null,
    },
  };
}

/** Writes report.html and metrics.json into `dir`; returns their paths. */
export async function writeReport(r: PipelineResult, dir: string, ctx: ReportContext): Promise<{ html: string; metrics: string }> {
  const metrics = pipelineMetrics(r, ctx);
  const html = [
    pageHead(r),
    summarySection(r, ctx, metrics.date),
    comparisonSection(r),
    frontierSection(r, ctx.frontier),
    heldoutChartsSection(r),
    sideBySideSection(r),
    detailsSection(r, metrics.bench),
    trainingChartsSection(r),
    configurationSection(ctx),
    metricsSection(metrics),
  ].join("\n") + "\n</body></html>\n";
  const paths = { html: `${dir}/report.html`, metrics: `${dir}/metrics.json` };
  // Two runs that end together write their pairs one after the other: never one's report beside the other's numbers.
  await withFileLock(dir, async () => {
    await writeTextFileAtomic(paths.html, html);
    await writeJsonAtomic(paths.metrics, metrics);
  });
  return paths;
}

/** The page up to its title: a self-contained page that reads on a phone and prints. */
function pageHead(r: PipelineResult): string {
  return `<!doctype html><html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>RLHF report · ${r.task.name}</title>
<style>body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}p,li{overflow-wrap:anywhere}
table{border-collapse:collapse;margin:0.5em 0 1.5em;display:block;overflow-x:auto;max-width:100%}svg{max-width:100%;height:auto}td{white-space:pre-wrap}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}pre{background:#f6f6f6;padding:0.6em;overflow:auto}
@media print{body{max-width:none;margin:0}pre{white-space:pre-wrap;word-break:break-all}table{display:table}svg,tr{break-inside:avoid}}</style></head><body>
<h1>训练自己的 ChatGPT · RLHF report</h1>
<p>在浏览器里自己排序、拟合奖励模型、跑 PPO · the same steps, small, in a web page where you rank the answers:
<code>deno task playground</code>, then <code>deno task playground-serve</code> and open http://127.0.0.1:8000/ (README).</p>`;
}

/** The run in a few sentences: where it started, on what machine, how long; the reward model; PPO − SFT; the preference's classes. */
function summarySection(r: PipelineResult, ctx: ReportContext, date: string): string {
  const bo = r.summary.bestOfN;
  const se = (p: { mean: number; standardError: number }) => (p.standardError > 0 ? (p.mean / p.standardError).toFixed(0) : "∞");
  return `<p>Task <b>${r.task.name}</b> (${r.task.description}), started from <code>${r.startedFrom}</code>; ${
    escapeHtml(machineLine())
  }; backend ${ctx.backend}; total ${ctx.totalSeconds.toFixed(0)} s
(${r.timings.map((t) => `${t.stage} ${t.seconds.toFixed(0)} s`).join(", ")}); ${date}.</p>
${r.task.preference ? `<p><b>Preference</b> (what the labeler ranks by): ${r.task.preference.description}.</p>` : ""}
<p><b>Reward model</b>: held-out pairwise accuracy ${r.reward.heldoutAccuracy.pairwise.toFixed(3)} (untrained ${
    r.reward.accuracyBefore.pairwise.toFixed(3)
  }, ceiling ${r.reward.goldAccuracy.pairwise.toFixed(3)}), Spearman with gold ${r.reward.spearmanWithGold.toFixed(3)}.
<b>PPO − SFT</b> on ${r.summary.requests} held-out requests × ${r.summary.answersPerRequest} answers: gold ${
    formatDifference(r.summary.ppoGain)
  } (${se(r.summary.ppoGain)} standard errors), KL ${r.ppo.after.kl.toFixed(2)} nats per answer${
    bo ? `; best-of-${bo.n} − SFT ${formatDifference(bo.gain)} at KL ${bo.kl.toFixed(3)}` : ""
  }.</p>
${preferenceSharesLine(r)}${labelerAgreementParagraph(r.reward, ctx.rewardModelsPer)}`;
}

/** Answers by class of the preference, SFT → PPO (and best-of-n); empty for a task without classes. */
function preferenceSharesLine(r: PipelineResult): string {
  const classes = r.summary.preferenceClasses;
  const bo = r.summary.bestOfN;
  return classes
    ? `<p>Answers by class of the preference (share of all answers): ${
      Object.keys(classes.sft).map((k) =>
        `${k} ${(classes.sft[k] ?? 0).toFixed(2)} (SFT) → ${(classes.ppo[k] ?? 0).toFixed(2)} (PPO)${
          classes.bestOfN ? `, ${(classes.bestOfN[k] ?? 0).toFixed(2)} (best-of-${bo!.n})` : ""
        }`
      ).join("; ")
    }.</p>`
    : "";
}

/** Every method on the same held-out requests (lib/report/comparison.ts). */
function comparisonSection(r: PipelineResult): string {
  return `<h2>Every method on the same held-out evaluation</h2>${
    new Table(COMPARISON_COLUMNS, methodComparison(r).map((row) => Object.values(row))).html()
  }<p>${escapeHtml(comparisonKlNote(r))}</p>`;
}

/** PPO's held-out view along its run: gold, reward-model score, KL. */
function heldoutChartsSection(r: PipelineResult): string {
  const ev = r.ppo.history.eval;
  const charts = [heldoutGoldChart(ev, r.task.preference?.part), heldoutRewardChart(ev), heldoutKlChart(ev)];
  return `<h2>What PPO did, on held-out requests</h2>${charts.map((c) => renderSvg(c.spec)).join("\n")}`;
}

/** A few requests where SFT and PPO differ most, answered by both (lib/report/samples.ts picks them). */
function sideBySideSection(r: PipelineResult): string {
  const classOf = r.task.preference?.classOf;
  const tag = (text: string) => (classOf ? ` · ${classOf(text)}` : "");
  const table = new Table(
    ["request", "shown because", "SFT", "PPO"],
    sideBySidePicks(r, 4, 4).map(({ index: i, why }) => [
      r.after[i].prompt.messages.at(-1)!.content,
      why,
      `${r.after[i].response}\n(gold ${r.after[i].score.total.toFixed(2)}${tag(r.after[i].response)})`,
      `${r.afterPpo[i].response}\n(gold ${r.afterPpo[i].score.total.toFixed(2)}${tag(r.afterPpo[i].response)})`,
    ]),
  );
  return `<h2>SFT and PPO answers to the same held-out requests</h2>${table.html()}`;
}

/** The detail tables, one under each title. */
function detailsSection(r: PipelineResult, bench: ReturnType<typeof benchReference>): string {
  const tables: [string, Table][] = [
    [
      "Stage times (s)",
      new Table(
        ["stage", "this run (s)", "training, every session (s)"],
        r.timings.map((t) => [t.stage, t.seconds.toFixed(0), trainingCell(r, t.stage)]),
      ),
    ],
    [
      bench
        ? `Throughput in this session, beside deno task bench on this machine (${bench.config}: train ${
          Math.round(bench.train_tokens_per_second)
        } tok/s, generation ${Math.round(bench.generate_tokens_per_second)} tok/s; ${bench.date})`
        : "Throughput in this session (deno task bench has no record for this model on this machine to compare with)",
      throughputTable(r.timings, bench),
    ],
    [
      `Gold score on ${r.summary.requests} held-out requests × ${r.summary.answersPerRequest} answers (pretrained-only: 1), same sampling`,
      goldScoreTable(r),
    ],
    ["Reward model", rewardModelTable(r)],
    [
      "What the reward model sees: held-out pairs the gold score tells apart, by the part that differs",
      new Table(
        ["differs in", "pairs", "reward model agrees with gold"],
        r.reward.agreementByPart.map((a) => [a.kind, String(a.pairs), a.agreement.toFixed(3)]),
      ),
    ],
    [
      "What the reward model has learned: the best held-out answers, each made worse in one known way",
      new Table(
        ["edit", "answers", "RM prefers the original", "mean RM change", "mean gold change"],
        r.reward.editProbe.map((
          e,
        ) => [e.edit, String(e.answers), e.rmPrefersOriginal.toFixed(2), e.meanRmChange.toFixed(2), e.meanGoldChange.toFixed(3)]),
      ),
    ],
    [
      "SFT vs PPO on held-out requests",
      new Table(["metric", "SFT", "PPO"], [
        ["reward-model score", r.ppo.before.rm.toFixed(3), r.ppo.after.rm.toFixed(3)],
        ["gold score", r.ppo.before.gold.toFixed(3), r.ppo.after.gold.toFixed(3)],
        ["KL to SFT", r.ppo.before.kl.toFixed(3), r.ppo.after.kl.toFixed(3)],
      ]),
    ],
    ["Samples side by side, with the model SFT started from", samplesTable(r)],
  ];
  return `<h2>Details</h2>\n${tables.map(([title, table]) => `<h3>${title}</h3>${table.html()}`).join("\n")}`;
}

/** Gold score (total, gain, ended, each part) of the pretrained-only model, SFT, PPO and best-of-n. */
function goldScoreTable(r: PipelineResult): Table {
  const { pretrained, sft, ppo } = r.summary;
  const bo = r.summary.bestOfN;
  return new Table(["metric", "pretrained", "SFT", "PPO", ...(bo ? [`best-of-${bo.n}`] : [])], [
    ["total", pretrained.total.toFixed(3), sft.total.toFixed(3), ppo.total.toFixed(3), ...(bo ? [bo.scores.total.toFixed(3)] : [])],
    [
      "gain, paired ± 1 SE (SFT: over pretrained; PPO, best-of-n: over SFT)",
      "",
      formatDifference(r.summary.sftGain),
      formatDifference(r.summary.ppoGain),
      ...(bo ? [formatDifference(bo.gain)] : []),
    ],
    ["ended", pretrained.ended.toFixed(3), sft.ended.toFixed(3), ppo.ended.toFixed(3), ...(bo ? [bo.scores.ended.toFixed(3)] : [])],
    ...Object.keys(sft.parts).map((
      k,
    ) => [
      k,
      (pretrained.parts[k] ?? 0).toFixed(3),
      sft.parts[k].toFixed(3),
      (ppo.parts[k] ?? 0).toFixed(3),
      ...(bo ? [(bo.scores.parts[k] ?? 0).toFixed(3)] : []),
    ]),
  ]);
}

/** The reward model on the held-out rank lists, beside the gold scorer's own accuracy on them. */
function rewardModelTable(r: PipelineResult): Table {
  return new Table(["metric", "value"], [
    ["held-out pairwise accuracy (pairs the labeler did not tie)", r.reward.heldoutAccuracy.pairwise.toFixed(3)],
    ["held-out pairs tied by the labeler (left out)", r.reward.heldoutTiedPairs.toFixed(3)],
    ["held-out exact order", r.reward.heldoutAccuracy.exactOrder.toFixed(3)],
    ["Spearman(RM, gold)", r.reward.spearmanWithGold.toFixed(3)],
    ["the gold scorer's own pairwise accuracy on these labels (ceiling)", r.reward.goldAccuracy.pairwise.toFixed(3)],
  ]);
}

/** The first held-out requests answered by the pretrained-only model, SFT and PPO. */
function samplesTable(r: PipelineResult): Table {
  return new Table(
    ["request", "pretrained", "SFT", "PPO"],
    r.after.slice(0, Math.min(6, r.summary.requests)).map((s, i) => [
      s.prompt.messages.at(-1)!.content,
      r.before[i].response,
      s.response,
      r.afterPpo[i]?.response ?? "",
    ]),
  );
}

/** Loss and accuracy of pretraining, SFT and the reward model; PPO's rollout statistics. */
function trainingChartsSection(r: PipelineResult): string {
  const st = r.ppo.history.stats;
  const rollouts = (key: "objective/scores" | "objective/kl" | "objective/entropy", title: string, yTitle: string) =>
    lineChart({ title, xTitle: "iteration", yTitle, series: [{ name: key, x: st.map((s) => s.iteration), y: st.map((s) => s[key]) }] });
  const charts = [
    ...(r.pretrainHistory.train.length ? [lossChart(r.pretrainHistory, "预训练 pretraining loss")] : []),
    lossChart(r.sftHistory, "SFT loss (assistant tokens)"),
    rewardTrainingChart(r.reward.history),
    rewardAccuracyChart(r.reward.history),
    rollouts("objective/scores", "PPO rollouts: reward-model score", "objective/scores (std. units)"),
    rollouts("objective/kl", "PPO rollouts: KL to SFT", "objective/kl (nats per answer)"),
    rollouts("objective/entropy", "PPO rollouts: entropy", "objective/entropy (nats per answer)"),
  ];
  return `<h3>Training charts</h3>${charts.map((c) => renderSvg(c.spec)).join("\n")}`;
}

/** The options the run was started with. */
function configurationSection(ctx: ReportContext): string {
  return `<h2>Configuration</h2><pre>${JSON.stringify(ctx.options, null, 2).replace(/</g, "&lt;")}</pre>`;
}

/** metrics.json itself. */
function metricsSection(metrics: ReturnType<typeof pipelineMetrics>): string {
  return `<h2>metrics.json</h2><pre>${JSON.stringify(metrics, null, 2).replace(/</g, "&lt;")}</pre>`;
}

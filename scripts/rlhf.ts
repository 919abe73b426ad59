/**
 * `deno task rlhf`: the main job. Runs the chapter's pipeline on the default
 * task (诗词助手, poetry-zh): start from the shipped poetry GPT-2 (models/gpt2-poetry-zh)
 * → SFT in the chat format → rank K answers per prompt (simulated labeler) → fit a reward
 * model → compare pretrained and SFT answers on held-out requests with the
 * gold scorer → PPO against the reward model → SFT vs PPO on held-out requests.
 *
 *   deno task rlhf             # default size (measured wall time in the README)
 *   deno task rlhf --quick     # a first try in about a minute
 *   deno task rlhf --from-scratch --pretrain-steps 2000 --preset gpt2-micro   # pretrain a small model first instead
 *   deno task rlhf --task poetry-zh-rules   # the rule-following preference instead of the mood one
 *   deno task rlhf --init path/to/gpt2-chinese-cluecorpussmall   # SFT a real GPT-2, as the book does
 *   deno task rlhf --ppo-reward gold   # PPO on the task's scorer instead of the reward model
 *   deno task rlhf --ptx-coef 0        # plain PPO, without InstructGPT's SFT-loss term (PPO-ptx, γ = 1 by default)
 *   deno task rlhf --eval-prompts 256 --eval-answers 1   # a faster, less precise final evaluation
 *   deno task rlhf --ppo-lr 1e-4 --kl-coef 0.02 --ppo-iterations 60   # other PPO settings (their own checkpoint directory)
 *   deno task rlhf --report docs/runs/name   # write report.html and metrics.json there instead of reports/latest
 *
 * A killed run resumes from checkpoints/<stage>/ when started again with the same settings.
 */
import { parseArgs } from "node:util";
import { initBackend } from "../lib/backend.ts";
import { formatDifference } from "../lib/eval/paired_difference.ts";
import { GPT2_PRESETS, type GPT2PresetName } from "../lib/gpt2/config.ts";
import { countParams, disposeGPT2 } from "../lib/gpt2/init.ts";
import { runPipeline } from "../lib/pipeline/pipeline.ts";
import { PPO_STAGE_DEFAULTS } from "../lib/pipeline/ppo_stage.ts";
import { disposeRewardModel } from "../lib/reward/reward_model.ts";
import { disposePolicy } from "../lib/ppo/policy.ts";
import { writeReport } from "../lib/report/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    task: { type: "string", default: "poetry-zh" },
    preset: { type: "string" },
    "pretrain-steps": { type: "string" },
    "sft-steps": { type: "string" },
    "eval-prompts": { type: "string" },
    "eval-answers": { type: "string" },
    init: { type: "string" },
    "from-scratch": { type: "boolean", default: false },
    "ppo-reward": { type: "string", default: "rm" },
    "ptx-coef": { type: "string" },
    "ppo-iterations": { type: "string" },
    "ppo-lr": { type: "string" },
    "kl-coef": { type: "string" },
    "checkpoint-root": { type: "string", default: "checkpoints" },
    "ppo-eval-every": { type: "string" },
    report: { type: "string" },
    "ppo-eval-prompts": { type: "string" },
  },
});
const positive = (flag: string, v?: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} ${v}: expected a positive integer`);
  return n;
};
if (values.preset && !(values.preset in GPT2_PRESETS)) {
  throw new Error(`--preset ${values.preset}: expected one of ${Object.keys(GPT2_PRESETS).join(", ")}`);
}
const pretrainSteps = positive("pretrain-steps", values["pretrain-steps"]);
if (values["from-scratch"] && values.init) throw new Error("--from-scratch and --init exclude each other");
if (!values["from-scratch"] && (values.preset || pretrainSteps)) {
  throw new Error("--preset and --pretrain-steps size the pretraining of --from-scratch; add --from-scratch");
}
if (values["ppo-reward"] !== "rm" && values["ppo-reward"] !== "gold") {
  throw new Error(`--ppo-reward ${values["ppo-reward"]}: expected "rm" or "gold"`);
}
const ppoReward = values["ppo-reward"] as "rm" | "gold";
const sftSteps = positive("sft-steps", values["sft-steps"]);
const number = (flag: string, ok: (n: number) => boolean, expected: string) => {
  const v = values[flag as keyof typeof values] as string | undefined;
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || !ok(n)) throw new Error(`--${flag} ${v}: expected ${expected}`);
  return n;
};
const ptxCoef = number("ptx-coef", (n) => n >= 0, "a number ≥ 0");
const ppoLr = number("ppo-lr", (n) => n > 0, "a number > 0");
const klCoef = number("kl-coef", (n) => n >= 0, "a number ≥ 0");
const ppoIterations = positive("ppo-iterations", values["ppo-iterations"]);
const ppoEvalEvery = positive("ppo-eval-every", values["ppo-eval-every"]);
const ppoEvalPrompts = positive("ppo-eval-prompts", values["ppo-eval-prompts"]);
// Other PPO settings get their own checkpoint directory (a PPO checkpoint only resumes the run that wrote it);
// giving a default value explicitly is the default run.
const D = PPO_STAGE_DEFAULTS;
const other = (v: number | undefined, d: number | undefined) => v !== undefined && v !== d;
const root = values["checkpoint-root"];
const ppoDir = `${root}/ppo` + (ppoReward === "gold" ? "-gold" : "") +
  (other(ptxCoef, D.ppo.ptxCoef) ? `-ptx${ptxCoef}` : "") +
  (other(ppoLr, D.ppo.lr) ? `-lr${ppoLr}` : "") +
  (other(klCoef, D.ppo.initKlCoef) ? `-kl${klCoef}` : "") +
  (other(ppoIterations, D.iterations) ? `-it${ppoIterations}` : "") +
  (values.quick ? "-quick" : "");

const backend = await initBackend();
const started = performance.now();
const r = await runPipeline({
  task: values.task,
  quick: values.quick,
  evalPrompts: positive("eval-prompts", values["eval-prompts"]),
  evalAnswersPerPrompt: positive("eval-answers", values["eval-answers"]),
  initFrom: values.init,
  fromScratch: values["from-scratch"],
  checkpointRoot: root,
  pretrain: {
    ...(values.preset ? { preset: values.preset as GPT2PresetName } : {}),
    ...(pretrainSteps ? { train: { steps: pretrainSteps } } : {}),
  },
  sft: sftSteps ? { train: { steps: sftSteps } } : {},
  ppo: {
    reward: ppoReward,
    ...(ppoIterations === undefined ? {} : { iterations: ppoIterations }),
    ...(ppoEvalEvery === undefined ? {} : { evalEvery: ppoEvalEvery, checkpointEvery: ppoEvalEvery }),
    ...(ppoEvalPrompts === undefined ? {} : { evalPrompts: ppoEvalPrompts }),
    ppo: {
      ...(ptxCoef === undefined ? {} : { ptxCoef }),
      ...(ppoLr === undefined ? {} : { lr: ppoLr }),
      ...(klCoef === undefined ? {} : { initKlCoef: klCoef }),
    },
    checkpointDir: ppoDir,
  },
});
const total = (performance.now() - started) / 1000;

const c = r.model.config;
const last = (h: { eval: { loss: number }[] }) => h.eval.at(-1)?.loss.toFixed(3) ?? "-";
console.log(`\n== ${r.task.name}: ${r.task.description} ==`);
if (r.task.preference) console.log(`preference (what the simulated labeler ranks by): ${r.task.preference.description}`);
console.log(
  `backend ${backend}; model ${c.n_layer} layers × C=${c.n_embd}, vocab ${c.vocab_size}, ${
    (countParams(r.model) / 1e6).toFixed(2)
  }M parameters`,
);
console.log(`times: ${r.timings.map((t) => `${t.stage} ${t.seconds.toFixed(0)} s`).join(", ")}; total ${total.toFixed(0)} s`);
console.log(
  `held-out loss: ${values["from-scratch"] ? `pretrain ${last(r.pretrainHistory)}, ` : ""}SFT (assistant tokens) ${
    last(r.sftHistory)
  }; started from ${r.startedFrom}`,
);
if (r.skippedTooLong) console.log(`SFT examples skipped as longer than the context: ${r.skippedTooLong}`);

const pp = r.ppo;
const gamma = pp.config.ptxCoef;
console.log(
  `\nPPO (${pp.history.stats.length} iterations against the ${
    ppoReward === "gold" ? "gold scorer" : "reward model"
  }, KL penalty to the SFT model${
    gamma ? `, PPO-ptx γ = ${gamma}` : ""
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
disposePolicy(pp.policy);

const rw = r.reward;
console.log(`\nReward model: ${rw.trainLists} training rank lists (K=4, simulated labeler), ${rw.heldoutLists} held-out lists`);
console.log(
  `  held-out pairwise accuracy ${rw.accuracyBefore.pairwise.toFixed(3)} (untrained head) → ${
    rw.heldoutAccuracy.pairwise.toFixed(3)
  }, exact order ${rw.heldoutAccuracy.exactOrder.toFixed(3)} (${
    (100 * rw.heldoutTiedPairs).toFixed(0)
  } % of pairs tied by the labeler, left out)`,
);
console.log(`  Spearman(RM score, gold score) on held-out responses: ${rw.spearmanWithGold.toFixed(3)}`);
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
disposeRewardModel(rw.rm);

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
if (bo) {
  console.log(
    `  best-of-${bo.n} − SFT ${formatDifference(bo.gain)} at KL ${bo.kl.toFixed(3)} nats (log ${bo.n} − ${
      bo.n - 1
    }/${bo.n}); PPO − best-of-${bo.n} ${formatDifference(bo.ppoOverIt)} at KL ${pp.after.kl.toFixed(3)}`,
  );
}
console.log(`Samples, side by side:`);
for (let i = 0; i < Math.min(4, r.summary.requests); i++) {
  const show = (s: string) => JSON.stringify(s.length > 60 ? s.slice(0, 60) + "…" : s);
  console.log(`  request: ${r.after[i].prompt.messages.at(-1)!.content}`);
  console.log(`    pretrained (${r.before[i].score.total.toFixed(2)}): ${show(r.before[i].response)}`);
  console.log(`    sft        (${r.after[i].score.total.toFixed(2)}): ${show(r.after[i].response)}`);
  console.log(`    ppo        (${r.afterPpo[i].score.total.toFixed(2)}): ${show(r.afterPpo[i].response)}`);
}
const reportPaths = await writeReport(r, values.report ?? (values.quick ? "reports/quick" : "reports/latest"), {
  backend,
  totalSeconds: total,
  options: values,
});
const q = values.quick ? "-quick" : "";
console.log(
  `\ncheckpoints: ${values["from-scratch"] ? `${root}/pretrain${q}/, ` : ""}${root}/sft${q}/, rm${q}/, ${
    ppoDir.slice(root.length + 1)
  }/ (HF layout + vocab.txt); rank lists: data/labels/`,
);
console.log(`report: ${reportPaths.html} (offline HTML), numbers: ${reportPaths.metrics}`);
disposeGPT2(r.model);

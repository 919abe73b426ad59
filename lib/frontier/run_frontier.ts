/**
 * The gold–KL frontier of the methods, measured: from the default run's SFT model, rank lists and reward
 * model (reused, never retrained), every run of the sweep trains into a run directory of its own and is
 * measured at several checkpoints on the same held-out requests, with the same sampling; best-of-n's
 * points come from one set of SFT answers. Each point is appended to the points file as soon as it is
 * measured, and each run resumes from its run directory, so a killed sweep goes on where it stopped.
 */
import { checkpointFingerprint } from "../checkpoint/fingerprint.ts";
import { disposeGPT2 } from "../gpt2/init.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { evaluatePolicy, type PolicyEvaluation } from "../eval/policy_eval.ts";
import { inRounds } from "../eval/paired_difference.ts";
import { PPO_DEFAULTS } from "../ppo/ppo_config.ts";
import { disposePolicy } from "../ppo/policy.ts";
import { disposeRewardModel, type RewardModel } from "../reward/reward_model.ts";
import { loadPretrained } from "../pretrained.ts";
import { pathExists } from "../fs.ts";
import type { RankRecord } from "../reward/labels.ts";
import type { Task } from "../tasks/types.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { formatDuration } from "../train/progress.ts";
import { SEEDS } from "../pipeline/seeds.ts";
import { REWARD_STAGE_QUICK, type RewardStageOptions, runRewardStage } from "../pipeline/reward_stage.ts";
import { ppoStartedFrom, runPPOStage } from "../pipeline/ppo_stage.ts";
import { groupOnPpoTerms, runGroupStage } from "../pipeline/group_stage.ts";
import { runDpoStage } from "../pipeline/dpo_stage.ts";
import { ReferenceLogprobs } from "../dpo/reference_logprobs.ts";
import { BEST_OF_N, bestOfNPoints } from "./best_of_n_curve.ts";
import { appendPoints, type FrontierPoint, pointFromSamples, pointsFromModels, readPoints } from "./points.ts";
import { FRONTIER_SWEEP, FRONTIER_SWEEP_QUICK, type SweepRun } from "./sweep.ts";

export interface FrontierOptions {
  /** The finished SFT model the sweep starts from (`deno task rlhf` writes it). @default "checkpoints/sft" */
  readonly sftDir: string;
  /** Where the reward model is (reused when it was fitted with `reward`'s settings). @default "checkpoints/rm" */
  readonly rmDir: string;
  /** The reward stage's settings: those of the run that made `rmDir`, so that it is reused. @default {} (the default run's) */
  readonly reward: Partial<RewardStageOptions>;
  /** Each sweep run's checkpoint goes to `<checkpointRoot>/<run>`. @default "checkpoints/frontier" */
  readonly checkpointRoot: string;
  /** The points file (JSONL). @default "docs/runs/frontier/points.jsonl" */
  readonly pointsPath: string;
  /** @default FRONTIER_SWEEP */
  readonly sweep: readonly SweepRun[];
  /** Held-out requests every point is measured on. @default 256 */
  readonly requests: number;
  /** Answers per request and point. @default 2 */
  readonly answers: number;
  /** Best-of-n's n. @default [1, 2, 4, 8, 16, 32] */
  readonly bestOfN: readonly number[];
  /** Iterations of each online run (PPO, RLOO, GRPO). @default 30 */
  readonly iterations: number;
  /** An online run is measured (and checkpointed) every this many iterations. @default 10 */
  readonly evalEvery: number;
  /** A DPO run is measured this many times, evenly along its steps. @default 3 */
  readonly dpoViews: number;
  readonly quiet?: boolean;
}

/**
 * Every field of `FrontierOptions` at its default: the default run's models, the whole sweep, 256 held-out
 * requests × 2 answers at each point.
 *
 * @example
 * ```ts
 * import { FRONTIER_DEFAULTS } from "rlhf";
 * FRONTIER_DEFAULTS.requests * FRONTIER_DEFAULTS.answers; // 512 answers measured at each point
 * ```
 */
export const FRONTIER_DEFAULTS: Readonly<FrontierOptions> = Object.freeze({
  sftDir: "checkpoints/sft",
  rmDir: "checkpoints/rm",
  reward: {},
  checkpointRoot: "checkpoints/frontier",
  pointsPath: "docs/runs/frontier/points.jsonl",
  sweep: FRONTIER_SWEEP,
  requests: 256,
  answers: 2,
  bestOfN: BEST_OF_N,
  iterations: 30,
  evalEvery: 10,
  dpoViews: 3,
});

/**
 * `--quick`: `deno task rlhf --quick`'s models, two leashes per method, a few requests and iterations.
 *
 * @example
 * ```ts
 * import { FRONTIER_QUICK, initBackend, loadTask, runFrontier } from "rlhf";
 * await initBackend();
 * await runFrontier(await loadTask(), FRONTIER_QUICK); // deno task frontier --quick, after deno task rlhf --quick
 * ```
 */
export const FRONTIER_QUICK: Readonly<Partial<FrontierOptions>> = Object.freeze({
  sftDir: "checkpoints/sft-quick",
  rmDir: "checkpoints/rm-quick",
  reward: REWARD_STAGE_QUICK,
  checkpointRoot: "checkpoints/frontier-quick",
  pointsPath: "reports/frontier-quick/points.jsonl",
  sweep: FRONTIER_SWEEP_QUICK,
  requests: 16,
  bestOfN: [1, 2, 4, 8],
  iterations: 2,
  evalEvery: 1,
  dpoViews: 2,
});

/** Everything a sweep run needs from the shared start. */
interface Start {
  readonly task: Task;
  readonly tokenizer: Tokenizer;
  readonly sft: GPT2Model;
  readonly rm: RewardModel;
  readonly lists: readonly RankRecord[];
  readonly o: FrontierOptions;
  /** The SFT model and reward model every point is measured from (`ppoStartedFrom`), recorded with each point. */
  readonly from: string;
  /** Measures a policy on the frontier's held-out requests. */
  readonly measure: (lm: GPT2Model) => Promise<PolicyEvaluation>;
  /** The SFT model's view of them, measured once for every online run (each would otherwise sample it again). */
  readonly sftView: () => Promise<PolicyEvaluation>;
  /** The SFT model's log-probs of the DPO batches: every DPO run of the sweep sees the same batches, only β differs. */
  readonly dpoReference: ReferenceLogprobs;
}

/**
 * Runs the sweep (or what is left of it) and returns every point of the points file.
 *
 * @example
 * ```ts
 * import { frontierSummary, initBackend, loadTask, runFrontier } from "rlhf";
 * await initBackend(); // the fast kernels
 * const task = await loadTask();
 * const points = await runFrontier(task, { pointsPath: "reports/frontier/points.jsonl" }); // after deno task rlhf
 * console.log(frontierSummary(points, task.preference?.part));
 * ```
 */
export async function runFrontier(task: Task, overrides: Partial<FrontierOptions> = {}): Promise<FrontierPoint[]> {
  const o: FrontierOptions = { ...FRONTIER_DEFAULTS, ...overrides };
  if (!(await pathExists(`${o.sftDir}/config.json`))) {
    throw new Error(
      `${o.sftDir}: no SFT model to start the sweep from; run \`deno task rlhf\` first (with --quick for \`frontier --quick\`)`,
    );
  }
  if (await pathExists(`${o.rmDir}/config.json`)) {
    // The usual case, after `deno task rlhf`: another pair of models' points is refused before the reward stage reads the rank lists.
    await pointsFromModels(o.pointsPath, await ppoStartedFrom(o.sftDir, o.rmDir));
  }
  const { tokenizer, ...sft } = await loadPretrained(o.sftDir);
  if (!tokenizer) throw new Error(`${o.sftDir}: no tokenizer files; run \`deno task rlhf\` first`);
  let rm: RewardModel | undefined;
  try {
    const reward = await runRewardStage(sft, tokenizer, task, o.sftDir, { ...o.reward, checkpointDir: o.rmDir, quiet: o.quiet });
    rm = reward.rm;
    const from = await ppoStartedFrom(o.sftDir, o.rmDir);
    await pointsFromModels(o.pointsPath, from); // another pair of models' points: refused before anything is measured
    const heldout = inRounds(task.prompts("heldout", 0).slice(0, o.requests), o.answers);
    const evalOptions = { sampling: PPO_DEFAULTS.sampling, maxNewTokens: PPO_DEFAULTS.maxNewTokens, seed: SEEDS.heldoutView };
    const measure = (lm: GPT2Model) => evaluatePolicy(lm, sft, reward.rm, tokenizer, task, heldout, evalOptions);
    let sftView: Promise<PolicyEvaluation> | undefined;
    const start: Start = {
      task,
      tokenizer,
      sft,
      rm,
      lists: reward.lists,
      o,
      from,
      measure,
      sftView: () => (sftView ??= measure(sft)),
      dpoReference: new ReferenceLogprobs(sft),
    };
    await measureSftAndBestOfN(start, evalOptions);
    const started = performance.now();
    const todo = [];
    const finished = new Set((await pointsFromModels(o.pointsPath, from)).filter((p) => p.final).map((p) => p.run));
    for (const run of o.sweep) if (!finished.has(run.run)) todo.push(run);
    for (const [i, run] of todo.entries()) {
      if (!o.quiet) {
        const elapsed = (performance.now() - started) / 1000;
        const eta = i === 0 ? "" : `, ETA ${formatDuration((elapsed / i) * (todo.length - i))}`;
        console.log(`[frontier] run ${i + 1} of ${todo.length}: ${run.run} (${o.sweep.length - todo.length} done before${eta})`);
      }
      const runStarted = performance.now();
      await sweepRun(start, run);
      if (!o.quiet) console.log(`[frontier] ${run.run}: ${formatDuration((performance.now() - runStarted) / 1000)}`);
    }
    return await readPoints(o.pointsPath);
  } finally {
    if (rm) disposeRewardModel(rm);
    disposeGPT2(sft);
  }
}

/** The SFT point (KL 0) and best-of-n's, from one set of SFT answers (max n per request); skipped when already measured. */
async function measureSftAndBestOfN(s: Start, evalOptions: Parameters<typeof evaluatePolicy>[6]): Promise<void> {
  const known = await pointsFromModels(s.o.pointsPath, s.from);
  if (known.some((p) => p.method === "best-of-n") && known.some((p) => p.method === "sft")) return;
  const rounds = Math.max(s.o.answers, ...s.o.bestOfN);
  if (!s.o.quiet) console.log(`[frontier] SFT and best-of-n: ${rounds} answers to each of ${s.o.requests} held-out requests`);
  const prompts = inRounds(s.task.prompts("heldout", 0).slice(0, s.o.requests), rounds);
  const progress = s.o.quiet ? {} : { progress: "SFT answers" };
  const samples = (await evaluatePolicy(s.sft, s.sft, s.rm, s.tokenizer, s.task, prompts, { ...evalOptions, ...progress })).samples;
  // The first rounds are the very answers the SFT model gives in every other point's measurement (same requests, seed, order).
  const sftPoint = pointFromSamples(samples.slice(0, s.o.answers * s.o.requests), s.o.requests, {
    run: "sft",
    method: "sft",
    settings: {},
    step: 0,
    final: true,
  });
  await appendPoints(s.o.pointsPath, [sftPoint, ...bestOfNPoints(samples, s.o.requests, s.o.bestOfN)], s.from);
}

/** One run of the sweep: trains (or resumes) it and records a point at each of its measurements. */
async function sweepRun(s: Start, run: SweepRun): Promise<void> {
  const { o } = s;
  const record = async (step: number, final: boolean, view: PolicyEvaluation) => {
    const at = { run: run.run, method: run.method, settings: run.settings, step, final };
    await appendPoints(o.pointsPath, [pointFromSamples(view.samples, o.requests, at)], s.from);
  };
  const checkpointDir = `${o.checkpointRoot}/${run.run}`;
  const online = {
    iterations: o.iterations,
    evalEvery: o.evalEvery,
    checkpointEvery: o.evalEvery,
    evalPrompts: o.requests,
    evalAnswers: o.answers,
    checkpointDir,
    startedFrom: s.from,
    quiet: o.quiet,
    onView: (iteration: number, view: PolicyEvaluation) => record(iteration, iteration === o.iterations, view),
    referenceView: run.method === "dpo" ? undefined : await s.sftView(),
  };
  let trained: GPT2Model;
  if (run.method === "ppo") {
    const result = await runPPOStage(s.sft, s.tokenizer, s.task, s.rm, { ...online, sampleEvery: o.evalEvery, ppo: run.settings });
    trained = result.policy.lm;
    await recordFinalIfMissing(s, run, o.iterations, trained, record);
    disposePolicy(result.policy);
    return;
  }
  if (run.method === "dpo") {
    const result = await runDpoStage(s.sft, s.tokenizer, s.lists, {
      checkpointDir,
      startedFrom: await checkpointFingerprint(o.sftDir),
      quiet: o.quiet,
      dpo: run.settings,
      referenceLogprobs: s.dpoReference,
      afterStep: async (done, total, policy) => {
        const every = Math.ceil(total / o.dpoViews);
        if (done % every === 0 || done === total) await record(done, done === total, await s.measure(policy));
      },
    });
    trained = result.policy;
    await recordFinalIfMissing(s, run, result.history.train.length, trained, record);
  } else {
    const result = await runGroupStage(s.sft, s.tokenizer, s.task, s.rm, {
      ...online,
      group: { ...groupOnPpoTerms(run.method, PPO_DEFAULTS), ...run.settings },
    });
    trained = result.lm;
    await recordFinalIfMissing(s, run, o.iterations, trained, record);
  }
  disposeGPT2(trained);
}

/** A run reused whole from its directory (its points file lost) is measured once more, as it ended. */
async function recordFinalIfMissing(
  s: Start,
  run: SweepRun,
  step: number,
  lm: GPT2Model,
  record: (step: number, final: boolean, view: PolicyEvaluation) => Promise<void>,
): Promise<void> {
  const points = await pointsFromModels(s.o.pointsPath, s.from);
  if (!points.some((p) => p.run === run.run && p.final)) await record(step, true, await s.measure(lm));
}

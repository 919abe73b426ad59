/**
 * The pipeline's last step: the pretrained-only, SFT and PPO models (and each method beside PPO) answer
 * the same held-out requests with the same sampling, and the task's gold scorer scores every answer.
 * Gains are paired request by request; best-of-n lets the reward model pick one of SFT's answers to each
 * request; the answers are counted by class of the task's preference.
 */
import { SEEDS } from "./seeds.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { GroupMethod } from "../group/group_advantages.ts";
import { bestOfN, bestOfNKl } from "../eval/best_of_n.ts";
import { inRounds, meanPerRequest, type PairedDifference, pairedDifference } from "../eval/paired_difference.ts";
import { evaluatePolicy, rewardModelScores } from "../eval/policy_eval.ts";
import { sampleAndScore, type ScoredSample, summariseScores } from "../eval/sample_and_score.ts";
import type { RewardModel } from "../reward/reward_model.ts";
import type { Task } from "../tasks/types.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import type { PPOStageResult } from "./ppo_stage.ts";
import type { StageTimer } from "./stage_timer.ts";

/** The methods that can run beside PPO. */
export type OtherMethod = "dpo" | GroupMethod;
export const OTHER_METHODS: readonly OtherMethod[] = ["dpo", "rloo", "grpo"];
/**
 * A row beside PPO: one of the methods, or an outside policy directory ("policy:<its name>", e.g. one an engine
 * trained from `deno task export`'s bundle).
 */
export type MethodRow = OtherMethod | `policy:${string}`;

type Scores = ReturnType<typeof summariseScores>;

/** One method beside PPO, on the same held-out requests. */
export interface MethodSummary {
  scores: Scores;
  /** Gold, request by request: this method − SFT. */
  gain: PairedDifference;
  /** This method − PPO. */
  overPpo: PairedDifference;
  /** On PPO's held-out view (the same requests, seed and sampling as PPO's own evaluation). */
  view: { gold: number; rm: number; kl: number };
  samples: ScoredSample[];
}

/**
 * Best-of-n (n = answers per request): the reward model picks one of the SFT model's n answers to each
 * request. Its gold score, its gain over SFT (paired), PPO's gain over it, and its KL to SFT (closed form).
 */
export interface BestOfNSummary {
  n: number;
  kl: number;
  scores: Scores;
  gain: PairedDifference;
  ppoOverIt: PairedDifference;
  picks: ScoredSample[];
}

/** The final evaluation's numbers. */
export interface FinalSummary {
  pretrained: Scores;
  sft: Scores;
  ppo: Scores;
  requests: number;
  answersPerRequest: number;
  /** Gold score, request by request (each request's mean over its answers): SFT − pretrained and PPO − SFT, with standard errors. */
  sftGain: PairedDifference;
  ppoGain: PairedDifference;
  /** Undefined with one answer per request. */
  bestOfN?: BestOfNSummary;
  /** Share of answers in each class of the task's preference (e.g. bright / even / sorrowful), per model. */
  preferenceClasses?: {
    pretrained: Record<string, number>;
    sft: Record<string, number>;
    ppo: Record<string, number>;
    bestOfN?: Record<string, number>;
  } & Partial<Record<MethodRow, Record<string, number>>>;
  /** Each method beside PPO: gold on the same requests, its gain over SFT and over PPO, RM score / KL on PPO's held-out view. */
  methods: Partial<Record<MethodRow, MethodSummary>>;
}

export interface FinalEvaluation {
  /**
   * The same held-out prompts answered, with the same sampling, by the pretrained-only, the SFT and the PPO model:
   * `summary.answersPerRequest` rounds of the `summary.requests` prompts, one round after the other (the
   * pretrained-only model one round: its gap to SFT is thirty times its standard error, and its answers, which
   * never end, cost the most to sample).
   */
  readonly before: ScoredSample[];
  readonly after: ScoredSample[];
  readonly afterPpo: ScoredSample[];
  readonly summary: FinalSummary;
}

/** What the final evaluation compares. */
export interface EvaluatedModels {
  readonly task: Task;
  readonly tokenizer: Tokenizer;
  /** The weights SFT started from. */
  readonly pretrained: GPT2Model;
  readonly sft: GPT2Model;
  readonly ppo: PPOStageResult;
  /** Each method beside PPO that ran, with its policy. */
  readonly others: readonly (readonly [MethodRow, GPT2Model])[];
  readonly rm: RewardModel;
}

export interface FinalEvaluationOptions {
  /** Held-out requests asked (from the first; all of the task's when undefined). */
  readonly requests?: number;
  readonly answersPerRequest: number;
  readonly topP: number;
  readonly maxNewTokens?: number;
  /** Records the sampling's wall time ("evaluate", "evaluate <method>") and knows each method's training time. */
  readonly timer: StageTimer;
}

/** Samples and scores every model on the held-out requests, then sums up. */
export async function finalEvaluation(m: EvaluatedModels, o: FinalEvaluationOptions): Promise<FinalEvaluation> {
  const { task, tokenizer } = m;
  const heldout = task.prompts("heldout", 0).slice(0, o.requests);
  const rounds = o.answersPerRequest;
  const prompts = inRounds(heldout, rounds);
  const sampling = { topP: o.topP, seed: SEEDS.finalEvaluation, maxNewTokens: o.maxNewTokens };
  const [before, after, afterPpo] = await o.timer.time("evaluate", async () => [
    await sampleAndScore(m.pretrained, tokenizer, task, heldout, sampling),
    await sampleAndScore(m.sft, tokenizer, task, prompts, sampling),
    await sampleAndScore(m.ppo.policy.lm, tokenizer, task, prompts, sampling),
  ]);
  const n = heldout.length;
  const methods: Partial<Record<MethodRow, MethodSummary>> = {};
  for (const [method, lm] of m.others) {
    const samples = await o.timer.time(`evaluate ${method}`, () => sampleAndScore(lm, tokenizer, task, prompts, sampling));
    const view = await onPpoView(lm, m);
    methods[method] = {
      scores: summariseScores(samples),
      gain: pairedDifference(perRequest(after, n), perRequest(samples, n)),
      overPpo: pairedDifference(perRequest(afterPpo, n), perRequest(samples, n)),
      view: { gold: view.gold, rm: view.rm, kl: view.kl },
      samples,
    };
  }
  const bestOf = rounds >= 2 ? await bestOfNSummary(m, { after, afterPpo, requests: n, rounds }) : undefined;
  return {
    before,
    after,
    afterPpo,
    summary: {
      pretrained: summariseScores(before),
      sft: summariseScores(after),
      ppo: summariseScores(afterPpo),
      requests: n,
      answersPerRequest: rounds,
      sftGain: pairedDifference(perRequest(before, n), perRequest(after, n)),
      ppoGain: pairedDifference(perRequest(after, n), perRequest(afterPpo, n)),
      bestOfN: bestOf,
      preferenceClasses: preferenceClasses(task, { before, after, afterPpo, bestOf, methods }),
      methods,
    },
  };
}

/** A method's policy on PPO's held-out view: the same requests, seed and sampling as PPO's own evaluation. */
function onPpoView(lm: GPT2Model, m: EvaluatedModels) {
  const requests = m.ppo.after.samples.map((s) => s.prompt); // PPO's view, in its order (rounds included)
  return evaluatePolicy(lm, m.sft, m.rm, m.tokenizer, m.task, requests, {
    sampling: m.ppo.config.sampling,
    maxNewTokens: m.ppo.config.maxNewTokens,
    seed: SEEDS.heldoutView,
  });
}

/** The reward model picks the best of SFT's `rounds` answers to each request. */
async function bestOfNSummary(
  m: EvaluatedModels,
  answers: { after: ScoredSample[]; afterPpo: ScoredSample[]; requests: number; rounds: number },
): Promise<BestOfNSummary> {
  const { after, afterPpo, requests: n, rounds } = answers;
  const rewards = await rewardModelScores(m.rm, m.tokenizer, after);
  const picks = bestOfN(rewards, n).map((i) => after[i]);
  const totals = picks.map((s) => s.score.total);
  return {
    n: rounds,
    kl: bestOfNKl(rounds),
    scores: summariseScores(picks),
    gain: pairedDifference(perRequest(after, n), totals),
    ppoOverIt: pairedDifference(totals, perRequest(afterPpo, n)),
    picks,
  };
}

/** Share of each model's answers in each class of the task's preference; undefined for a task without classes. */
function preferenceClasses(
  task: Task,
  answers: {
    before: ScoredSample[];
    after: ScoredSample[];
    afterPpo: ScoredSample[];
    bestOf?: BestOfNSummary;
    methods: Partial<Record<MethodRow, MethodSummary>>;
  },
): FinalSummary["preferenceClasses"] {
  const classOf = task.preference?.classOf;
  if (!classOf) return undefined;
  const shares = (samples: ScoredSample[]) => classShares(samples.map((s) => classOf(s.response)));
  return {
    pretrained: shares(answers.before),
    sft: shares(answers.after),
    ppo: shares(answers.afterPpo),
    ...(answers.bestOf ? { bestOfN: shares(answers.bestOf.picks) } : {}),
    ...Object.fromEntries(Object.entries(answers.methods).map(([m, v]) => [m, shares(v!.samples)])),
  };
}

/** Share of each class among the answers, classes in alphabetical order. */
function classShares(classes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of classes) counts[c] = (counts[c] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).map(([c, k]) => [c, k / Math.max(1, classes.length)]));
}

/** Each request's mean gold score over its answers. */
const perRequest = (samples: ScoredSample[], requests: number) => meanPerRequest(samples.map((s) => s.score.total), requests);

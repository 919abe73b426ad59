/** Ready-made charts of the training histories the pipeline records. */
import type { TrainHistory } from "../train/trainer.ts";
import type { RewardHistory } from "../reward/train_reward.ts";
import { type Chart, lineChart } from "./figure.ts";

/**
 * Moving average over `window` points (the first points average what exists).
 *
 * @example
 * ```ts
 * import { smooth } from "rlhf";
 * smooth([4, 2, 6, 0], 2); // [4, 3, 4, 3]: each value averaged with the one before
 * ```
 */
export function smooth(values: readonly number[], window = 10): number[] {
  return values.map((_, i) => {
    const from = Math.max(0, i - window + 1);
    const slice = values.slice(from, i + 1);
    return slice.reduce((a, b) => a + b, 0) / slice.length;
  });
}

/**
 * Train loss (smoothed) and held-out loss against the step.
 *
 * @example
 * ```ts
 * import { lossChart } from "rlhf";
 * const history = {
 *   train: [0, 1, 2].map((step) => ({ step, loss: 3 - step / 2, lr: 1e-3, gradNorm: 1, tokensPerSecond: 1e4 })),
 *   eval: [{ step: 3, loss: 2.2 }],
 * };
 * lossChart(history, "pretraining"); // train (smoothed) and held-out loss against the step; trainLM returns such a history
 * ```
 */
export function lossChart(history: TrainHistory, title: string): Chart {
  return lineChart({
    title,
    xTitle: "step",
    yTitle: "cross-entropy (nats/token)",
    series: [
      { name: "train (smoothed)", x: history.train.map((r) => r.step + 1), y: smooth(history.train.map((r) => r.loss)) },
      { name: "held-out", x: history.eval.map((r) => r.step), y: history.eval.map((r) => r.loss) },
    ],
  });
}

/**
 * Reward-model loss and in-batch pairwise accuracy against the step.
 *
 * @example
 * ```ts
 * import { rewardTrainingChart } from "rlhf";
 * const history = { train: [0, 1, 2].map((step) => ({ step, loss: 0.69 - step / 10, lr: 3e-4, accuracy: 0.5 + step / 10 })) };
 * rewardTrainingChart(history); // the pairwise loss against the step; trainRewardModel returns such a history
 * ```
 */
export function rewardTrainingChart(history: RewardHistory): Chart {
  return lineChart({
    title: "奖励模型训练 reward model training: loss",
    xTitle: "step",
    yTitle: "pairwise loss −log σ(r_i − r_j) (nats)",
    series: [{ name: "pairwise loss (smoothed)", x: history.train.map((r) => r.step + 1), y: smooth(history.train.map((r) => r.loss)) }],
  });
}

/**
 * In-batch pairwise accuracy of the reward model against the step (its own axis: a fraction, not nats).
 *
 * @example
 * ```ts
 * import { rewardAccuracyChart } from "rlhf";
 * const history = { train: [0, 1, 2].map((step) => ({ step, loss: 0.69 - step / 10, lr: 3e-4, accuracy: 0.5 + step / 10 })) };
 * rewardAccuracyChart(history); // the share of pairs ordered right against the step
 * ```
 */
export function rewardAccuracyChart(history: RewardHistory): Chart {
  return lineChart({
    title: "奖励模型训练 reward model training: in-batch accuracy",
    xTitle: "step",
    yTitle: "share of pairs ordered right",
    series: [{
      name: "pairwise accuracy (smoothed)",
      x: history.train.map((r) => r.step + 1),
      y: smooth(history.train.map((r) => r.accuracy)),
    }],
  });
}

/** One held-out evaluation of the policy during PPO (iteration 0 = the SFT model). */
export interface HeldoutPoint {
  readonly iteration: number;
  readonly gold: number;
  readonly goldSe?: number;
  readonly rm: number;
  readonly rmSe?: number;
  readonly kl: number;
  readonly parts?: Readonly<Record<string, number>>;
}

const band = (ys: number[], ses: (number | undefined)[]) =>
  ses.every((s) => s !== undefined) ? { low: ys.map((y, i) => y - ses[i]!), high: ys.map((y, i) => y + ses[i]!) } : undefined;
const level = (name: string, points: readonly HeldoutPoint[], y: number) => ({
  name,
  x: [points[0]?.iteration ?? 0, points.at(-1)?.iteration ?? 1],
  y: [y, y],
  dashed: true,
});

/**
 * The headline of a PPO run, in three charts of one unit each: the gold score
 * (± 1 SE) and its preference part on held-out requests, against SFT's level.
 *
 * @example
 * ```ts
 * import { heldoutGoldChart } from "rlhf";
 * const points = [
 *   { iteration: 0, gold: 0.42, goldSe: 0.02, rm: 0, kl: 0, parts: { mood: 0.5 } }, // SFT
 *   { iteration: 10, gold: 0.5, goldSe: 0.02, rm: 0.8, kl: 1.5, parts: { mood: 0.62 } },
 * ];
 * heldoutGoldChart(points, "mood"); // the gold score ± 1 SE, its mood part and SFT's level
 * ```
 */
export function heldoutGoldChart(points: readonly HeldoutPoint[], preferencePart?: string): Chart {
  const x = points.map((p) => p.iteration);
  const gold = points.map((p) => p.gold);
  return lineChart({
    title: "held-out gold score during PPO (± 1 SE)",
    xTitle: "PPO iteration",
    yTitle: "score in [0, 1]",
    series: [
      { name: "gold score", x, y: gold, band: band(gold, points.map((p) => p.goldSe)) },
      ...(preferencePart ? [{ name: `its part "${preferencePart}"`, x, y: points.map((p) => p.parts?.[preferencePart] ?? NaN) }] : []),
      level("SFT (gold)", points, gold[0] ?? 0),
    ],
  });
}

/**
 * The reward model's score of the policy's held-out answers (± 1 SE), in its normalised units, against SFT's level.
 *
 * @example
 * ```ts
 * import { heldoutRewardChart } from "rlhf";
 * const points = [{ iteration: 0, gold: 0.42, rm: 0, rmSe: 0.1, kl: 0 }, { iteration: 10, gold: 0.5, rm: 0.8, rmSe: 0.1, kl: 1.5 }];
 * heldoutRewardChart(points); // the reward model's score ± 1 SE against SFT's level
 * ```
 */
export function heldoutRewardChart(points: readonly HeldoutPoint[]): Chart {
  const x = points.map((p) => p.iteration);
  const rm = points.map((p) => p.rm);
  return lineChart({
    title: "held-out reward-model score during PPO (± 1 SE)",
    xTitle: "PPO iteration",
    yTitle: "RM score (std. units of SFT answers)",
    series: [{ name: "reward model", x, y: rm, band: band(rm, points.map((p) => p.rmSe)) }, level("SFT", points, rm[0] ?? 0)],
  });
}

/**
 * KL(policy ‖ SFT) of the held-out answers, nats per answer.
 *
 * @example
 * ```ts
 * import { heldoutKlChart } from "rlhf";
 * const points = [{ iteration: 0, gold: 0.42, rm: 0, kl: 0 }, { iteration: 10, gold: 0.5, rm: 0.8, kl: 1.5 }];
 * heldoutKlChart(points); // KL(policy ‖ SFT) in nats per answer against the iteration
 * ```
 */
export function heldoutKlChart(points: readonly HeldoutPoint[]): Chart {
  return lineChart({
    title: "KL to the SFT model (held-out answers)",
    xTitle: "PPO iteration",
    yTitle: "KL (nats per answer)",
    series: [{ name: "KL(π ‖ π_SFT)", x: points.map((p) => p.iteration), y: points.map((p) => p.kl) }],
  });
}

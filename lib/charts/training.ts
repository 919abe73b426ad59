/** Ready-made charts of the training histories the pipeline records. */
import type { TrainHistory } from "../train/trainer.ts";
import type { RewardHistory } from "../reward/train_reward.ts";
import { type Chart, lineChart } from "./figure.ts";

/** Moving average over `window` points (the first points average what exists). */
export function smooth(values: readonly number[], window = 10): number[] {
  return values.map((_, i) => {
    const from = Math.max(0, i - window + 1);
    const slice = values.slice(from, i + 1);
    return slice.reduce((a, b) => a + b, 0) / slice.length;
  });
}

/** Train loss (smoothed) and held-out loss against the step. */
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

/** Reward-model loss and in-batch pairwise accuracy against the step. */
export function rewardTrainingChart(history: RewardHistory): Chart {
  return lineChart({
    title: "奖励模型训练 reward model training",
    xTitle: "step",
    yTitle: "loss / accuracy",
    series: [
      { name: "pairwise loss (smoothed)", x: history.train.map((r) => r.step + 1), y: smooth(history.train.map((r) => r.loss)) },
      { name: "pairwise accuracy (smoothed)", x: history.train.map((r) => r.step + 1), y: smooth(history.train.map((r) => r.accuracy)) },
    ],
  });
}

/**
 * Learning-rate schedule: linear warmup, then cosine decay to a floor
 * (as nanoGPT). The step is 0-based.
 */
export interface ScheduleOptions {
  readonly maxLr: number;
  readonly minLr: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;
}

/**
 * The learning rate of `step` (0-based).
 *
 * @example
 * ```ts
 * import { learningRateAt } from "rlhf";
 * const schedule = { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 100 };
 * learningRateAt(0, schedule); // 1e-4: warming up
 * learningRateAt(9, schedule); // 1e-3: the peak
 * learningRateAt(55, schedule); // 5.5e-4: halfway down the cosine
 * learningRateAt(100, schedule); // 1e-4: the floor
 * ```
 */
export function learningRateAt(step: number, o: ScheduleOptions): number {
  if (step < o.warmupSteps) return (o.maxLr * (step + 1)) / o.warmupSteps;
  if (step >= o.totalSteps) return o.minLr;
  const progress = (step - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps); // 0 → 1
  return o.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (o.maxLr - o.minLr);
}

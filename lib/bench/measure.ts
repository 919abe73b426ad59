/**
 * Throughput measurements for the benchmark: training tokens/s (forward +
 * backward + AdamW) and generation tokens/s (KV cache). The protocol matches
 * reference/bench_torch.py so the two can be compared as ratios in one run:
 * random ids from a seed, untimed warmup, median of timed repetitions.
 */
import { tf } from "../tf.ts";
import type { GPT2Config } from "../gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../gpt2/init.ts";
import { generate } from "../generate/generate.ts";
import { AdamW } from "../train/adamw.ts";
import { Rng } from "../rng.ts";
import { trainStep } from "../train/train_step.ts";
import { platform } from "../platform/platform.ts";

export interface TrainBenchOptions {
  readonly batch: number;
  readonly seq: number;
  readonly warmup: number;
  readonly steps: number;
  readonly seed: number;
}

export interface GenBenchOptions {
  readonly batch: number;
  readonly promptLength: number;
  readonly newTokens: number;
  /**
   * Untimed generations first. A small model's generation makes ~45 tfjs calls per token, and V8 compiles
   * those paths over the first ~20 runs of 64 tokens (gpt2-nano: 53 ms a run in runs 2–6, 33 ms in runs
   * 13–18, 30 ms after); a PPO run generates hundreds of batches, so the warm speed is the one that counts.
   */
  readonly warmup: number;
  readonly runs: number;
  readonly seed: number;
}

export interface Throughput {
  readonly tokensPerSecond: number;
  readonly medianMs: number;
  /** Largest number of live tensors seen after a repetition (flat = no leak). */
  readonly numTensorsAfter: number[];
  /** Largest tfjs-tracked tensor memory seen after a repetition. */
  readonly peakBytes: number;
  /** Largest resident set size of the process seen after a repetition (the wasm heap never shrinks, so this covers peaks inside a step). */
  readonly peakRssBytes: number;
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times `steps` training steps (after `warmup` untimed ones) on random data. */
export async function measureTraining(config: GPT2Config, o: TrainBenchOptions): Promise<Throughput> {
  const model = createGPT2({ ...config, dropout: 0 }, { seed: o.seed });
  const optimizer = new AdamW(model.params, { betas: [0.9, 0.95], weightDecay: 0.1 });
  const rng = new Rng(o.seed);
  const randomRows = (cols: number) =>
    Array.from({ length: o.batch }, () => Array.from({ length: cols }, () => rng.nextInt(config.vocab_size)));
  const times: number[] = [];
  const numTensorsAfter: number[] = [];
  let peakBytes = 0;
  let peakRss = 0;
  try {
    for (let i = 0; i < o.warmup + o.steps; i++) {
      const rows = randomRows(o.seq + 1);
      const batch = { ids: rows.map((r) => r.slice(0, -1)), targets: rows.map((r) => r.slice(1)) };
      const start = performance.now();
      const { loss, gradNorm } = trainStep(model, optimizer, batch, { lr: 1e-4, gradClip: 0, seed: i });
      await loss.data(); // wait for the backend to finish the step
      const ms = performance.now() - start;
      tf.dispose([loss, gradNorm]);
      peakBytes = Math.max(peakBytes, tf.memory().numBytes);
      peakRss = Math.max(peakRss, platform().memoryUsage().rss);
      if (i >= o.warmup) {
        times.push(ms);
        numTensorsAfter.push(tf.memory().numTensors);
      }
    }
  } finally {
    optimizer.dispose();
    disposeGPT2(model);
  }
  const medianMs = median(times);
  return { tokensPerSecond: (o.batch * o.seq) / (medianMs / 1000), medianMs, numTensorsAfter, peakBytes, peakRssBytes: peakRss };
}

/** Times `runs` generations of `newTokens` tokens for a batch of random prompts, after `warmup` untimed ones. */
export async function measureGeneration(config: GPT2Config, o: GenBenchOptions): Promise<Throughput> {
  const model = createGPT2({ ...config, dropout: 0 }, { seed: o.seed });
  const rng = new Rng(o.seed);
  const prompts = Array.from({ length: o.batch }, () => Array.from({ length: o.promptLength }, () => rng.nextInt(config.vocab_size)));
  const times: number[] = [];
  const numTensorsAfter: number[] = [];
  let peakBytes = 0;
  let peakRss = 0;
  try {
    for (let i = 0; i < o.warmup + o.runs; i++) {
      const start = performance.now();
      await generate(model, prompts, { maxNewTokens: o.newTokens, rng, temperature: 1 });
      const ms = performance.now() - start;
      peakBytes = Math.max(peakBytes, tf.memory().numBytes);
      peakRss = Math.max(peakRss, platform().memoryUsage().rss);
      if (i >= o.warmup) {
        times.push(ms);
        numTensorsAfter.push(tf.memory().numTensors);
      }
    }
  } finally {
    disposeGPT2(model);
  }
  const medianMs = median(times);
  return { tokensPerSecond: (o.batch * o.newTokens) / (medianMs / 1000), medianMs, numTensorsAfter, peakBytes, peakRssBytes: peakRss };
}

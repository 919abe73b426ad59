/**
 * How close a training step comes to the machine's matrix-multiply peak:
 * the step's matmul FLOPs (counted from the config) per second, divided by
 * the FLOP/s of one large matmul on the same backend.
 */
import { tf } from "../tf.ts";
import type { GPT2Config } from "../gpt2/config.ts";

/**
 * Matmul FLOPs of one training step (forward + backward = 3 × forward) on
 * batch × seq tokens: per token and layer 12·C² multiply-adds in the four
 * projections and 2·T·C in attention (q·kᵀ and p·v, computed in full), plus
 * C·V for the tied LM head. Elementwise work is not counted.
 */
export function trainingStepFlops(config: GPT2Config, batch: number, seq: number): number {
  const C = config.n_embd;
  const macsPerToken = config.n_layer * (12 * C * C + 2 * seq * C) + C * config.vocab_size;
  return 3 * 2 * macsPerToken * batch * seq;
}

/**
 * FLOP/s of a size³ float32 matmul on the active backend, from the fastest of
 * `runs` (a shared machine's noise only ever slows a run down; the median of
 * 5 once read 89 GFLOP/s where the same machine reached 157 a minute later,
 * and the training step then "reached" 121 % of that peak).
 */
export async function measureMatmulPeak(size = 1024, runs = 12): Promise<number> {
  const a = tf.randomNormal([size, size]);
  const b = tf.randomNormal([size, size]);
  const times: number[] = [];
  try {
    for (let i = 0; i < runs + 1; i++) {
      const start = performance.now();
      const c = tf.matMul(a, b);
      await c.data();
      if (i > 0) times.push(performance.now() - start);
      c.dispose();
    }
  } finally {
    tf.dispose([a, b]);
  }
  return (2 * size ** 3) / (Math.min(...times) / 1000);
}

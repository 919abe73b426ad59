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
 * The matrix-multiply peak of the active backend: FLOP/s of the fastest of
 * `runs` size³ float32 products through `tf.matMul` (the path every product
 * of a training step takes), in the same process and environment as the
 * step. Large enough that the product dominates (2048³: ~90 ms at 190
 * GFLOP/s); completion is awaited by reading one element, not the 16 MB
 * result, whose copy would count as matmul time. The fastest run counts: a
 * shared machine's noise only ever slows a run down.
 */
export async function measureMatmulPeak(size = 2048, runs = 6): Promise<number> {
  const a = tf.randomNormal([size, size]);
  const b = tf.randomNormal([size, size]);
  const times: number[] = [];
  try {
    for (let i = 0; i < runs + 1; i++) {
      const start = performance.now();
      const c = tf.matMul(a, b);
      const corner = tf.slice(c, [0, 0], [1, 1]);
      await corner.data();
      if (i > 0) times.push(performance.now() - start);
      tf.dispose([c, corner]);
    }
  } finally {
    tf.dispose([a, b]);
  }
  return (2 * size ** 3) / (Math.min(...times) / 1000);
}

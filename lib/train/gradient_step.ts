/**
 * One optimiser step, the same for every trainer (pretraining and SFT, the
 * reward model, PPO, DPO): the gradients of a loss with respect to named
 * weights, clipping by their global norm, the AdamW update. Every tensor the
 * step makes is freed, except the loss, the gradient norm and the statistics
 * the loss closure asks to keep (the caller reads and disposes them).
 */
import { tf } from "../tf.ts";
import type { AdamW } from "./adamw.ts";
import { clipByGlobalNorm } from "./clip.ts";
import { countWork } from "../work.ts";

/** What the loss closure returns: the scalar to minimise, and tensors to keep past the step (statistics). */
export interface StepLoss<K extends Record<string, tf.Tensor>> {
  readonly loss: tf.Scalar;
  readonly keep?: K;
}

/** A step's learning rate and clipping, and the positions it runs (for the throughput counters, lib/work.ts). */
export interface StepOptions {
  readonly lr: number;
  /** Global gradient-norm clip (0: none). */
  readonly gradClip: number;
  /** Positions through the forward and backward pass (rows × padded length), counted as training work. */
  readonly tokens?: number;
}

/** The step's loss, the gradient norm before clipping, and the kept tensors. */
export type StepOutput<K extends Record<string, tf.Tensor>> = {
  readonly loss: tf.Scalar;
  readonly gradNorm: tf.Scalar;
  readonly kept: K;
};

/**
 * Minimises `lossFn()` by one step of `optimizer` over `params` (keyed by the names the optimizer knows).
 * `gradClip` ≤ 0 or Infinity measures the norm without clipping.
 */
export function gradientStep<K extends Record<string, tf.Tensor> = Record<string, never>>(
  params: Readonly<Record<string, tf.Variable>>,
  optimizer: AdamW,
  lossFn: () => StepLoss<K>,
  options: StepOptions,
): StepOutput<K> {
  const start = performance.now();
  const out = tf.tidy(() => {
    let kept = {} as K;
    const { value, grads } = tf.variableGrads(() => {
      const out = lossFn();
      kept = Object.fromEntries(Object.entries(out.keep ?? {}).map(([k, t]) => [k, tf.keep(t)])) as K;
      return out.loss;
    }, Object.values(params));
    const named = gradientsByName(params, grads);
    const clipped = clipByGlobalNorm(named, options.gradClip > 0 ? options.gradClip : Infinity);
    optimizer.step(clipped.grads, options.lr);
    return { loss: value, gradNorm: clipped.norm, kept };
  });
  if (options.tokens) countWork("train", options.tokens, (performance.now() - start) / 1000);
  return out;
}

/** tfjs keys gradients by variable name; this keys them by the weights' own names (e.g. HF's "h.0.attn.c_attn.weight"). */
export function gradientsByName(params: Readonly<Record<string, tf.Variable>>, grads: tf.NamedTensorMap): Record<string, tf.Tensor> {
  const named: Record<string, tf.Tensor> = {};
  for (const [name, variable] of Object.entries(params)) {
    const g = grads[variable.name];
    if (!g) throw new Error(`no gradient for weight "${name}"`);
    named[name] = g;
  }
  return named;
}

/**
 * `gradientStep` whose kept statistics (scalars) are read back as numbers, with one sync, and every tensor
 * freed: the minibatch step of PPO and the group methods.
 */
export async function gradientStepStats<K extends string>(
  params: Readonly<Record<string, tf.Variable>>,
  optimizer: AdamW,
  lossFn: () => StepLoss<Record<K, tf.Scalar>>,
  options: StepOptions,
): Promise<Record<K, number>> {
  const step = gradientStep(params, optimizer, lossFn, options);
  tf.dispose([step.loss, step.gradNorm]);
  const names = Object.keys(step.kept) as K[];
  const values = await Promise.all(names.map(async (name) => (await step.kept[name].data())[0]));
  tf.dispose(Object.values(step.kept));
  return Object.fromEntries(names.map((name, i) => [name, values[i]])) as Record<K, number>;
}

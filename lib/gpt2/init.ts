/**
 * Creating, counting and freeing GPT-2 weights.
 */
import { tf, variableOf } from "../tf.ts";
import type { GPT2Config } from "./config.ts";
import { gpt2ParamShapes } from "./config.ts";
import type { GPT2Model, GPT2Params } from "./model_types.ts";
import { tfjsSeed } from "./layers.ts";

/**
 * A GPT-2 with the GPT-2 paper's initialisation: weights and embeddings
 * N(0, initializer_range), biases 0, LayerNorm weight 1 / bias 0, and the two
 * residual projections (attn.c_proj, mlp.c_proj) scaled by 1/√(2·n_layer) so the
 * residual stream's variance does not grow with depth. Seeded: the same seed
 * gives the same weights.
 *
 * @example
 * ```ts
 * import { createGPT2, resolveGPT2Config } from "rlhf";
 * const config = resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
 * const model = createGPT2(config, { seed: 0 }); // the same seed gives the same weights
 * Object.keys(model.params).length; // 16 variables, named as in HF checkpoints
 * ```
 */
export function createGPT2(config: Readonly<GPT2Config>, options: { seed?: number } = {}): GPT2Model {
  const seed = options.seed ?? 0;
  const params: GPT2Params = {};
  let k = 0;
  for (const [name, shape] of gpt2ParamShapes(config)) {
    const paramSeed = seed + 7919 * k++;
    params[name] = variableOf(() => initialValue(name, shape, config, paramSeed));
  }
  return { config, params };
}

function initialValue(name: string, shape: number[], config: GPT2Config, seed: number): tf.Tensor {
  if (name.endsWith("ln_1.weight") || name.endsWith("ln_2.weight") || name === "ln_f.weight") return tf.ones(shape);
  if (name.endsWith(".bias")) return tf.zeros(shape);
  const isResidualProjection = name.endsWith("attn.c_proj.weight") || name.endsWith("mlp.c_proj.weight");
  const std = config.initializer_range / (isResidualProjection ? Math.sqrt(2 * config.n_layer) : 1);
  return tf.randomNormal(shape, 0, std, "float32", tfjsSeed(seed));
}

/**
 * Number of trainable numbers (the tied LM head counted once).
 *
 * @example
 * ```ts
 * import { countParams, createGPT2, resolveGPT2Config } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * countParams(model); // 1080 (the LM head shares wte's 128)
 * ```
 */
export function countParams(model: GPT2Model): number {
  return Object.values(model.params).reduce((n, v) => n + v.size, 0);
}

/**
 * Frees a model's weights.
 *
 * @example
 * ```ts
 * import { createGPT2, disposeGPT2, resolveGPT2Config, tf } from "rlhf";
 * const before = tf.memory().numTensors;
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * disposeGPT2(model);
 * tf.memory().numTensors === before; // true
 * ```
 */
export function disposeGPT2(model: GPT2Model): void {
  for (const v of Object.values(model.params)) v.dispose();
}

/**
 * A deep copy with new variables (e.g. the frozen reference model of PPO).
 *
 * @example
 * ```ts
 * import { cloneGPT2, createGPT2, resolveGPT2Config } from "rlhf";
 * const policy = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const reference = cloneGPT2(policy, { trainable: false }); // PPO's frozen reference: same weights, variables of its own
 * reference.params["wte.weight"].trainable; // false
 * ```
 */
export function cloneGPT2(model: GPT2Model, options: { trainable?: boolean } = {}): GPT2Model {
  const params: GPT2Params = {};
  for (const [name, v] of Object.entries(model.params)) params[name] = tf.variable(v, options.trainable ?? true);
  return { config: model.config, params };
}

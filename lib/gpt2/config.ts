/**
 * GPT-2 hyper-parameters, named as in Hugging Face `GPT2Config` (config.json).
 */

/** The shape of a GPT-2 model. Field names follow HF `config.json`. */
export interface GPT2Config {
  /** Number of token ids the embedding table holds. @default 50257 */
  readonly vocab_size: number;
  /** Longest sequence the position table covers (context length). @default 1024 */
  readonly n_positions: number;
  /** Width of the residual stream (C). @default 768 */
  readonly n_embd: number;
  /** Number of transformer blocks. @default 12 */
  readonly n_layer: number;
  /** Number of attention heads; must divide n_embd. @default 12 */
  readonly n_head: number;
  /** Dropout on embeddings, residual branches and attention weights, used only when training. @default 0.1 */
  readonly dropout: number;
  /** LayerNorm epsilon (HF `layer_norm_epsilon`). @default 1e-5 */
  readonly layer_norm_epsilon: number;
  /** Std of the normal init of weights (HF `initializer_range`). @default 0.02 */
  readonly initializer_range: number;
}

/**
 * Every field of `GPT2Config` at its default: GPT-2 small (124M), with HF's dropout and initialisation.
 *
 * @example
 * ```ts
 * import { GPT2_DEFAULTS } from "rlhf";
 * const { n_layer, n_head, n_embd } = GPT2_DEFAULTS; // 12, 12, 768
 * ```
 */
export const GPT2_DEFAULTS: Readonly<GPT2Config> = Object.freeze({
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  dropout: 0.1,
  layer_norm_epsilon: 1e-5,
  initializer_range: 0.02,
});

/**
 * Named sizes: the four real GPT-2 models and tiny ones that train on a CPU.
 *
 * @example
 * ```ts
 * import { GPT2_PRESETS, resolveGPT2Config } from "rlhf";
 * GPT2_PRESETS["gpt2-micro"]; // { n_layer: 4, n_head: 4, n_embd: 128, n_positions: 128 }: the shipped base's size
 * const config = resolveGPT2Config({ preset: "gpt2-micro", vocab_size: 5676 }); // the vocabulary comes from the task
 * ```
 */
export const GPT2_PRESETS = Object.freeze(
  {
    "gpt2": { n_layer: 12, n_head: 12, n_embd: 768 }, // 124M
    "gpt2-medium": { n_layer: 24, n_head: 16, n_embd: 1024 }, // 350M
    "gpt2-large": { n_layer: 36, n_head: 20, n_embd: 1280 }, // 774M
    "gpt2-xl": { n_layer: 48, n_head: 25, n_embd: 1600 }, // 1558M
    // Tiny presets for a laptop CPU. Vocabulary and context come from the task.
    "gpt2-nano": { n_layer: 2, n_head: 2, n_embd: 64, n_positions: 128 },
    "gpt2-micro": { n_layer: 4, n_head: 4, n_embd: 128, n_positions: 128 },
    "gpt2-micro-6l": { n_layer: 6, n_head: 4, n_embd: 128, n_positions: 128 }, // between micro and mini
    "gpt2-mini": { n_layer: 6, n_head: 6, n_embd: 192, n_positions: 256 },
  } satisfies Record<string, Partial<GPT2Config>>,
);

export type GPT2PresetName = keyof typeof GPT2_PRESETS;

/**
 * Checks a config and returns a new frozen object; throws naming the bad field.
 *
 * @example
 * ```ts
 * import { resolveGPT2Config } from "rlhf";
 * const config = resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
 * config.dropout; // 0.1, the default
 * // resolveGPT2Config({ n_embd: 10, n_head: 4 }) throws "GPT2Config.n_head: n_embd (10) must be divisible by n_head (4)"
 * ```
 */
export function resolveGPT2Config(
  overrides: Partial<GPT2Config> & { preset?: GPT2PresetName } = {},
): Readonly<GPT2Config> {
  const { preset, ...rest } = overrides;
  if (preset !== undefined && !Object.hasOwn(GPT2_PRESETS, preset)) { // own keys only: "toString" is no preset
    throw new Error(
      `GPT2Config.preset: unknown preset "${preset}"; expected one of ${Object.keys(GPT2_PRESETS).join(", ")}`,
    );
  }
  const config: GPT2Config = {
    ...GPT2_DEFAULTS,
    ...(preset ? GPT2_PRESETS[preset] : {}),
    ...rest,
  };
  for (const key of ["vocab_size", "n_positions", "n_embd", "n_layer", "n_head"] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v <= 0) {
      throw new Error(`GPT2Config.${key}: expected a positive integer, got ${v}`);
    }
  }
  if (config.n_embd % config.n_head !== 0) {
    throw new Error(
      `GPT2Config.n_head: n_embd (${config.n_embd}) must be divisible by n_head (${config.n_head})`,
    );
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) {
    throw new Error(`GPT2Config.dropout: expected a number in [0, 1), got ${config.dropout}`);
  }
  if (!(config.layer_norm_epsilon > 0)) {
    throw new Error(`GPT2Config.layer_norm_epsilon: expected > 0, got ${config.layer_norm_epsilon}`);
  }
  if (!(config.initializer_range > 0)) {
    throw new Error(`GPT2Config.initializer_range: expected > 0, got ${config.initializer_range}`);
  }
  return Object.freeze(config);
}

/**
 * The weight names and shapes of a GPT-2, exactly as in HF checkpoints
 * (without the `transformer.` prefix). Conv1D weights are `[in, out]`.
 * The LM head is tied to `wte.weight`, so it has no entry of its own.
 *
 * @example
 * ```ts
 * import { gpt2ParamShapes, resolveGPT2Config } from "rlhf";
 * const shapes = gpt2ParamShapes(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * shapes.get("h.0.attn.c_attn.weight"); // [8, 24]: queries, keys and values of C = 8, as [in, out]
 * shapes.size; // 16: wte, wpe, 12 per block, ln_f's two
 * ```
 */
export function gpt2ParamShapes(config: GPT2Config): Map<string, number[]> {
  const C = config.n_embd;
  const shapes = new Map<string, number[]>();
  shapes.set("wte.weight", [config.vocab_size, C]);
  shapes.set("wpe.weight", [config.n_positions, C]);
  for (let i = 0; i < config.n_layer; i++) {
    const h = `h.${i}`;
    shapes.set(`${h}.ln_1.weight`, [C]);
    shapes.set(`${h}.ln_1.bias`, [C]);
    shapes.set(`${h}.attn.c_attn.weight`, [C, 3 * C]);
    shapes.set(`${h}.attn.c_attn.bias`, [3 * C]);
    shapes.set(`${h}.attn.c_proj.weight`, [C, C]);
    shapes.set(`${h}.attn.c_proj.bias`, [C]);
    shapes.set(`${h}.ln_2.weight`, [C]);
    shapes.set(`${h}.ln_2.bias`, [C]);
    shapes.set(`${h}.mlp.c_fc.weight`, [C, 4 * C]);
    shapes.set(`${h}.mlp.c_fc.bias`, [4 * C]);
    shapes.set(`${h}.mlp.c_proj.weight`, [4 * C, C]);
    shapes.set(`${h}.mlp.c_proj.bias`, [C]);
  }
  shapes.set("ln_f.weight", [C]);
  shapes.set("ln_f.bias", [C]);
  return shapes;
}

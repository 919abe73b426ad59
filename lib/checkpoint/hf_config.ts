/**
 * GPT-2 `config.json` in the Hugging Face layout ⇄ our GPT2Config.
 *
 * Reading accepts the config files found on the hub (old ones with `n_ctx`,
 * new ones written by `save_pretrained`) and refuses, with the field named,
 * every setting that would make our forward pass differ from HF's
 * GPT2LMHeadModel: silently computing something else would be worse.
 */
import { type GPT2Config, resolveGPT2Config } from "../gpt2/config.ts";

/**
 * The largest size config.json may declare for each field. A GPT-2 built from the file is allocated from these
 * numbers (one map entry per weight, then the weights), so a damaged or hostile file with `n_layer` 50,000,000
 * would take minutes and gigabytes before failing somewhere unrelated. The limits are far above any model that
 * trains or runs here, and above the large public models of this shape: GPT-3 175B has 96 layers, 96 heads and a
 * width of 12,288; tokenizers reach 256k entries; contexts reach 128k positions.
 */
const SIZE_LIMITS = {
  n_layer: 256,
  n_head: 256,
  n_embd: 16384,
  vocab_size: 1_000_000,
  n_positions: 131072,
} as const;

/** The special token ids written into config.json. */
export interface HFTokenIds {
  /** `bos_token_id`; omitted from config.json when undefined. */
  readonly bosTokenId?: number;
  /** `eos_token_id`; omitted from config.json when undefined. */
  readonly eosTokenId?: number;
}

/**
 * Reads a HF GPT-2 config.json object; errors name `source` and the field.
 *
 * @example
 * ```ts
 * const config = gpt2ConfigFromHF(JSON.parse(await Deno.readTextFile("gpt2/config.json")), "gpt2/config.json");
 * ```
 */
export function gpt2ConfigFromHF(json: unknown, source: string): Readonly<GPT2Config> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  if (c.model_type !== undefined && c.model_type !== "gpt2") {
    throw new Error(`${source}: field "model_type" is ${JSON.stringify(c.model_type)}, expected "gpt2"`);
  }
  // HF's default when the field is absent is "gelu_new"; "gelu_pytorch_tanh" is the same tanh approximation.
  const activation = c.activation_function ?? "gelu_new";
  if (activation !== "gelu_new" && activation !== "gelu_pytorch_tanh") {
    throw new Error(
      `${source}: field "activation_function" is ${JSON.stringify(activation)}, which is not supported (expected "gelu_new")`,
    );
  }
  // Flags that change the computation (or add weights) away from GPT-2's; HF defaults in brackets.
  refuse(c, source, "scale_attn_weights", false, "attention scores are always scaled by 1/√head_size"); // [true]
  refuse(c, source, "scale_attn_by_inverse_layer_idx", true, "per-layer attention scaling is not implemented"); // [false]
  refuse(c, source, "add_cross_attention", true, "GPT-2 here is a decoder only, without cross-attention"); // [false]
  refuse(c, source, "tie_word_embeddings", false, "the LM head is always tied to wte.weight"); // [true]

  const number = (field: string): number | undefined => {
    const v = c[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(`${source}: field "${field}" must be a number, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const overrides: Partial<Record<keyof GPT2Config, number>> = {};
  const set = (key: keyof GPT2Config, value: number | undefined) => {
    if (value !== undefined) overrides[key] = value;
  };
  /** A size field, refused above its limit before any model is built from it. */
  const size = (field: string, limit: number): number | undefined => {
    const v = number(field);
    if (v !== undefined && v > limit) {
      throw new Error(`${source}: field "${field}" is ${v}, more than ${limit} (the largest accepted; a damaged or foreign config.json?)`);
    }
    return v;
  };
  set("vocab_size", size("vocab_size", SIZE_LIMITS.vocab_size));
  // Old hub files carry both n_ctx and n_positions (equal); some only n_ctx. HF reads n_positions.
  set("n_positions", size("n_positions", SIZE_LIMITS.n_positions) ?? size("n_ctx", SIZE_LIMITS.n_positions));
  set("n_embd", size("n_embd", SIZE_LIMITS.n_embd));
  set("n_layer", size("n_layer", SIZE_LIMITS.n_layer));
  set("n_head", size("n_head", SIZE_LIMITS.n_head));
  // HF has three dropout rates (resid_pdrop, embd_pdrop, attn_pdrop); every real GPT-2 uses one value for
  // all three, and our config has a single `dropout`, so resid_pdrop is read and the other two are ignored
  // (dropout only matters for training, never for the loaded weights or for inference).
  set("dropout", number("resid_pdrop"));
  set("layer_norm_epsilon", number("layer_norm_epsilon"));
  set("initializer_range", number("initializer_range"));
  let config: Readonly<GPT2Config>;
  try {
    config = resolveGPT2Config(overrides);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
  const nInner = number("n_inner");
  if (nInner !== undefined && nInner !== 4 * config.n_embd) {
    throw new Error(`${source}: field "n_inner" is ${nInner}, which is not supported (expected null or 4·n_embd = ${4 * config.n_embd})`);
  }
  return config;
}

function refuse(c: Record<string, unknown>, source: string, field: string, bad: boolean, why: string): void {
  if (c[field] === bad) throw new Error(`${source}: field "${field}" is ${bad}, which is not supported (${why})`);
}

/**
 * A config.json that HF transformers loads as `GPT2LMHeadModel` unchanged:
 * every field that shapes the model is written out explicitly, so the file
 * does not depend on the defaults of one transformers version. The
 * `summary_*` fields (only for GPT2DoubleHeadsModel) are left out.
 *
 * @example
 * ```ts
 * import { gpt2ConfigToHF } from "./hf_config.ts";
 * import { writeJsonAtomic } from "./atomic.ts";
 * import { resolveGPT2Config } from "../gpt2/config.ts";
 * const config = resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
 * await writeJsonAtomic(`${await Deno.makeTempDir()}/config.json`, gpt2ConfigToHF(config, { eosTokenId: 3 }));
 * ```
 */
export function gpt2ConfigToHF(config: GPT2Config, ids: HFTokenIds = {}): Record<string, unknown> {
  const checked = resolveGPT2Config({ ...config });
  for (const [field, id] of [["bosTokenId", ids.bosTokenId], ["eosTokenId", ids.eosTokenId]] as const) {
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < checked.vocab_size)) {
      throw new Error(`gpt2ConfigToHF: ${field} must be an integer in [0, vocab_size = ${checked.vocab_size}), got ${id}`);
    }
  }
  return {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    activation_function: "gelu_new",
    vocab_size: checked.vocab_size,
    n_positions: checked.n_positions,
    n_ctx: checked.n_positions,
    n_embd: checked.n_embd,
    n_layer: checked.n_layer,
    n_head: checked.n_head,
    n_inner: null,
    resid_pdrop: checked.dropout,
    embd_pdrop: checked.dropout,
    attn_pdrop: checked.dropout,
    layer_norm_epsilon: checked.layer_norm_epsilon,
    initializer_range: checked.initializer_range,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    add_cross_attention: false,
    tie_word_embeddings: true,
    use_cache: true,
    ...(ids.bosTokenId !== undefined ? { bos_token_id: ids.bosTokenId } : {}),
    ...(ids.eosTokenId !== undefined ? { eos_token_id: ids.eosTokenId } : {}),
    torch_dtype: "float32",
  };
}

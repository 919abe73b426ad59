/**
 * GPT-2 `config.json` in the Hugging Face layout ⇄ our GPT2Config.
 */
import { type GPT2Config, resolveGPT2Config } from "../gpt2/config.ts";

/** Reads a HF GPT-2 config.json object; errors name `source` and the field. */
export function gpt2ConfigFromHF(json: unknown, source: string): Readonly<GPT2Config> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  if (c.model_type !== undefined && c.model_type !== "gpt2") {
    throw new Error(`${source}: model_type is ${JSON.stringify(c.model_type)}, expected "gpt2"`);
  }
  const activation = c.activation_function ?? "gelu_new";
  // "gelu_pytorch_tanh" is the same tanh approximation under another name.
  if (activation !== "gelu_new" && activation !== "gelu_pytorch_tanh") {
    throw new Error(`${source}: activation_function ${JSON.stringify(activation)} is not supported (expected "gelu_new")`);
  }
  const number = (field: string, fallback?: unknown): number | undefined => {
    const v = c[field] ?? fallback;
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number") throw new Error(`${source}: field "${field}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const n_embd = number("n_embd");
  const n_inner = c.n_inner;
  if (n_inner !== undefined && n_inner !== null && n_inner !== 4 * (n_embd ?? 0)) {
    throw new Error(`${source}: n_inner ${n_inner} is not supported (expected null or 4·n_embd)`);
  }
  const overrides: Partial<GPT2Config> = {};
  const set = <K extends keyof GPT2Config>(key: K, value: number | undefined) => {
    if (value !== undefined) (overrides as Record<string, number>)[key] = value;
  };
  set("vocab_size", number("vocab_size"));
  set("n_positions", number("n_positions", c.n_ctx));
  set("n_embd", n_embd);
  set("n_layer", number("n_layer"));
  set("n_head", number("n_head"));
  // HF has three dropout rates (resid, embd, attn); GPT-2 uses one value for all, so we read resid_pdrop.
  set("dropout", number("resid_pdrop"));
  set("layer_norm_epsilon", number("layer_norm_epsilon"));
  set("initializer_range", number("initializer_range"));
  try {
    return resolveGPT2Config(overrides);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
}

/** A config.json that HF transformers loads as `GPT2LMHeadModel` unchanged. */
export function gpt2ConfigToHF(config: GPT2Config, ids: { bosTokenId?: number; eosTokenId?: number } = {}): Record<string, unknown> {
  return {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    activation_function: "gelu_new",
    vocab_size: config.vocab_size,
    n_positions: config.n_positions,
    n_ctx: config.n_positions,
    n_embd: config.n_embd,
    n_layer: config.n_layer,
    n_head: config.n_head,
    n_inner: null,
    resid_pdrop: config.dropout,
    embd_pdrop: config.dropout,
    attn_pdrop: config.dropout,
    layer_norm_epsilon: config.layer_norm_epsilon,
    initializer_range: config.initializer_range,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: true,
    use_cache: true,
    ...(ids.bosTokenId !== undefined ? { bos_token_id: ids.bosTokenId } : {}),
    ...(ids.eosTokenId !== undefined ? { eos_token_id: ids.eosTokenId } : {}),
    torch_dtype: "float32",
  };
}

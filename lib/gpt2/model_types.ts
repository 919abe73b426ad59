import type { tf } from "../tf.ts";
import type { GPT2Config } from "./config.ts";

/** A flat record of weights keyed by HF GPT-2 names (see `gpt2ParamShapes`). */
export type GPT2Params = Record<string, tf.Variable>;

/** A GPT-2: its config and its weights. Functions in lib/gpt2 act on it. */
export interface GPT2Model {
  readonly config: Readonly<GPT2Config>;
  readonly params: GPT2Params;
}

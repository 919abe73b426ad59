/**
 * A checkpoint of an online RL run (PPO; RLOO and GRPO without a value head):
 * the policy's GPT-2 (HF layout, loads as a plain model for chat),
 * `value_head.safetensors` when there is a value head, `optimizer.safetensors`
 * and `ppo_state.json` (iteration, config, KL coefficient, RNG state,
 * history), in one atomic directory swap. Resuming restores all of it.
 */
import { tf } from "../tf.ts";
import { loadGPT2Weights, recoverInterruptedSwap, saveGPT2Weights } from "../checkpoint/pretrained.ts";
import { parseSafetensors, serializeSafetensors } from "../checkpoint/safetensors.ts";
import { disposeGPT2 } from "../gpt2/init.ts";
import type { AdamW } from "../train/adamw.ts";
import type { Policy } from "./policy.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { parseJsonText } from "../fs.ts";

/** A policy as checkpointed: PPO's has a value head, RLOO's and GRPO's do not. */
export type CheckpointedPolicy = Policy | { readonly lm: GPT2Model; readonly value?: undefined };

export interface PPOState<H> {
  readonly iteration: number;
  readonly config: unknown;
  readonly klCoef: number;
  readonly rngState: number;
  readonly history: H;
}

export async function savePPOCheckpoint<H>(
  dir: string,
  policy: CheckpointedPolicy,
  optimizer: AdamW,
  state: PPOState<H>,
  extraFiles: Record<string, string | Uint8Array>,
): Promise<void> {
  const opt = await optimizer.state();
  const optTensors = new Map([...opt.tensors].map(([k, v]) => [k, { dtype: "F32" as const, shape: v.shape, data: v.data }]));
  const value = policy.value;
  const head = value && new Map([
    ["value.weight", { dtype: "F32" as const, shape: value.weight.shape, data: (await value.weight.data()) as Float32Array }],
    ["value.bias", { dtype: "F32" as const, shape: value.bias.shape, data: (await value.bias.data()) as Float32Array }],
  ]);
  await saveGPT2Weights(policy.lm, dir, {
    extraFiles: {
      ...extraFiles,
      ...(head ? { "value_head.safetensors": serializeSafetensors(head) } : {}),
      "optimizer.safetensors": serializeSafetensors(optTensors, { adamw_step: String(opt.step) }),
      "ppo_state.json": JSON.stringify(state) + "\n",
    },
  });
}

/** Restores a PPO run from `dir` into `policy` and `optimizer`; undefined if `dir` has no PPO state. */
export async function loadPPOCheckpoint<H>(
  dir: string,
  policy: CheckpointedPolicy,
  optimizer: AdamW,
  config: unknown,
): Promise<PPOState<H> | undefined> {
  await recoverInterruptedSwap(dir); // a crash between the two renames of a swap left the finished checkpoint aside
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/ppo_state.json`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const state = parseJsonText(text, `${dir}/ppo_state.json`) as PPOState<H>;
  if (JSON.stringify(state.config) !== JSON.stringify(config)) {
    const [was, now] = [state.config, config] as Record<string, unknown>[];
    const differs = [...new Set([...Object.keys(was ?? {}), ...Object.keys(now ?? {})])]
      .filter((k) => JSON.stringify(was?.[k]) !== JSON.stringify(now?.[k]))
      .map((k) => `${k}: ${JSON.stringify(was?.[k])} → ${JSON.stringify(now?.[k])}`);
    throw new Error(
      `${dir}/ppo_state.json: this PPO run used another config (${
        differs.join("; ")
      }); use another checkpoint directory or delete this one`,
    );
  }
  const saved = await loadGPT2Weights(dir);
  try {
    for (const [name, v] of Object.entries(policy.lm.params)) v.assign(saved.params[name]);
  } finally {
    disposeGPT2(saved);
  }
  const value = policy.value;
  if (value) {
    const head = parseSafetensors(await Deno.readFile(`${dir}/value_head.safetensors`), `${dir}/value_head.safetensors`);
    tf.tidy(() => {
      value.weight.assign(tf.tensor(head.tensors.get("value.weight")!.data, value.weight.shape));
      value.bias.assign(tf.tensor(head.tensors.get("value.bias")!.data, value.bias.shape));
    });
  }
  const opt = parseSafetensors(await Deno.readFile(`${dir}/optimizer.safetensors`), `${dir}/optimizer.safetensors`);
  optimizer.loadState({
    step: Number(opt.metadata.adamw_step),
    tensors: new Map([...opt.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data as Float32Array }])),
  });
  return state;
}

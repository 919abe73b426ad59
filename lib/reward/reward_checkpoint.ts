/**
 * A reward-model checkpoint: the backbone in the HF GPT-2 layout (so it loads
 * anywhere a GPT-2 does), `reward_head.safetensors` (score.weight, score.bias)
 * and `reward.json` (the normalisation), in one atomic directory swap.
 */
import { tf, variableOf } from "../tf.ts";
import { loadGPT2Weights, saveGPT2Weights } from "../checkpoint/pretrained.ts";
import { readSafetensorsFile } from "../checkpoint/safetensors.ts";
import { tensorFile } from "../run/run_directory.ts";
import { disposeGPT2 } from "../gpt2/init.ts";
import { readJsonFile } from "../fs.ts";
import type { RewardModel } from "./reward_model.ts";

const HEAD_FILE = "reward_head.safetensors";
const REWARD_JSON = "reward.json";

/** Who ranked what, recorded in reward.json beside the normalisation. */
export interface RewardLabelsRecord {
  readonly files: readonly string[];
  readonly listsByLabeler: Readonly<Record<string, number>>;
}

/** The files a reward model adds to its backbone's directory: the head and reward.json (normalisation, read-out, labels). */
export async function rewardModelFiles(rm: RewardModel, labels?: RewardLabelsRecord): Promise<Record<string, string | Uint8Array>> {
  return {
    [HEAD_FILE]: await tensorFile({ "score.weight": rm.head.weight, "score.bias": rm.head.bias }, { format: "pt" }),
    [REWARD_JSON]: JSON.stringify({ normalisation: rm.normalisation, readout: "last real token", labels }, null, 2) + "\n",
  };
}

/**
 * Writes the reward model (backbone in the HF layout, head, reward.json, `extraFiles`) as one atomic directory.
 *
 * @example
 * ```ts
 * import { createGPT2, createRewardModel, resolveGPT2Config, saveRewardModel } from "rlhf";
 * const rm = createRewardModel(createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 })));
 * const dir = `${await Deno.makeTempDir()}/rm`;
 * await saveRewardModel(rm, dir); // config.json and model.safetensors (the backbone), reward_head.safetensors, reward.json
 * ```
 */
export async function saveRewardModel(
  rm: RewardModel,
  dir: string,
  extraFiles: Record<string, string | Uint8Array> = {},
  labels?: RewardLabelsRecord,
): Promise<void> {
  await saveGPT2Weights(rm.backbone, dir, { extraFiles: { ...extraFiles, ...await rewardModelFiles(rm, labels) } });
}

/**
 * Reads a reward model that `saveRewardModel` wrote; errors name the file and the tensor.
 *
 * @example
 * ```ts
 * import { createGPT2, createRewardModel, loadRewardModel, resolveGPT2Config, saveRewardModel } from "rlhf";
 * const rm = createRewardModel(createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 })));
 * const dir = `${await Deno.makeTempDir()}/rm`;
 * await saveRewardModel(rm, dir);
 * const again = await loadRewardModel(dir); // the same weights, head and normalisation
 * ```
 */
export async function loadRewardModel(dir: string): Promise<RewardModel> {
  const backbone = await loadGPT2Weights(dir);
  try {
    const head = await readSafetensorsFile(`${dir}/${HEAD_FILE}`);
    const C = backbone.config.n_embd;
    const w = head.tensors.get("score.weight");
    const b = head.tensors.get("score.bias");
    if (!w || w.shape.join() !== `${C},1`) {
      throw new Error(`${dir}/${HEAD_FILE}: tensor "score.weight": expected shape [${C}, 1], found ${w ? `[${w.shape}]` : "nothing"}`);
    }
    if (!b || b.shape.join() !== "1") {
      throw new Error(`${dir}/${HEAD_FILE}: tensor "score.bias": expected shape [1], found ${b ? `[${b.shape}]` : "nothing"}`);
    }
    const meta = (await readJsonFile(`${dir}/${REWARD_JSON}`)) as { normalisation?: { gain?: unknown; bias?: unknown } };
    const { gain, bias } = meta.normalisation ?? {};
    if (typeof gain !== "number" || typeof bias !== "number") {
      throw new Error(`${dir}/${REWARD_JSON}: "normalisation" must have numbers "gain" and "bias"`);
    }
    return {
      backbone,
      head: { weight: variableOf(() => tf.tensor(w.data, [C, 1], "float32")), bias: variableOf(() => tf.tensor(b.data, [1], "float32")) },
      normalisation: { gain, bias },
    };
  } catch (err) {
    disposeGPT2(backbone);
    throw err;
  }
}

/**
 * The policy and the reward model as the Hugging Face classes the engines
 * load by name. A wrong tensor name is not an error there: `from_pretrained`
 * initialises a missing head at random and only warns, so every name and
 * config field below is the one the loader reads.
 *
 * - Policy: `GPT2LMHeadModel` (what `savePretrained` writes), with the
 *   end-of-turn id as `eos_token_id` in config.json and generation_config.json,
 *   so that generation (vLLM, `generate`) stops where ours does.
 * - Reward model for TRL and OpenRLHF: `GPT2ForSequenceClassification`, head
 *   `score.weight` [1, C] without bias, `num_labels` 1, `pad_token_id` (HF
 *   reads the score at the last token that is not `pad_token_id`;
 *   transformers src/transformers/models/gpt2/modeling_gpt2.py). OpenRLHF
 *   builds its own class around the same names (`value_head_prefix` "score",
 *   read from config.json; reward at the last position of the attention mask;
 *   `(reward − config.mean) / config.std` with `--reward.normalize_enable`;
 *   openrlhf/models/model.py, `_get_reward_model`).
 * - Reward model for verl: `AutoModelForTokenClassification` with
 *   `num_labels` 1 (verl/workers/fsdp_workers.py, RewardModelWorker), i.e.
 *   `GPT2ForTokenClassification`, head `classifier.weight` [1, C] and
 *   `classifier.bias` [1], read at the last position of the attention mask.
 *
 * Our reward is normalised = gain · (w·h + b) + bias. The token-classification
 * head holds it exactly (weight gain·w, bias gain·b + bias). The sequence
 * head has no bias, so it holds gain·w and outputs the normalised reward
 * minus a constant; config.json's `mean` is minus that constant and `std` 1,
 * so OpenRLHF's normalisation gives back the normalised reward itself. A
 * constant does not change any comparison, a Bradley–Terry loss, or a
 * group-relative advantage (RLOO, GRPO).
 */
import { saveGPT2Weights } from "../checkpoint/pretrained.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { RewardModel } from "../reward/reward_model.ts";
import { endOfTurnId } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { hfTokenizerFiles } from "./hf_tokenizer.ts";

/** Which head layout a reward model is exported with. */
export type RewardHeadLayout = "sequence-classification" | "token-classification";

/** The ids a loader needs: the end of a turn (eos) and padding. */
function specialIds(tokenizer: Tokenizer): { eos: number; pad: number } {
  const pad = tokenizer.specialTokens["[PAD]"];
  if (pad === undefined) throw new Error("export: the vocabulary has no [PAD] token for pad_token_id");
  return { eos: endOfTurnId(tokenizer), pad };
}

/**
 * Writes a policy as a `GPT2LMHeadModel` directory with the Hugging Face tokenizer files.
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, createGPT2, exportPolicy, resolveGPT2Config } from "rlhf";
 * const tokenizer = buildCharVocab(["床前明月光"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * const model = createGPT2(resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * await exportPolicy(model, tokenizer, `${await Deno.makeTempDir()}/sft`); // GPT2LMHeadModel.from_pretrained reads it
 * ```
 */
export async function exportPolicy(model: GPT2Model, tokenizer: Tokenizer, dir: string): Promise<void> {
  const { eos, pad } = specialIds(tokenizer);
  await saveGPT2Weights(model, dir, {
    eosTokenId: eos,
    config: { pad_token_id: pad },
    extraFiles: {
      ...hfTokenizerFiles(tokenizer),
      "generation_config.json": JSON.stringify({ eos_token_id: eos, pad_token_id: pad }, null, 2) + "\n",
    },
  });
}

/** What a reward model directory says about its score, beside the weights (`rlhf_reward.json`). */
export interface ExportedRewardHead {
  readonly layout: RewardHeadLayout;
  /** The exported model's output + offset = the project's normalised reward. */
  readonly offset: number;
}

/**
 * Writes the reward model as `GPT2ForSequenceClassification` (TRL, OpenRLHF) or `GPT2ForTokenClassification`
 * (verl), with the tokenizer files; returns the constant to add to its output to get our normalised reward.
 *
 * @example
 * ```ts
 * import { buildCharVocab, CHAT_SPECIAL_TOKENS, createGPT2, createRewardModel, exportRewardModel, resolveGPT2Config } from "rlhf";
 * const tokenizer = buildCharVocab(["床前明月光"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
 * const sft = createGPT2(resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const rm = createRewardModel(sft);
 * const dir = await Deno.makeTempDir();
 * await exportRewardModel(rm, tokenizer, `${dir}/rm`, "sequence-classification"); // head score.weight [1, 8]
 * await exportRewardModel(rm, tokenizer, `${dir}/rm-verl`, "token-classification"); // classifier.weight, classifier.bias
 * ```
 */
export async function exportRewardModel(
  rm: RewardModel,
  tokenizer: Tokenizer,
  dir: string,
  layout: RewardHeadLayout,
): Promise<ExportedRewardHead> {
  const { eos, pad } = specialIds(tokenizer);
  const { gain, bias } = rm.normalisation;
  const w = (await rm.head.weight.data()) as Float32Array; // [C, 1]: as a row it is nn.Linear's [1, C]
  const b = (await rm.head.bias.data())[0];
  const C = rm.backbone.config.n_embd;
  const weight = w.map((x) => gain * x);
  const constant = gain * b + bias;
  const labels = { num_labels: 1, id2label: { "0": "LABEL_0" }, label2id: { LABEL_0: 0 }, pad_token_id: pad };
  const sequence = layout === "sequence-classification";
  const head: ExportedRewardHead = { layout, offset: sequence ? constant : 0 };
  await saveGPT2Weights(rm.backbone, dir, {
    eosTokenId: eos,
    config: sequence
      ? { architectures: ["GPT2ForSequenceClassification"], ...labels, value_head_prefix: "score", mean: -constant, std: 1 }
      : { architectures: ["GPT2ForTokenClassification"], ...labels, classifier_dropout: 0 },
    extraTensors: sequence
      ? { "score.weight": { shape: [1, C], data: weight } }
      : { "classifier.weight": { shape: [1, C], data: weight }, "classifier.bias": { shape: [1], data: new Float32Array([constant]) } },
    extraFiles: {
      ...hfTokenizerFiles(tokenizer),
      "rlhf_reward.json": JSON.stringify({ ...head, normalisation: rm.normalisation, readout: "last real token" }, null, 2) + "\n",
    },
  });
  return head;
}

/**
 * The README inside an export bundle: what each file is, the command lines
 * for each engine (engine_commands.ts), what they need, and how a policy
 * trained there comes back into this project's evaluation.
 */
import { BUNDLE_PATHS, type Engine, type EngineCommand, engineCommands } from "./engine_commands.ts";

/** What the README states about the bundle it describes. */
export interface BundleFacts {
  readonly engines: readonly Engine[];
  readonly task: string;
  /** The preference the gold scorer and the labels rank by, in one sentence. */
  readonly preference: string;
  /** Parameters of the exported GPT-2. */
  readonly parameters: number;
  /** Its context, `n_positions`. */
  readonly positions: number;
  readonly hasPpo: boolean;
  readonly pairs: number;
  readonly trainPrompts: number;
  readonly heldoutPrompts: number;
}

/** The book's model, uer/gpt2-chinese-cluecorpussmall (12 × 768, vocabulary 21,128). */
const BOOK_PARAMETERS = 102_000_000;

function gigabytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.max(1, Math.round(bytes / 1e6))} MB`;
}

/**
 * Bytes of model state (not activations, not vLLM's KV cache) for full fine-tuning with Adam in float32:
 * 16 per trained parameter (weights, gradients, two moments), 4 per frozen one.
 */
function stateBytes(parameters: number, trained: number, frozen: number): number {
  return parameters * (16 * trained + 4 * frozen);
}

function block(command: EngineCommand): string {
  return ["```bash", command.lines.map((l, i) => (i === 0 ? l : `  ${l}`)).join(" \\\n"), "```"].join("\n");
}

const ENGINE_NAMES: Readonly<Record<Engine, string>> = { trl: "TRL", openrlhf: "OpenRLHF", verl: "verl" };
const INSTALL: Readonly<Record<Engine, string>> = {
  trl: "`pip install trl` (its `trl` command runs the scripts of trl/scripts/)",
  openrlhf: "`pip install openrlhf[vllm]` (DeepSpeed, Ray and vLLM on CUDA)",
  verl: "`pip install verl[vllm]` (Ray, FSDP and vLLM on CUDA)",
};

/**
 * The README text.
 *
 * @example
 * ```ts
 * import { bundleReadme } from "./bundle_readme.ts";
 * const text = bundleReadme({
 *   engines: ["trl"], task: "poetry-zh", preference: "bright beats sorrowful", parameters: 1_500_000, positions: 128,
 *   hasPpo: false, pairs: 100, trainPrompts: 50, heldoutPrompts: 10,
 * });
 * text.includes("trl dpo"); // true
 * ```
 */
export function bundleReadme(facts: BundleFacts): string {
  const P = BUNDLE_PATHS;
  const has = (e: Engine) => facts.engines.includes(e);
  const files: string[][] = [
    [P.sft, "the SFT policy, `GPT2LMHeadModel` (config.json, model.safetensors, tokenizer files)", "all"],
    ...(facts.hasPpo ? [[P.ppo, "the PPO policy trained here, same layout (a point of comparison)", "all"]] : []),
    ...(has("trl") || has("openrlhf")
      ? [[
        P.rm,
        "the reward model, `GPT2ForSequenceClassification` (`score.weight`, no bias, `num_labels` 1, `pad_token_id`)",
        "TRL, OpenRLHF",
      ]]
      : []),
    ...(has("verl")
      ? [[P.rmToken, "the reward model, `GPT2ForTokenClassification` (`classifier.weight`, `classifier.bias`)", "verl"]]
      : []),
    ...(has("trl") || has("openrlhf")
      ? [
        [
          `${P.prefsPlain}/{train,test}.jsonl`,
          `preference pairs \`{prompt, chosen, rejected, labeler}\` as text: ${facts.pairs} for training; \`test\`: the rank lists of held-out requests`,
          "TRL, OpenRLHF",
        ],
        [
          `${P.prefsConversational}/{train,test}.jsonl`,
          "the same pairs with `prompt` / `chosen` / `rejected` as chat messages",
          "TRL, OpenRLHF",
        ],
      ]
      : []),
    ...(has("trl")
      ? [
        [`${P.trlPrompts}/{train,test}.jsonl`, "requests `{prompt (messages), constraints, id}`", "TRL"],
        [`${P.trlPromptsPlain}/{train,test}.jsonl`, "the same with `prompt` as text (chat template applied)", "TRL"],
      ]
      : []),
    ...(has("openrlhf") ? [[`${P.openrlhfPrompts}/{train,test}.jsonl`, "requests `{input (messages), label, id}`", "OpenRLHF"]] : []),
    ...(has("verl")
      ? [[`${P.verlPrompts}/{train,test}.parquet`, "requests in verl's schema (`prompt`, `reward_model.ground_truth`, …)", "verl"]]
      : []),
    [P.goldScorer, "the gold scorer (standard-library Python): `trl_reward`, `reward_func`, `compute_score`", "all"],
  ];
  const memory = (n: number) =>
    `a reward model ≥ ${gigabytes(stateBytes(n, 1, 0))}; DPO, or GRPO/RLOO with the gold scorer (policy + reference) ≥ ` +
    `${gigabytes(stateBytes(n, 1, 1))}; GRPO/RLOO with the reward model ≥ ${gigabytes(stateBytes(n, 1, 2))}; ` +
    `PPO (policy, critic, reference, reward model) ≥ ${gigabytes(stateBytes(n, 2, 2))}`;
  const sections = facts.engines.map((engine) =>
    [
      `## ${ENGINE_NAMES[engine]}`,
      "",
      `Install: ${INSTALL[engine]}. Run from this directory.`,
      "",
      ...engineCommands([engine], { positions: facts.positions }).flatMap((c) => [`${c.title}:`, "", block(c), ""]),
    ]
      .join("\n")
  );
  return [
    `# ${facts.task}: a run exported for ${facts.engines.map((e) => ENGINE_NAMES[e]).join(", ")}`,
    "",
    `Written by \`deno task export\`. The gold scorer and the labels prefer: ${facts.preference}.`,
    `${facts.trainPrompts} training requests, ${facts.heldoutPrompts} held-out ones (the \`test\` files: the requests the`,
    "project's own evaluation uses). The tokenizer is a character vocabulary: `tokenizer.json` encodes exactly as the",
    "project does, and `tokenizer_config.json` carries the chat template, so `apply_chat_template` renders the project's",
    "conversations. Generation stops at the end-of-turn marker (`eos_token_id`).",
    "",
    "| path | what | for |",
    "| --- | --- | --- |",
    ...files.map((row) => `| \`${row[0]}\` | ${row[1]} | ${row[2]} |`),
    "",
    "The exported reward model outputs the project's normalised reward (SFT answers: mean 0, std 1) minus a constant",
    "(`offset` in its `rlhf_reward.json`); `config.json`'s `mean` and `std` undo it under OpenRLHF's",
    "`--reward.normalize_enable`, and verl's token-classification head holds it exactly.",
    "",
    ...sections,
    "## What it needs",
    "",
    "Model state for full fine-tuning with Adam in float32 (16 bytes per trained parameter, 4 per frozen one; activations,",
    "vLLM's KV cache and framework overhead come on top, so take these as lower bounds):",
    "",
    `- this model (${(facts.parameters / 1e6).toFixed(2)} M parameters): ${memory(facts.parameters)};`,
    `- the book's model (uer/gpt2-chinese-cluecorpussmall, ${BOOK_PARAMETERS / 1e6} M): ${memory(BOOK_PARAMETERS)}.`,
    "",
    "vLLM reserves a share of GPU memory of its own (`--vllm.gpu_memory_utilization`,",
    "`actor_rollout_ref.rollout.gpu_memory_utilization`). Times on a GPU are not measured by the project; its CPU times, for the course",
    "run and for the book's size (`deno task bench --book`), are in its README and docs/PERFORMANCE.md.",
    "",
    "## Back into the project",
    "",
    "A policy an engine saved with `save_pretrained` (config.json + model.safetensors; copy this bundle's tokenizer",
    "files beside it if the engine did not) is evaluated on the same held-out requests as the project's own methods:",
    "",
    "```bash",
    "deno task evaluate --policy out/trl-grpo --beside-run   # beside the run's own PPO, DPO, RLOO, GRPO",
    "```",
    "",
  ].join("\n");
}

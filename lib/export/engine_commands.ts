/**
 * The command lines the bundle's README gives for each engine, built from
 * this project's defaults (β, answers per request, answer length) so that a
 * run there starts from the settings a run here used. Every flag is one that
 * the engine's own argument parser or config declares; ENGINE_FLAGS lists
 * them with the file that declares them, and tests/export_bundle_test.ts
 * checks that no command uses a flag outside it.
 *
 * Sources (read for this list):
 * - TRL: `trl dpo|reward|grpo|rloo` run trl/scripts/{dpo,reward,grpo,rloo}.py
 *   (trl/cli/commands/training.py); flags are dataclass fields of
 *   trl/scripts/utils.py (ScriptArguments: dataset_name), trl/trainer/model_config.py
 *   (model_name_or_path), trl/trainer/{dpo,reward,grpo,rloo}_config.py (beta,
 *   num_generations, max_completion_length, learning_rate), trl/scripts/grpo.py
 *   and rloo.py (reward_funcs as "module.function", imported from the working
 *   directory; reward_model_name_or_path), and transformers' TrainingArguments
 *   (output_dir, per_device_train_batch_size, num_train_epochs).
 * - OpenRLHF: argparse in openrlhf/cli/train_rm.py and openrlhf/cli/train_ppo_ray.py
 *   (dotted names, e.g. `--data.input_key`; `--reward.remote_url` ending in .py
 *   loads `reward_func` from that file, openrlhf/utils/agent.py;
 *   `--algo.advantage.estimator` gae | reinforce | rloo | reinforce_baseline | group_norm | dr_grpo).
 * - verl: Hydra keys of verl/trainer/config/ppo_trainer.yaml (`python3 -m verl.trainer.main_ppo key=value …`);
 *   `custom_reward_function.path` / `.name` load compute_score from a file (verl/trainer/ppo/reward.py).
 */
import { DPO_DEFAULTS } from "../dpo/train_dpo.ts";
import { GROUP_BETA, GROUP_DEFAULTS } from "../group/group_step.ts";
import { PPO_DEFAULTS } from "../ppo/ppo_config.ts";

/** An engine the bundle is written for. */
export type Engine = "trl" | "openrlhf" | "verl";

/** One command of the README: what it does, and its lines (program, then one flag or key a line). */
export interface EngineCommand {
  readonly engine: Engine;
  readonly title: string;
  readonly lines: readonly string[];
}

/** The flags (TRL, OpenRLHF) and config keys (verl) the commands may use, as their engines declare them. */
export const ENGINE_FLAGS: Readonly<Record<Engine, readonly string[]>> = Object.freeze({
  trl: [
    "--model_name_or_path",
    "--dataset_name",
    "--output_dir",
    "--learning_rate",
    "--per_device_train_batch_size",
    "--num_train_epochs",
    "--beta",
    "--num_generations",
    "--max_completion_length",
    "--reward_funcs",
    "--reward_model_name_or_path",
  ],
  openrlhf: [
    "--model.model_name_or_path",
    "--data.dataset",
    "--data.apply_chat_template",
    "--data.prompt_key",
    "--data.chosen_key",
    "--data.rejected_key",
    "--data.max_len",
    "--ckpt.output_dir",
    "--ckpt.save_hf",
    "--train.batch_size",
    "--train.micro_batch_size",
    "--train.max_epochs",
    "--adam.lr",
    "--actor.model_name_or_path",
    "--critic.model_name_or_path",
    "--reward.model_name_or_path",
    "--reward.normalize_enable",
    "--reward.remote_url",
    "--data.prompt_dataset",
    "--data.input_key",
    "--data.label_key",
    "--rollout.batch_size",
    "--rollout.max_new_tokens",
    "--rollout.n_samples_per_prompt",
    "--algo.kl.init_coef",
    "--algo.advantage.estimator",
    "--actor.num_gpus_per_node",
    "--critic.num_gpus_per_node",
    "--ref.num_gpus_per_node",
    "--reward.num_gpus_per_node",
    "--vllm.num_engines",
  ],
  verl: [
    "algorithm.adv_estimator",
    "algorithm.use_kl_in_reward",
    "algorithm.kl_ctrl.kl_coef",
    "data.train_files",
    "data.val_files",
    "data.max_prompt_length",
    "data.max_response_length",
    "data.train_batch_size",
    "actor_rollout_ref.model.path",
    "actor_rollout_ref.actor.optim.lr",
    "actor_rollout_ref.actor.ppo_mini_batch_size",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu",
    "actor_rollout_ref.actor.use_kl_loss",
    "actor_rollout_ref.actor.kl_loss_coef",
    "actor_rollout_ref.rollout.name",
    "actor_rollout_ref.rollout.n",
    "actor_rollout_ref.rollout.tensor_model_parallel_size",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu",
    "critic.model.path",
    "critic.ppo_micro_batch_size_per_gpu",
    "reward_model.enable",
    "reward_model.model.path",
    "reward_model.micro_batch_size_per_gpu",
    "custom_reward_function.path",
    "custom_reward_function.name",
    "trainer.n_gpus_per_node",
    "trainer.nnodes",
    "trainer.total_epochs",
    "trainer.logger",
  ],
});

/** Where the bundle keeps each thing, relative to its root (the README's commands run there). */
export const BUNDLE_PATHS = Object.freeze({
  sft: "models/sft",
  ppo: "models/ppo",
  rm: "models/rm",
  rmToken: "models/rm-token",
  prefsPlain: "data/preferences/plain",
  prefsConversational: "data/preferences/conversational",
  trlPrompts: "data/prompts/trl",
  trlPromptsPlain: "data/prompts/trl-plain",
  openrlhfPrompts: "data/prompts/openrlhf",
  verlPrompts: "data/prompts/verl",
  goldScorer: "gold_scorer.py",
});

const P = BUNDLE_PATHS;
const G = GROUP_DEFAULTS.groupSize;
const NEW_TOKENS = PPO_DEFAULTS.maxNewTokens;

function trl(title: string, method: string, flags: Record<string, string | number>): EngineCommand {
  return { engine: "trl", title, lines: [`trl ${method}`, ...Object.entries(flags).map(([k, v]) => `--${k} ${v}`)] };
}

function openrlhf(title: string, module: string, flags: Record<string, string | number | true>): EngineCommand {
  const launcher = module === "train_ppo_ray" ? `python3 -m openrlhf.cli.${module}` : `deepspeed --module openrlhf.cli.${module}`;
  return {
    engine: "openrlhf",
    title,
    lines: [launcher, ...Object.entries(flags).map(([k, v]) => (v === true ? `--${k}` : `--${k} ${v}`))],
  };
}

function verl(title: string, keys: Record<string, string | number | boolean>): EngineCommand {
  return {
    engine: "verl",
    title,
    lines: [
      "python3 -m verl.trainer.main_ppo",
      ...Object.entries(keys).map(([k, v]) => `${k}=${v === true ? "True" : v === false ? "False" : v}`),
    ],
  };
}

/**
 * The commands for `engines`, in the README's order. `positions` is the model's context (`n_positions`):
 * request and answer together must fit in it, as in this project's runs.
 *
 * @example
 * ```ts
 * import { engineCommands } from "./engine_commands.ts";
 * engineCommands(["verl"], { positions: 128 })[0].lines[0]; // "python3 -m verl.trainer.main_ppo"
 * ```
 */
export function engineCommands(engines: readonly Engine[], options: { positions: number }): EngineCommand[] {
  const maxPrompt = options.positions - NEW_TOKENS;
  if (maxPrompt < 1) {
    throw new Error(`engineCommands: a context of ${options.positions} positions leaves no room beside ${NEW_TOKENS} new tokens`);
  }
  const out: EngineCommand[] = [];
  if (engines.includes("trl")) {
    const common = { model_name_or_path: P.sft, per_device_train_batch_size: 16, num_train_epochs: 1 };
    out.push(
      trl("DPO on the rank lists (no reward model, no sampling)", "dpo", {
        ...common,
        dataset_name: P.prefsConversational,
        beta: DPO_DEFAULTS.beta,
        learning_rate: DPO_DEFAULTS.lr,
        output_dir: "out/trl-dpo",
      }),
      trl("A reward model from the SFT model (the chapter's step 2)", "reward", {
        ...common,
        dataset_name: P.prefsConversational,
        learning_rate: 3e-4,
        output_dir: "out/trl-rm",
      }),
      trl("GRPO against the exported reward model", "grpo", {
        ...common,
        dataset_name: P.trlPrompts,
        reward_model_name_or_path: P.rm,
        num_generations: G,
        max_completion_length: NEW_TOKENS,
        beta: GROUP_BETA.grpo,
        learning_rate: PPO_DEFAULTS.lr,
        output_dir: "out/trl-grpo",
      }),
      trl('RLOO against the gold scorer (the book\'s "classifier as reward")', "rloo", {
        ...common,
        dataset_name: P.trlPrompts,
        reward_funcs: "gold_scorer.trl_reward",
        num_generations: G,
        max_completion_length: NEW_TOKENS,
        beta: GROUP_BETA.rloo,
        learning_rate: PPO_DEFAULTS.lr,
        output_dir: "out/trl-rloo",
      }),
    );
  }
  if (engines.includes("openrlhf")) {
    const gpus = { "actor.num_gpus_per_node": 1, "ref.num_gpus_per_node": 1, "vllm.num_engines": 1 };
    const prompts = {
      "data.prompt_dataset": `${P.openrlhfPrompts}/train.jsonl`,
      "data.input_key": "input",
      "data.apply_chat_template": true as const,
      "data.max_len": options.positions,
      "rollout.max_new_tokens": NEW_TOKENS,
      "rollout.batch_size": PPO_DEFAULTS.batchSize,
      "train.batch_size": PPO_DEFAULTS.batchSize,
      "ckpt.output_dir": "out/openrlhf-ppo",
      "ckpt.save_hf": true as const,
    };
    out.push(
      openrlhf("A reward model from the SFT model", "train_rm", {
        "model.model_name_or_path": P.sft,
        "data.dataset": `${P.prefsConversational}/train.jsonl`,
        "data.apply_chat_template": true,
        "data.prompt_key": "prompt",
        "data.chosen_key": "chosen",
        "data.rejected_key": "rejected",
        "data.max_len": options.positions,
        "train.batch_size": 64,
        "train.micro_batch_size": 16,
        "train.max_epochs": 2,
        "adam.lr": 3e-4,
        "ckpt.output_dir": "out/openrlhf-rm",
        "ckpt.save_hf": true,
      }),
      openrlhf("PPO with a critic against the exported reward model (its mean/std in config.json)", "train_ppo_ray", {
        "actor.model_name_or_path": P.sft,
        "critic.model_name_or_path": P.rm,
        "reward.model_name_or_path": P.rm,
        "reward.normalize_enable": true,
        ...gpus,
        "critic.num_gpus_per_node": 1,
        "reward.num_gpus_per_node": 1,
        ...prompts,
        "algo.kl.init_coef": PPO_DEFAULTS.initKlCoef,
      }),
      openrlhf("GRPO (group_norm) against the gold scorer", "train_ppo_ray", {
        "actor.model_name_or_path": P.sft,
        "reward.remote_url": P.goldScorer,
        "data.label_key": "label",
        ...gpus,
        ...prompts,
        "rollout.n_samples_per_prompt": G,
        "algo.advantage.estimator": "group_norm",
        "algo.kl.init_coef": GROUP_BETA.grpo,
        "ckpt.output_dir": "out/openrlhf-grpo",
      }),
    );
  }
  if (engines.includes("verl")) {
    const common = {
      "data.train_files": `$PWD/${P.verlPrompts}/train.parquet`,
      "data.val_files": `$PWD/${P.verlPrompts}/test.parquet`,
      "data.max_prompt_length": maxPrompt,
      "data.max_response_length": NEW_TOKENS,
      "data.train_batch_size": PPO_DEFAULTS.batchSize,
      "actor_rollout_ref.model.path": `$PWD/${P.sft}`,
      "actor_rollout_ref.actor.optim.lr": PPO_DEFAULTS.lr,
      "actor_rollout_ref.actor.ppo_mini_batch_size": PPO_DEFAULTS.miniBatchSize,
      "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": PPO_DEFAULTS.miniBatchSize,
      "actor_rollout_ref.rollout.name": "vllm",
      "actor_rollout_ref.rollout.tensor_model_parallel_size": 1,
      "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": 64,
      "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu": 64,
      "trainer.n_gpus_per_node": 1,
      "trainer.nnodes": 1,
      "trainer.total_epochs": 1,
      "trainer.logger": "console",
    };
    out.push(
      verl("PPO with a critic against the exported reward model (token-classification head)", {
        "algorithm.adv_estimator": "gae",
        ...common,
        "critic.model.path": `$PWD/${P.sft}`,
        "critic.ppo_micro_batch_size_per_gpu": PPO_DEFAULTS.miniBatchSize,
        "reward_model.enable": true,
        "reward_model.model.path": `$PWD/${P.rmToken}`,
        "reward_model.micro_batch_size_per_gpu": 64,
        "algorithm.use_kl_in_reward": true,
        "algorithm.kl_ctrl.kl_coef": PPO_DEFAULTS.initKlCoef,
      }),
      verl("GRPO against the gold scorer", {
        "algorithm.adv_estimator": "grpo",
        ...common,
        "actor_rollout_ref.rollout.n": G,
        "actor_rollout_ref.actor.use_kl_loss": true,
        "actor_rollout_ref.actor.kl_loss_coef": GROUP_BETA.grpo,
        "custom_reward_function.path": `$PWD/${P.goldScorer}`,
        "custom_reward_function.name": "compute_score",
      }),
    );
  }
  return out;
}

/**
 * The flags or keys of a command.
 *
 * @example
 * ```ts
 * import { commandFlags, engineCommands } from "./engine_commands.ts";
 * commandFlags(engineCommands(["trl"], { positions: 128 })[0]).includes("--beta"); // true
 * ```
 */
export function commandFlags(command: EngineCommand): string[] {
  return command.lines.slice(1).map((l) => (command.engine === "verl" ? l.split("=")[0] : l.split(" ")[0]));
}

/**
 * Any GPT-2 policy directory, this project's or one an engine trained from
 * an export bundle, on the held-out view every method is read on: the same
 * held-out requests, the same sampling and seed, its gold score, its gain
 * over SFT request by request (± SE), the reward model's score and the KL to
 * the SFT model. `deno task evaluate` prints one row per policy beside SFT.
 *
 * A directory written by an engine's `save_pretrained` loads as ours do
 * (model.safetensors, sharded or not, float32 or bfloat16; the tied
 * `lm_head.weight` is skipped). It is read with the SFT model's tokenizer: its
 * own tokenizer files, when it has ours (vocab.txt), must be the same
 * vocabulary, and its vocabulary size must be the SFT model's.
 */
import { basename, dirname } from "../platform/path.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import { disposeGPT2 } from "../gpt2/init.ts";
import { loadPretrained } from "../pretrained.ts";
import { evaluatePolicy, type PolicyEvaluation } from "../eval/policy_eval.ts";
import { inRounds, meanPerRequest, type PairedDifference, pairedDifference } from "../eval/paired_difference.ts";
import { PPO_DEFAULTS } from "../ppo/ppo_config.ts";
import type { RewardModel } from "../reward/reward_model.ts";
import type { Task } from "../tasks/types.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { SEEDS } from "./seeds.ts";

/** How the held-out view is taken. */
export interface PolicyRowsConfig {
  /** Held-out requests, from the first of the task's. @default 256 */
  readonly requests: number;
  /** Answers per request (asked in rounds). @default 2 */
  readonly answers: number;
}

/**
 * The held-out view of `deno task evaluate`: the frontier's size (256 requests × 2 answers).
 *
 * @example
 * ```ts
 * import { POLICY_ROWS_DEFAULTS } from "rlhf";
 * POLICY_ROWS_DEFAULTS.requests * POLICY_ROWS_DEFAULTS.answers; // 512 answers per policy
 * ```
 */
export const POLICY_ROWS_DEFAULTS: Readonly<PolicyRowsConfig> = Object.freeze({ requests: 256, answers: 2 });

/** One policy on the held-out view. */
export interface PolicyRow {
  /** A name for the row: the directory's name, or "SFT". */
  readonly name: string;
  readonly dir: string;
  readonly gold: number;
  readonly goldSe: number;
  /** Gold, request by request: this policy − SFT. */
  readonly gainOverSft: PairedDifference;
  readonly rm: number;
  readonly kl: number;
  /** Means of the gold score's parts. */
  readonly parts: Readonly<Record<string, number>>;
  /** The answer to the first request. */
  readonly sample: string;
}

/** What every row is measured against. */
export interface EvaluationBase {
  readonly task: Task;
  /** The SFT model: the reference of the KL and the baseline of the gain. */
  readonly sft: GPT2Model;
  readonly tokenizer: Tokenizer;
  readonly rm: RewardModel;
}

/**
 * Loads a policy directory for evaluation against `base`, refusing one of another vocabulary.
 *
 * @example
 * ```ts
 * import { loadPolicyFor, loadPretrained, loadRewardModel, loadTask } from "rlhf";
 * const sft = await loadPretrained("checkpoints/sft"); // written by deno task rlhf
 * const base = { task: await loadTask(), sft, tokenizer: sft.tokenizer!, rm: await loadRewardModel("checkpoints/rm") };
 * const policy = await loadPolicyFor("bundle/out/trl-grpo", base); // a policy TRL trained from the export bundle
 * ```
 */
export async function loadPolicyFor(dir: string, base: EvaluationBase): Promise<GPT2Model> {
  const policy = await loadPretrained(dir);
  const want = base.sft.config.vocab_size;
  const own = policy.tokenizer;
  if (policy.config.vocab_size !== want || (own && own.vocabSize !== base.tokenizer.vocabSize)) {
    disposeGPT2(policy);
    throw new Error(`${dir}: vocabulary of ${policy.config.vocab_size} ids, but the SFT model's has ${want}; it was not trained from it`);
  }
  if (own && [...Array(own.vocabSize).keys()].some((id) => own.decode([id]) !== base.tokenizer.decode([id]))) {
    disposeGPT2(policy);
    throw new Error(`${dir}/vocab.txt: another vocabulary than the SFT model's (same size, other tokens)`);
  }
  return policy;
}

/** The held-out view of one policy (the SFT model included). */
function view(lm: GPT2Model, base: EvaluationBase, config: PolicyRowsConfig): Promise<PolicyEvaluation> {
  const prompts = inRounds(base.task.prompts("heldout", 0).slice(0, config.requests), config.answers);
  return evaluatePolicy(lm, base.sft, base.rm, base.tokenizer, base.task, prompts, {
    sampling: PPO_DEFAULTS.sampling,
    maxNewTokens: PPO_DEFAULTS.maxNewTokens,
    seed: SEEDS.heldoutView,
  });
}

/**
 * Each directory's name, with its parent's where two share one (checkpoints/ppo beside bundle/models/ppo).
 *
 * @example
 * ```ts
 * import { policyRowNames } from "rlhf";
 * policyRowNames(["checkpoints/ppo", "bundle/models/ppo", "out/grpo"]); // ["checkpoints/ppo", "models/ppo", "grpo"]
 * ```
 */
export function policyRowNames(dirs: readonly string[]): string[] {
  const short = dirs.map((d) => basename(d.replace(/\/+$/, "")));
  return short.map((name, i) =>
    short.indexOf(name) === short.lastIndexOf(name) ? name : `${basename(dirname(dirs[i].replace(/\/+$/, "")))}/${name}`
  );
}

function row(name: string, dir: string, e: PolicyEvaluation, sft: PolicyEvaluation, requests: number): PolicyRow {
  const perRequest = (v: PolicyEvaluation) => meanPerRequest(v.samples.map((s) => s.gold), requests);
  return {
    name,
    dir,
    gold: e.gold,
    goldSe: e.goldSe,
    gainOverSft: pairedDifference(perRequest(sft), perRequest(e)),
    rm: e.rm,
    kl: e.kl,
    parts: e.parts,
    sample: e.samples[0]?.response ?? "",
  };
}

/**
 * SFT's row, then one row per policy directory, all on the same held-out view.
 *
 * @example
 * ```ts
 * import { loadPretrained, loadRewardModel, loadTask, policyRows } from "rlhf";
 * const sft = await loadPretrained("checkpoints/sft"); // written by deno task rlhf
 * const base = { task: await loadTask(), sft, tokenizer: sft.tokenizer!, rm: await loadRewardModel("checkpoints/rm") };
 * const rows = await policyRows(base, ["checkpoints/ppo"], { requests: 16, answers: 1 });
 * rows[1].gainOverSft; // PPO's gold − SFT's, request by request, ± SE
 * ```
 */
export async function policyRows(
  base: EvaluationBase,
  dirs: readonly string[],
  overrides: Partial<PolicyRowsConfig> = {},
): Promise<PolicyRow[]> {
  const config = { ...POLICY_ROWS_DEFAULTS, ...overrides };
  for (const [key, value] of Object.entries(config)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`policyRows: ${key} must be a positive integer, got ${value}`);
  }
  const requests = Math.min(config.requests, base.task.prompts("heldout", 0).length);
  if (requests < 2) throw new Error("policyRows: need at least 2 held-out requests for a paired standard error");
  const sized = { ...config, requests };
  const sftView = await view(base.sft, base, sized);
  const rows = [row("SFT", "", sftView, sftView, requests)];
  const names = policyRowNames(dirs);
  for (const [i, dir] of dirs.entries()) {
    const policy = await loadPolicyFor(dir, base);
    try {
      rows.push(row(names[i], dir, await view(policy, base, sized), sftView, requests));
    } finally {
      disposeGPT2(policy);
    }
  }
  return rows;
}

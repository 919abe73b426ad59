/**
 * `deno task export`: a run's SFT policy (and PPO policy), reward model,
 * rank lists, requests and gold scorer as one directory that TRL, OpenRLHF
 * and verl take as it is (see the README it writes). The directory is built
 * beside the target and renamed into place: a failure leaves no half bundle.
 */
import { basename, dirname, join } from "../platform/path.ts";
import { loadPretrained } from "../pretrained.ts";
import { countParams, disposeGPT2 } from "../gpt2/init.ts";
import { loadRewardModel } from "../reward/reward_checkpoint.ts";
import { disposeRewardModel } from "../reward/reward_model.ts";
import type { RankRecord } from "../reward/labels.ts";
import type { Task } from "../tasks/types.ts";
import type { ValenceList } from "../tasks/poetry_zh/mood.ts";
import type { PoetryPreference } from "../tasks/poetry_zh/task.ts";
import { chatTemplateFor } from "../tokenizer/chat_template.ts";
import { loadTokenizer } from "../tokenizer/io.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { pathExists } from "../fs.ts";
import { exportPolicy, exportRewardModel } from "./hf_models.ts";
import { openRlhfPromptJsonl, preferenceJsonl, trlPromptJsonl, verlRows } from "./engine_data.ts";
import { verlParquet } from "./verl_parquet.ts";
import { goldScorerPython } from "./gold_scorer_py.ts";
import { bundleReadme } from "./bundle_readme.ts";
import { BUNDLE_PATHS, type Engine } from "./engine_commands.ts";
import { platform } from "../platform/platform.ts";

/** What goes into a bundle. */
export interface ExportBundleOptions {
  readonly engines: readonly Engine[];
  /** The SFT checkpoint (policy, and the tokenizer of everything). */
  readonly sftDir: string;
  /** The reward model checkpoint. */
  readonly rmDir: string;
  /** The PPO checkpoint, when there is one. */
  readonly ppoDir?: string;
  /** The rank lists (all label files the reward model was fitted on). */
  readonly lists: readonly RankRecord[];
  readonly task: Task;
  /** The gold scorer's preference and its data (poetry-zh). */
  readonly scorer: { readonly preference: PoetryPreference; readonly valence?: ValenceList };
}

/** What was written, as manifest.json records it. */
export interface BundleManifest {
  readonly engines: readonly Engine[];
  readonly task: string;
  readonly sources: Readonly<Record<string, string>>;
  /** Preference pairs for training (the rank lists of held-out requests go to the `test` files). */
  readonly pairs: number;
  readonly trainPrompts: number;
  readonly heldoutPrompts: number;
  /** Add to the sequence-classification reward model's output to get the project's normalised reward. */
  readonly rewardOffset: number;
  readonly files: readonly string[];
}

/** Every file under `dir`, relative to it, sorted. */
async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of platform().readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) out.push(...await listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

async function write(root: string, path: string, content: string | Uint8Array): Promise<void> {
  await platform().mkdir(dirname(join(root, path)), { recursive: true });
  if (typeof content === "string") await platform().writeTextFile(join(root, path), content);
  else await platform().writeFile(join(root, path), content);
}

/** Writes the models of the bundle into `root`; returns the parameters and the reward offset. */
async function writeModels(
  root: string,
  o: ExportBundleOptions,
  tokenizer: Tokenizer,
): Promise<{ parameters: number; positions: number; rewardOffset: number }> {
  const P = BUNDLE_PATHS;
  const sft = await loadPretrained(o.sftDir);
  let rewardOffset = 0;
  try {
    await exportPolicy(sft, tokenizer, join(root, P.sft));
    if (o.ppoDir) {
      const ppo = await loadPretrained(o.ppoDir);
      try {
        await exportPolicy(ppo, tokenizer, join(root, P.ppo));
      } finally {
        disposeGPT2(ppo);
      }
    }
    const rm = await loadRewardModel(o.rmDir);
    try {
      if (o.engines.includes("trl") || o.engines.includes("openrlhf")) {
        rewardOffset = (await exportRewardModel(rm, tokenizer, join(root, P.rm), "sequence-classification")).offset;
      }
      if (o.engines.includes("verl")) await exportRewardModel(rm, tokenizer, join(root, P.rmToken), "token-classification");
    } finally {
      disposeRewardModel(rm);
    }
    return { parameters: countParams(sft), positions: sft.config.n_positions, rewardOffset };
  } finally {
    disposeGPT2(sft);
  }
}

/**
 * Writes the bundle to `out` (which must not exist yet) and returns its manifest.
 *
 * @example
 * ```ts
 * import { exportBundle, loadLabels, loadTask, loadValenceList } from "rlhf";
 * const manifest = await exportBundle(`${await Deno.makeTempDir()}/bundle`, {
 *   engines: ["trl", "openrlhf", "verl"],
 *   sftDir: "checkpoints/sft", rmDir: "checkpoints/rm", ppoDir: "checkpoints/ppo",
 *   lists: await loadLabels("data/labels/poetry-zh-simulated.jsonl"),
 *   task: await loadTask("poetry-zh"),
 *   scorer: { preference: "mood", valence: await loadValenceList() },
 * });
 * manifest.files.includes("data/prompts/verl/train.parquet"); // true
 * ```
 */
export async function exportBundle(out: string, o: ExportBundleOptions): Promise<BundleManifest> {
  if (await pathExists(out)) throw new Error(`${out}: exists already; the bundle goes to a new directory`);
  const P = BUNDLE_PATHS;
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${platform().pid}`);
  await platform().remove(tmp, { recursive: true }).catch(() => {});
  try {
    const tokenizer = await loadTokenizer(o.sftDir);
    if (!tokenizer) throw new Error(`${o.sftDir}: no tokenizer files (vocab.txt)`);
    if (tokenizer.kind !== "char-vocab") {
      throw new Error(`${o.sftDir}: a ${tokenizer.kind} tokenizer; only character vocabularies (vocab.txt) are exported`);
    }
    const { parameters, positions, rewardOffset } = await writeModels(tmp, o, tokenizer);
    const template = chatTemplateFor(tokenizer);
    const train = o.task.prompts("train", 0);
    const heldout = o.task.prompts("heldout", 0); // the requests the project's final evaluation takes its prefix from
    let pairs = 0;
    if (o.engines.includes("trl") || o.engines.includes("openrlhf")) {
      // Rank lists of held-out requests (the reward model's held-out accuracy) go to `test`, never to `train`.
      const heldoutIds = new Set(heldout.map((p) => p.id));
      for (const split of ["train", "test"] as const) {
        const prefs = preferenceJsonl(o.lists.filter((l) => heldoutIds.has(l.prompt_id) === (split === "test")), tokenizer);
        if (split === "train") pairs = prefs.pairs;
        await write(tmp, `${P.prefsPlain}/${split}.jsonl`, prefs.plain);
        await write(tmp, `${P.prefsConversational}/${split}.jsonl`, prefs.conversational);
      }
    }
    for (const [split, prompts] of [["train", train], ["test", heldout]] as const) {
      if (o.engines.includes("trl")) {
        const trl = trlPromptJsonl(prompts, template);
        await write(tmp, `${P.trlPrompts}/${split}.jsonl`, trl.conversational);
        await write(tmp, `${P.trlPromptsPlain}/${split}.jsonl`, trl.plain);
      }
      if (o.engines.includes("openrlhf")) await write(tmp, `${P.openrlhfPrompts}/${split}.jsonl`, openRlhfPromptJsonl(prompts));
      if (o.engines.includes("verl")) {
        await write(tmp, `${P.verlPrompts}/${split}.parquet`, verlParquet(verlRows(prompts, o.task.name, split)));
      }
    }
    await write(tmp, P.goldScorer, await goldScorerPython({ ...o.scorer, template }));
    await write(
      tmp,
      "README.md",
      bundleReadme({
        engines: o.engines,
        task: o.task.name,
        preference: o.task.preference?.description ?? o.scorer.preference,
        parameters,
        positions,
        hasPpo: o.ppoDir !== undefined,
        pairs,
        trainPrompts: train.length,
        heldoutPrompts: heldout.length,
      }),
    );
    const manifest: BundleManifest = {
      engines: o.engines,
      task: o.task.name,
      sources: { sft: o.sftDir, rm: o.rmDir, ...(o.ppoDir ? { ppo: o.ppoDir } : {}) },
      pairs,
      trainPrompts: train.length,
      heldoutPrompts: heldout.length,
      rewardOffset,
      files: [...await listFiles(tmp), "manifest.json"].sort(),
    };
    await write(tmp, "manifest.json", JSON.stringify(manifest, null, 2) + "\n");
    await platform().rename(tmp, out);
    return manifest;
  } catch (err) {
    await platform().remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
}

/**
 * Step 2 of RLHF: human rankings and the reward model. The SFT model answers
 * each prompt K times, a labeler ranks the answers (simulated here: the gold
 * scorer plus Bradley–Terry noise; a person through the labelling page or a
 * notebook cell writes the same files), and a reward model fitted on the
 * rankings learns to score answers the way the labeler ranks them.
 */
import { SEEDS } from "./seeds.ts";
import { checkpointFingerprint, sameWeights } from "../checkpoint/fingerprint.ts";
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { Task } from "../tasks/types.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { collectRankings } from "../reward/collect.ts";
import { appendLabels, loadLabels, rankListsFingerprint, type RankRecord, ranksOf, uniqueRankLists } from "../reward/labels.ts";
import { DEFAULT_LABELER_TEMPERATURE, SimulatedLabeler } from "../reward/simulated_labeler.ts";
import { createRewardModel, disposeRewardModel, fitNormalisation, normalisedReward, type RewardModel } from "../reward/reward_model.ts";
import { loadRewardModel, rewardModelFiles } from "../reward/reward_checkpoint.ts";
import { RunDirectory } from "../run/run_directory.ts";
import { pathExists, repoPath } from "../fs.ts";
import {
  evaluateRewardModel,
  REWARD_TRAIN_DEFAULTS,
  type RewardHistory,
  scoreRankLists,
  trainRewardModel,
} from "../reward/train_reward.ts";
import { spearman } from "../eval/spearman.ts";
import { agreementByPart, type PartAgreement } from "../eval/agreement_by_part.ts";
import { editProbe, type EditProbeRow } from "../eval/edit_probe.ts";
import { rewardModelScores } from "../eval/policy_eval.ts";
import { rankingAccuracy, rankPairs } from "../reward/ranking_loss.ts";
import { loadLabelFiles } from "../reward/label_files.ts";
import { type ClassAgreement, classAgreement, listsRankedByAll } from "../labeling/class_agreement.ts";
import { simulatedLabelerVsPeople } from "../labeling/labeler_vs_people.ts";
import type { MajorityAgreement } from "../labeling/agreement.ts";

export interface RewardStageOptions {
  /**
   * Training prompts to rank (held-in). @default 2400
   */
  readonly trainPrompts: number;
  /** Held-out prompts whose rank lists only evaluate (200: the accuracy's standard error is ~0.02). @default 200 */
  readonly heldoutPrompts: number;
  /** Responses per prompt. @default 4 */
  readonly k: number;
  /** Noise of the simulated labeler (0 = exact; 0.02 flips a 0.05 score gap one time in 13). @default 0.02 */
  readonly labelerTemperature: number;
  readonly seed: number;
  /** Where the rank lists are appended. @default "data/labels/<task>-simulated.jsonl" */
  readonly labelsPath?: string;
  /**
   * Label files of people (e.g. data/labels/poetry-zh-human.jsonl, written by `deno task label` or notebook 02),
   * or directories of them: every rank list in them joins the training lists (with `trainPrompts: 0`, they are
   * the only ones), merged by the rule of lib/reward/label_files.ts.
   * @default []
   */
  readonly humanLabels?: readonly string[];
  /** @default "checkpoints/rm" */
  readonly checkpointDir: string;
  /** Reward-model training (epochs, lr, …). */
  readonly train: { epochs?: number; lr?: number; listsPerStep?: number };
  readonly quiet?: boolean;
}

/**
 * What the reward-model stage runs by default.
 *
 * @example
 * ```ts
 * import { REWARD_STAGE_DEFAULTS } from "rlhf";
 * const { trainPrompts, k } = REWARD_STAGE_DEFAULTS; // 2400 requests, 4 answers each to rank
 * ```
 */
export const REWARD_STAGE_DEFAULTS: Readonly<RewardStageOptions> = Object.freeze({
  trainPrompts: 2400,
  heldoutPrompts: 200,
  k: 4,
  labelerTemperature: DEFAULT_LABELER_TEMPERATURE,
  seed: 0,
  checkpointDir: "checkpoints/rm",
  train: {},
});

/**
 * The sizes of `deno task rlhf --quick` (and of the notebooks' quick run): a first try in seconds.
 *
 * @example
 * ```ts
 * import { REWARD_STAGE_QUICK } from "rlhf";
 * REWARD_STAGE_QUICK.trainPrompts; // 16 instead of 2400
 * ```
 */
export const REWARD_STAGE_QUICK: Readonly<Partial<RewardStageOptions>> = Object.freeze({ trainPrompts: 16, heldoutPrompts: 8 });

export interface RewardStageResult {
  readonly rm: RewardModel;
  /** Wall time spent fitting the reward model, over every session that fitted it (sampling and labelling not counted). */
  readonly trainingSeconds: number;
  /** The reward model was fitted already: this session loaded it. */
  readonly reused: boolean;
  readonly history: RewardHistory;
  readonly trainLists: number;
  /** The training rank lists themselves (DPO trains on the same ones). */
  readonly lists: readonly RankRecord[];
  /** Training rank lists per labeler (the simulated one and each person). */
  readonly listsByLabeler: Readonly<Record<string, number>>;
  /** With people's label files of at least two labelers: how far they agree (the ceiling of a reward model's accuracy). */
  readonly labelerAgreement?: ClassAgreement;
  /** With class sessions' label files (`deno task label --classroom`): the simulated labeler's agreement with each person on their answers. */
  readonly simulatedVsPeople?: readonly MajorityAgreement[];
  readonly heldoutLists: number;
  /** On the held-out lists' strict pairs (tied pairs left out). */
  readonly heldoutAccuracy: { pairwise: number; exactOrder: number };
  /** Fraction of held-out pairs the labeler marked as tied. */
  readonly heldoutTiedPairs: number;
  /** Held-out pairs the gold score tells apart, by the gold part that differs: how often the RM agrees. */
  readonly agreementByPart: PartAgreement[];
  /**
   * The best answer of each held-out list made worse in one known way (the task's answerEdits, e.g. a
   * couplet dropped or repeated): how often the RM, like the gold score, prefers the original. Empty
   * for a task without edits.
   */
  readonly editProbe: EditProbeRow[];
  readonly accuracyBefore: { pairwise: number; exactOrder: number };
  /** Spearman correlation of RM score with gold score over the held-out responses. */
  readonly spearmanWithGold: number;
  /**
   * The same accuracy for the gold scorer itself on the held-out labels: the
   * ceiling the labels allow (label noise). Pairs the labeler marked as tied
   * are left out here as for the reward model.
   */
  readonly goldAccuracy: { pairwise: number; exactOrder: number };
  /** Normalised RM scores of each held-out list, best-ranked first (chosen vs rejected distributions). */
  readonly heldoutScores: number[][];
}

/**
 * Samples K answers to the task's requests from the SFT model, has them ranked, trains the reward model on the
 * rankings and measures it on held-out ones (the rank lists are appended to `labelsPath`).
 *
 * @example
 * ```ts
 * import { initBackend, loadPretrained, loadTask, REWARD_STAGE_QUICK, runRewardStage } from "rlhf";
 * await initBackend(); // the fast kernels: a stage on the pure-JavaScript backend is many times slower
 * const sftDir = "checkpoints/sft"; // written by deno task rlhf
 * const sft = await loadPretrained(sftDir);
 * const task = await loadTask();
 * const dir = await Deno.makeTempDir();
 * const result = await runRewardStage(sft, sft.tokenizer!, task, sftDir, {
 *   ...REWARD_STAGE_QUICK,
 *   labelsPath: `${dir}/labels.jsonl`,
 *   checkpointDir: `${dir}/rm`,
 * });
 * result.heldoutAccuracy.pairwise; // how often the reward model orders held-out pairs as the labeler did
 * ```
 */
export async function runRewardStage(
  sft: GPT2Model,
  tokenizer: Tokenizer,
  task: Task,
  sftCheckpoint: string,
  overrides: Partial<RewardStageOptions> = {},
): Promise<RewardStageResult> {
  const o = { ...REWARD_STAGE_DEFAULTS, ...overrides };
  const labelsPath = o.labelsPath ?? repoPath(`data/labels/${task.name}-simulated.jsonl`); // the same file from notebooks/
  const labeler = new SimulatedLabeler({
    temperature: o.labelerTemperature,
    seed: o.seed,
    preference: task.preference && [task.preference.name, task.preference.version].filter(Boolean).join("@"),
  });
  // The sampling model as directory@weights-hash: labels of another model saved at the same path are not reused.
  const sampledBy = await checkpointFingerprint(sftCheckpoint);
  const collect = async (prompts: ReturnType<Task["prompts"]>, seed: number): Promise<RankRecord[]> => {
    // Reuse what this labeler already ranked for this checkpoint (a resumed run does not re-label).
    const existing = (await loadLabels(labelsPath)).filter((r) => r.labeler === labeler.name && sameWeights(r.checkpoint, sampledBy));
    const asked = new Map(prompts.map((p) => [p.id, JSON.stringify(p.messages)]));
    const done = new Map(existing.filter((r) => asked.get(r.prompt_id) === JSON.stringify(r.prompt)).map((r) => [r.prompt_id, r]));
    const todo = prompts.filter((p) => !done.has(p.id));
    const fresh = await collectRankings(sft, tokenizer, task, todo, labeler, { k: o.k, checkpoint: sampledBy, seed, quiet: o.quiet });
    await appendLabels(labelsPath, fresh);
    const byId = new Map([...done, ...fresh.map((r) => [r.prompt_id, r] as const)]);
    return prompts.map((p) => byId.get(p.id)).filter((r): r is RankRecord => r !== undefined);
  };
  const simulatedLists = await collect(task.prompts("train", o.seed).slice(0, o.trainPrompts), o.seed + SEEDS.trainRankAnswers);
  for (const path of o.humanLabels ?? []) if (!(await pathExists(path))) throw new Error(`${path}: label file not found`);
  const people = o.humanLabels?.length ? await loadLabelFiles(o.humanLabels) : { files: [], lists: [] };
  const humanLists = people.lists;
  const humanLabelers = new Set(humanLists.map((l) => l.labeler));
  const simulatedVsPeople = people.files.length ? await simulatedLabelerVsPeople(people.files, humanLists, labeler) : [];
  // A list given twice (the same file named twice, or copied into a second one) counts once.
  const trainLists = uniqueRankLists([...simulatedLists, ...humanLists]);
  if (trainLists.length === 0) throw new Error("reward model: no training rank lists (trainPrompts is 0 and no human label file has any)");
  const listsByLabeler: Record<string, number> = {};
  for (const l of trainLists) listsByLabeler[l.labeler] = (listsByLabeler[l.labeler] ?? 0) + 1;
  const heldoutPrompts = task.prompts("heldout", o.seed).slice(0, o.heldoutPrompts);
  const heldoutLists = await collect(heldoutPrompts, o.seed + SEEDS.heldoutRankAnswers);
  const promptById = new Map(heldoutPrompts.map((p) => [p.id, p]));

  const untrained = createRewardModel(sft, { seed: o.seed });
  const accuracyBefore = await evaluateRewardModel(untrained, tokenizer, heldoutLists);
  // A reward model already fitted on the same SFT model, lists and settings is loaded, not trained again.
  const train = { ...REWARD_TRAIN_DEFAULTS, ...o.train, seed: o.seed };
  const run = new RunDirectory(o.checkpointDir, "rm", { sampled_by: sampledBy, lists: rankListsFingerprint(trainLists), ...train });
  const saved = await run.open<{ history: RewardHistory }>();
  let rm: RewardModel, history: RewardHistory;
  let fitted: { trainingSeconds: number; reused: boolean };
  let heldoutScores: number[][] | undefined; // raw
  try {
    if (saved?.finished) {
      disposeRewardModel(untrained);
      rm = await loadRewardModel(o.checkpointDir);
      history = saved.progress.history;
      if (!o.quiet) console.log(`reward model: loaded ${o.checkpointDir} (already fitted on these ${trainLists.length} lists)`);
    } else {
      rm = untrained;
      history = await trainRewardModel(rm, tokenizer, trainLists, { ...train, quiet: o.quiet }); // the settings of its identity
      // Normalise on SFT samples: the held-out lists' answers, which the stage scores anyway (the training
      // lists' answers, ten times as many, took 16 s more to score for the same two numbers).
      heldoutScores = await scoreRankLists(rm, tokenizer, heldoutLists);
      fitNormalisation(rm, (heldoutLists.length ? heldoutScores : await scoreRankLists(rm, tokenizer, trainLists)).flat());
      const labels = { files: [labelsPath, ...(o.humanLabels ?? [])], listsByLabeler };
      await run.save({ model: rm.backbone, tokenizer, files: await rewardModelFiles(rm, labels) }, { history }, { finished: true });
    }
    fitted = { trainingSeconds: run.trainingSeconds, reused: run.reused };
  } finally {
    run.close();
  }
  heldoutScores ??= await scoreRankLists(rm, tokenizer, heldoutLists);
  const heldoutRanks = heldoutLists.map((l) => l.ranks);
  const heldoutAccuracy = rankingAccuracy(heldoutScores, heldoutRanks); // normalisation is monotone: same ranking
  const goldScores = heldoutLists.map((l) => l.responses.map((r) => task.score(promptById.get(l.prompt_id)!, r)));
  const goldByList = goldScores.map((row) => row.map((g) => g.total));
  const spearmanWithGold = spearman(heldoutScores.flat(), goldByList.flat());
  const goldAccuracy = rankingAccuracy(goldByList, heldoutRanks);
  const bestAnswers = heldoutLists.map((l) => ({ prompt: promptById.get(l.prompt_id)!, response: l.responses[0] }));
  const probe = task.answerEdits
    ? await editProbe((pairs) => rewardModelScores(rm, tokenizer, pairs), task, bestAnswers, task.answerEdits)
    : [];
  return {
    rm,
    ...fitted,
    history,
    trainLists: trainLists.length,
    lists: trainLists,
    listsByLabeler,
    ...(humanLabelers.size >= 2 ? { labelerAgreement: peopleAgreement(humanLists) } : {}),
    ...(simulatedVsPeople.length ? { simulatedVsPeople } : {}),
    heldoutLists: heldoutLists.length,
    heldoutAccuracy,
    heldoutTiedPairs: tiedPairFraction(heldoutLists),
    agreementByPart: agreementByPart(heldoutScores, goldScores),
    editProbe: probe,
    accuracyBefore,
    spearmanWithGold,
    goldAccuracy,
    heldoutScores: heldoutScores.map((row) => row.map((r) => normalisedReward(rm, r))),
  };
}

function tiedPairFraction(lists: readonly RankRecord[]): number {
  let tied = 0;
  let total = 0;
  for (const list of lists) {
    const ranks = ranksOf(list);
    for (const [i, j] of rankPairs(ranks.length)) {
      total++;
      if (ranks[i] === ranks[j]) tied++;
    }
  }
  return total ? tied / total : 0;
}

/** The people's agreement; Kendall's W and α over the lists every one of them ranked (the overlap set), if there are any. */
function peopleAgreement(lists: readonly RankRecord[]): ClassAgreement {
  const shared = listsRankedByAll(lists);
  return classAgreement(lists, shared.size ? { overlap: shared } : {});
}

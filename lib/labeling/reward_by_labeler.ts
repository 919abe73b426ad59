/**
 * Whose preferences a reward model learns: one reward model per labeler (or
 * per group of labelers, e.g. a class session), each fitted on that
 * labeler's rank lists alone from the same SFT model, and how far two of them
 * disagree on the same answers — the share of answer pairs they order the
 * other way round, and the rank correlation of their scores.
 */
import type { GPT2Model } from "../gpt2/model_types.ts";
import type { RankRecord } from "../reward/labels.ts";
import { createRewardModel, disposeRewardModel, fitNormalisation, type RewardModel } from "../reward/reward_model.ts";
import { evaluateRewardModel, type RewardTrainConfig, scoreRankLists, trainRewardModel } from "../reward/train_reward.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { spearman } from "../eval/spearman.ts";

/** A reward model fitted on one group's rank lists. */
export interface GroupRewardModel {
  readonly group: string;
  readonly rm: RewardModel;
  /** How many rank lists it was fitted on. */
  readonly lists: number;
}

/** How lists are grouped (default: by labeler) and each group's reward model trained. */
export interface GroupOptions {
  /** The group of a list. @default its labeler */
  readonly by?: (list: RankRecord) => string;
  /** Reward-model training, over REWARD_TRAIN_DEFAULTS. */
  readonly train?: Partial<RewardTrainConfig>;
  /** @default 0 */
  readonly seed?: number;
}

/**
 * Fits one reward model per group of `lists` (`by`: the labeler, by default, or any key of a list), in group
 * name order, each from `sft` with the same seed and settings, and normalises each on the answers of its own
 * lists as the reward stage does (mean 0, standard deviation 1), so PPO can run against any of them. The
 * caller disposes them (`disposeRewardModel`).
 *
 * @example
 * ```ts
 * import { loadLabels, loadPretrained, rewardModelsBy } from "rlhf";
 * const sft = await loadPretrained("checkpoints/sft");
 * const lists = await loadLabels("data/labels/poetry-zh-class-7a.jsonl");
 * const models = await rewardModelsBy(sft, sft.tokenizer!, lists, { train: { epochs: 2 } });
 * models.map((m) => `${m.group}: ${m.lists} lists`); // one reward model per student
 * ```
 */
export async function rewardModelsBy(
  sft: GPT2Model,
  tokenizer: Tokenizer,
  lists: readonly RankRecord[],
  options: GroupOptions = {},
): Promise<GroupRewardModel[]> {
  const by = options.by ?? ((l: RankRecord) => l.labeler);
  const groups = new Map<string, RankRecord[]>();
  for (const l of lists) groups.set(by(l), [...(groups.get(by(l)) ?? []), l]);
  const out: GroupRewardModel[] = [];
  for (const group of [...groups.keys()].sort()) {
    const rm = createRewardModel(sft, { seed: options.seed ?? 0 });
    await trainRewardModel(rm, tokenizer, groups.get(group)!, { quiet: true, ...options.train, seed: options.seed ?? 0 });
    fitNormalisation(rm, (await scoreRankLists(rm, tokenizer, groups.get(group)!)).flat());
    out.push({ group, rm, lists: groups.get(group)!.length });
  }
  return out;
}

/** How two reward models differ on the same answers. */
export interface RewardDisagreement {
  /** Answer pairs (within a list) that both models score apart. */
  readonly pairs: number;
  /** The share of those pairs the two models order the other way round. */
  readonly disagreement: number;
  /** Spearman correlation of their scores over every answer. */
  readonly spearman: number;
}

/**
 * Scores the answers of `lists` with both reward models and compares them (see RewardDisagreement).
 *
 * @example
 * ```ts
 * import { loadLabels, loadPretrained, rewardDisagreement, rewardModelsBy } from "rlhf";
 * const sft = await loadPretrained("checkpoints/sft");
 * const lists = await loadLabels("data/labels/poetry-zh-class-7a.jsonl");
 * const [ann, bo] = await rewardModelsBy(sft, sft.tokenizer!, lists);
 * (await rewardDisagreement(ann.rm, bo.rm, sft.tokenizer!, lists)).disagreement; // share of answer pairs they order differently
 * ```
 */
export async function rewardDisagreement(
  a: RewardModel,
  b: RewardModel,
  tokenizer: Tokenizer,
  lists: readonly RankRecord[],
): Promise<RewardDisagreement> {
  const [sa, sb] = [await scoreRankLists(a, tokenizer, lists), await scoreRankLists(b, tokenizer, lists)];
  let [pairs, differ] = [0, 0];
  sa.forEach((row, l) => {
    for (let i = 0; i < row.length; i++) {
      for (let j = i + 1; j < row.length; j++) {
        const [da, db] = [Math.sign(row[i] - row[j]), Math.sign(sb[l][i] - sb[l][j])];
        if (da === 0 || db === 0) continue;
        pairs++;
        if (da !== db) differ++;
      }
    }
  });
  return { pairs, disagreement: pairs ? differ / pairs : NaN, spearman: spearman(sa.flat(), sb.flat()) };
}

/** One group's reward model measured on its own lists and on everyone else's (labelers it never saw). */
export interface GroupRewardRow {
  readonly group: string;
  readonly lists: number;
  /** Pairwise accuracy on the group's own (training) lists. */
  readonly own: number;
  /** Pairwise accuracy on the other groups' lists: held-out labelers, as InstructGPT measures it. */
  readonly others: number;
}

/**
 * Fits a reward model per group (`rewardModelsBy`) and measures each on its own lists and on the other groups'
 * lists; the models are disposed before it returns.
 *
 * @example
 * ```ts
 * import { loadLabels, loadPretrained, rewardModelRowsBy } from "rlhf";
 * const sft = await loadPretrained("checkpoints/sft");
 * const lists = await loadLabels("data/labels/poetry-zh-class-7a.jsonl");
 * const rows = await rewardModelRowsBy(sft, sft.tokenizer!, lists); // per student: accuracy on their lists and on the others'
 * ```
 */
export async function rewardModelRowsBy(
  sft: GPT2Model,
  tokenizer: Tokenizer,
  lists: readonly RankRecord[],
  options: GroupOptions = {},
): Promise<GroupRewardRow[]> {
  const by = options.by ?? ((l: RankRecord) => l.labeler);
  const models = await rewardModelsBy(sft, tokenizer, lists, options);
  try {
    const rows: GroupRewardRow[] = [];
    for (const m of models) {
      const own = lists.filter((l) => by(l) === m.group);
      const others = lists.filter((l) => by(l) !== m.group);
      rows.push({
        group: m.group,
        lists: m.lists,
        own: (await evaluateRewardModel(m.rm, tokenizer, own)).pairwise,
        others: others.length ? (await evaluateRewardModel(m.rm, tokenizer, others)).pairwise : NaN,
      });
    }
    return rows;
  } finally {
    for (const m of models) disposeRewardModel(m.rm);
  }
}

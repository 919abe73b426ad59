/**
 * Probing the reward model with edited answers: take answers, make each one
 * worse in one known way (drop the last couplet, repeat a couplet, …) and
 * ask whether the reward model, like the gold score, prefers the original.
 *
 * Held-out accuracy says how often the RM orders real samples right; this
 * says *what* it has and has not learned. A reward model that scores a
 * repeated couplet higher than the poem without it has learned "longer is
 * better", and PPO will find that out (reward over-optimisation).
 */
import type { AnswerEdit, Task, TaskPrompt } from "../tasks/types.ts";

export interface EditProbeRow {
  readonly edit: string;
  /** Answers where the edit applied and lowered the gold score. */
  readonly answers: number;
  /** Fraction of those where the reward model also scores the original higher. */
  readonly rmPrefersOriginal: number;
  /** Mean reward-model change (edited − original) and gold change over those answers. */
  readonly meanRmChange: number;
  readonly meanGoldChange: number;
}

/** Scores (prompt, response) pairs with the reward model (e.g. `rewardModelScores` bound to an RM). */
export type PairScorer = (pairs: { prompt: TaskPrompt; response: string }[]) => Promise<number[]>;

/**
 * For each edit: on how many answers it lowered the gold score, and how often the reward model agrees.
 *
 * @example
 * ```ts
 * import { editProbe, loadRewardModel, loadTask, loadTokenizer, rewardModelScores } from "rlhf";
 * const rm = await loadRewardModel("checkpoints/rm"); // written by deno task rlhf
 * const tokenizer = (await loadTokenizer("checkpoints/rm"))!;
 * const task = await loadTask();
 * const answers = task.sftExamples("heldout", 0).slice(0, 32).map((e) => ({ prompt: e.prompt, response: e.response }));
 * const rows = await editProbe((pairs) => rewardModelScores(rm, tokenizer, pairs), task, answers, task.answerEdits ?? []);
 * rows[0]; // { edit: "drop the last couplet", answers, rmPrefersOriginal, meanRmChange, meanGoldChange }
 * ```
 */
export async function editProbe(
  score: PairScorer,
  task: Task,
  answers: readonly { prompt: TaskPrompt; response: string }[],
  edits: readonly AnswerEdit[],
): Promise<EditProbeRow[]> {
  const originals = await score([...answers]);
  const originalGold = answers.map((a) => task.score(a.prompt, a.response).total);
  const rows: EditProbeRow[] = [];
  for (const edit of edits) {
    // Only edits the gold score calls worse: the question is whether the RM agrees.
    const cases = answers.flatMap((a, i) => {
      const edited = edit.apply(a.response, a.prompt);
      if (edited === undefined || edited === a.response) return [];
      const goldChange = task.score(a.prompt, edited).total - originalGold[i];
      return goldChange < 0 ? [{ i, edited, goldChange }] : [];
    });
    const editedScores = await score(cases.map((c) => ({ prompt: answers[c.i].prompt, response: c.edited })));
    const n = cases.length;
    const mean = (values: number[]) => (n ? values.reduce((s, v) => s + v, 0) / n : 0);
    rows.push({
      edit: edit.name,
      answers: n,
      rmPrefersOriginal: mean(cases.map((c, j) => (originals[c.i] > editedScores[j] ? 1 : 0))),
      meanRmChange: mean(cases.map((c, j) => editedScores[j] - originals[c.i])),
      meanGoldChange: mean(cases.map((c) => c.goldChange)),
    });
  }
  return rows;
}

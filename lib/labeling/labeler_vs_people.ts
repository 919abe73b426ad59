/**
 * The simulated labeler beside the people of a class: it ranks each class session's answers (their gold scores
 * are in the session's items file) and its rankings are compared with each person's.
 */
import { SimulatedLabeler } from "../reward/simulated_labeler.ts";
import type { RankRecord } from "../reward/labels.ts";
import { agreementWith, classAgreement } from "./class_agreement.ts";
import { loadClassItems } from "./class_items.ts";
import { LABELER_MIXES, rankAsClass } from "./simulated_class.ts";

/**
 * The simulated labeler's agreement with each person of `lists`, on the class sessions among `files` (those
 * with a `<file>.items.json`, which holds every answer's gold score): the labeler ranks each session's items,
 * and its lists are compared with the people's. Empty when no file is a class session's.
 *
 * @example
 * ```ts
 * import { loadLabelFiles, SimulatedLabeler, simulatedLabelerVsPeople } from "rlhf";
 * const files = ["data/labels/poetry-zh-class-7a.jsonl"]; // written by deno task label --classroom
 * const { lists } = await loadLabelFiles(files);
 * await simulatedLabelerVsPeople(files, lists, new SimulatedLabeler()); // [{ labeler: "ann", pairs: 48, agreement: 0.9 }, …]
 * ```
 */
export async function simulatedLabelerVsPeople(
  files: readonly string[],
  lists: readonly RankRecord[],
  labeler: SimulatedLabeler,
): Promise<{ labeler: string; pairs: number; agreement: number }[]> {
  const reference: RankRecord[] = [];
  for (const file of files) {
    const saved = await loadClassItems(file);
    if (saved) reference.push(...rankAsClass(saved.items, [{ mix: LABELER_MIXES.bright, labeler }], { checkpoint: saved.checkpoint }));
  }
  if (reference.length === 0) return [];
  const people = lists.filter((l) => l.labeler !== labeler.name);
  return agreementWith(classAgreement([...people, ...reference]), labeler.name).filter((r) => r.pairs > 0);
}

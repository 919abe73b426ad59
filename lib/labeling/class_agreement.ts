/**
 * A class's agreement in one record, as the teacher's view, the report and
 * notebook 02 show it: pairwise and leave-one-out majority agreement over
 * every shared pair, and Kendall's W and Krippendorff's α (ordinal) over the
 * items that several labelers ranked (the overlap set), each with its counts.
 */
import { type RankRecord, ranksOf } from "../reward/labels.ts";
import {
  type Agreement,
  itemKey,
  kendallW,
  krippendorffAlpha,
  type LabelerPairAgreement,
  type MajorityAgreement,
  majorityAgreement,
  pairwiseAgreement,
} from "./agreement.ts";

export interface ClassAgreement {
  /** Labelers, in name order, with how many lists each ranked. */
  readonly labelers: readonly { readonly labeler: string; readonly lists: number }[];
  readonly pairwise: { readonly byPair: readonly LabelerPairAgreement[]; readonly pooled: Agreement };
  readonly majority: readonly MajorityAgreement[];
  /** Kendall's W: its mean over the overlap items, how many items and the labelers per item (at least, at most). */
  readonly kendallW: { readonly mean: number; readonly items: number; readonly raters: readonly [number, number] };
  /** Krippendorff's α (ordinal), units = (item, response), values = ranks. */
  readonly alpha: { readonly value: number; readonly units: number; readonly values: number };
}

/**
 * The agreement of the labelers in `lists`. The overlap set is `overlap` (item keys, `itemKey`) when given,
 * else every item that at least two labelers ranked.
 *
 * @example
 * ```ts
 * import { classAgreement } from "rlhf";
 * const list = (labeler: string, responses: string[]) =>
 *   ({ prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses, labeler, time: "2026-01-01T00:00:00Z", checkpoint: "sft" });
 * const a = classAgreement([list("ann", ["甲", "乙", "丙"]), list("bo", ["甲", "乙", "丙"])]);
 * [a.pairwise.pooled.agreement, a.kendallW.mean, a.alpha.value]; // [1, 1, 1]
 * ```
 */
export function classAgreement(lists: readonly RankRecord[], options: { overlap?: ReadonlySet<string> } = {}): ClassAgreement {
  const byItem = new Map<string, RankRecord[]>();
  const count = new Map<string, number>();
  for (const l of lists) {
    const key = itemKey(l);
    byItem.set(key, [...(byItem.get(key) ?? []), l]);
    count.set(l.labeler, (count.get(l.labeler) ?? 0) + 1);
  }
  const overlap = [...byItem].filter(([key, ls]) => (options.overlap ? options.overlap.has(key) : true) && ls.length >= 2);
  const ws: number[] = [];
  const raterCounts: number[] = [];
  const coders = [...count.keys()].sort();
  const data: (number | undefined)[][] = coders.map(() => []);
  for (const [, ls] of overlap) {
    const responses = [...ls[0].responses].sort();
    const rankOf = (l: RankRecord) => {
      const ranks = ranksOf(l);
      return responses.map((r) => ranks[l.responses.indexOf(r)]);
    };
    const w = kendallW(ls.map(rankOf));
    if (!Number.isNaN(w)) ws.push(w);
    raterCounts.push(ls.length);
    for (const r of responses) {
      const unit = data[0].length;
      coders.forEach((_, c) => data[c][unit] = undefined);
      for (const l of ls) data[coders.indexOf(l.labeler)][unit] = rankOf(l)[responses.indexOf(r)];
    }
  }
  return {
    labelers: coders.map((labeler) => ({ labeler, lists: count.get(labeler)! })),
    pairwise: pairwiseAgreement(lists),
    majority: majorityAgreement(lists),
    kendallW: {
      mean: ws.length ? ws.reduce((s, w) => s + w, 0) / ws.length : NaN,
      items: ws.length,
      raters: raterCounts.length ? [Math.min(...raterCounts), Math.max(...raterCounts)] : [0, 0],
    },
    alpha: {
      value: krippendorffAlpha(data, { metric: "ordinal" }),
      units: data[0]?.length ?? 0,
      values: data.reduce((s, row) => s + row.filter((v) => v !== undefined).length, 0),
    },
  };
}

/**
 * One labeler's agreement with each of the others (e.g. the simulated labeler with each student), from `pairwise.byPair`.
 *
 * @example
 * ```ts
 * import { agreementWith, classAgreement } from "rlhf";
 * const list = (labeler: string, responses: string[]) =>
 *   ({ prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses, labeler, time: "2026-01-01T00:00:00Z", checkpoint: "sft" });
 * const a = classAgreement([list("simulated:0", ["甲", "乙"]), list("ann", ["甲", "乙"]), list("bo", ["乙", "甲"])]);
 * agreementWith(a, "simulated:0"); // [{ labeler: "ann", pairs: 1, agreement: 1 }, { labeler: "bo", pairs: 1, agreement: 0 }]
 * ```
 */
export function agreementWith(a: ClassAgreement, labeler: string): MajorityAgreement[] {
  return a.pairwise.byPair.filter((p) => p.a === labeler || p.b === labeler)
    .map((p) => ({ labeler: p.a === labeler ? p.b : p.a, pairs: p.pairs, agreement: p.agreement }));
}

/** A percentage with one decimal, or "–" when there is nothing to measure. */
export function percent(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : "–";
}

/**
 * The agreement as lines of text (the terminal, the report): pooled pairwise, each labeler vs the majority,
 * W and α with their counts.
 *
 * @example
 * ```ts
 * import { agreementLines, classAgreement } from "rlhf";
 * const list = (labeler: string, responses: string[]) =>
 *   ({ prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses, labeler, time: "2026-01-01T00:00:00Z", checkpoint: "sft" });
 * agreementLines(classAgreement([list("ann", ["甲", "乙"]), list("bo", ["甲", "乙"])]))[0];
 * // "labeler–labeler agreement 100.0 % on 1 shared pairs (2 labelers; InstructGPT: 72.6 ± 1.5 %)"
 * ```
 */
export function agreementLines(a: ClassAgreement): string[] {
  return [
    `labeler–labeler agreement ${
      percent(a.pairwise.pooled.agreement)
    } on ${a.pairwise.pooled.pairs} shared pairs (${a.labelers.length} labelers; InstructGPT: 72.6 ± 1.5 %)`,
    ...a.majority.map((m) => `  ${m.labeler} vs the others' majority: ${percent(m.agreement)} on ${m.pairs} pairs`),
    `Kendall's W ${Number.isFinite(a.kendallW.mean) ? a.kendallW.mean.toFixed(3) : "–"} (mean over ${a.kendallW.items} shared lists, ${
      a.kendallW.raters[0]
    }–${a.kendallW.raters[1]} labelers each)`,
    `Krippendorff's α (ordinal) ${
      Number.isFinite(a.alpha.value) ? a.alpha.value.toFixed(3) : "–"
    } (${a.alpha.units} answers, ${a.alpha.values} ranks)`,
  ];
}

/**
 * The items (see `itemKey`) every labeler of `lists` ranked: a class's overlap set, read off its files.
 *
 * @example
 * ```ts
 * import { listsRankedByAll, loadLabelFiles } from "rlhf";
 * const { lists } = await loadLabelFiles(["data/labels/class-7a"]); // a class session's files
 * listsRankedByAll(lists).size; // the overlap set every student ranked (5 by default)
 * ```
 */
export function listsRankedByAll(lists: readonly RankRecord[]): Set<string> {
  const labelers = new Set(lists.map((l) => l.labeler));
  const by = new Map<string, Set<string>>();
  for (const l of lists) by.set(itemKey(l), (by.get(itemKey(l)) ?? new Set()).add(l.labeler));
  return new Set([...by].filter(([, who]) => who.size === labelers.size).map(([key]) => key));
}

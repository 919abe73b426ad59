/**
 * How far labelers agree, measured on the rank lists they share. Two lists are
 * the same item when they have the same prompt and the same set of responses
 * (in any order). Four measures:
 *
 * - pairwise agreement: for every two labelers, the share of response pairs
 *   both ranked without a tie on which they chose the same winner;
 * - each labeler against the majority of the others (leave-one-out): the share
 *   of their untied pairs whose winner most of the other labelers also chose
 *   (pairs where the others are split evenly, or absent, are left out);
 * - Kendall's W over each item ranked by several labelers (1: all give the
 *   same order, 0: no common order), with the correction for ties;
 * - Krippendorff's α (ordinal) with every (item, response) a unit and the
 *   rank a labeler gave it the value: 1 is perfect agreement, 0 what chance
 *   gives, below 0 systematic disagreement.
 *
 * InstructGPT's labelers agreed with each other on 72.6 ± 1.5 % of pairs; a
 * reward model is not expected to agree with a held-out labeler more often
 * than labelers agree with each other.
 */
import { type RankRecord, ranksOf } from "../reward/labels.ts";

/**
 * The item a rank list ranks: its prompt and set of responses (two labelers' lists of one item have the same key).
 *
 * @example
 * ```ts
 * import { itemKey } from "rlhf";
 * itemKey({ prompt_id: "p1", responses: ["乙", "甲"] }) === itemKey({ prompt_id: "p1", responses: ["甲", "乙"] }); // true
 * ```
 */
export function itemKey(r: Pick<RankRecord, "prompt_id" | "responses">): string {
  return JSON.stringify([r.prompt_id, [...r.responses].sort()]);
}

/** For each labeler, the winner of each untied pair they ranked: key `[item, a, b]` with a < b, value +1 when a won, −1 when b won. */
export function pairVotes(lists: readonly RankRecord[]): Map<string, Map<string, 1 | -1>> {
  const votes = new Map<string, Map<string, 1 | -1>>();
  for (const list of lists) {
    const mine = votes.get(list.labeler) ?? new Map<string, 1 | -1>();
    votes.set(list.labeler, mine);
    const ranks = ranksOf(list);
    const item = itemKey(list);
    for (let i = 0; i < list.responses.length; i++) {
      for (let j = i + 1; j < list.responses.length; j++) {
        if (ranks[i] === ranks[j]) continue; // a tie says nothing about the winner
        const [a, b] = [list.responses[i], list.responses[j]];
        // responses[i] is ranked above responses[j]
        mine.set(JSON.stringify([item, a < b ? a : b, a < b ? b : a]), a < b ? 1 : -1);
      }
    }
  }
  return votes;
}

/** Agreement on some pairs: how many were compared and the share that agreed (NaN when none). */
export interface Agreement {
  readonly pairs: number;
  readonly agreement: number;
}

/** Two labelers' agreement on the untied pairs both ranked. */
export interface LabelerPairAgreement extends Agreement {
  readonly a: string;
  readonly b: string;
}

/**
 * Pairwise agreement between every two labelers (in name order) on the untied pairs both ranked, and all of
 * them pooled (each compared pair of every two labelers counts once).
 *
 * @example
 * ```ts
 * import { pairwiseAgreement } from "rlhf";
 * const list = (labeler: string, responses: string[]) =>
 *   ({ prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses, labeler, time: "2026-01-01T00:00:00Z", checkpoint: "sft" });
 * const { pooled } = pairwiseAgreement([list("ann", ["甲", "乙", "丙"]), list("bo", ["甲", "丙", "乙"])]);
 * pooled; // { pairs: 3, agreement: 0.6666666666666666 }: they differ only on 乙 vs 丙
 * ```
 */
export function pairwiseAgreement(lists: readonly RankRecord[]): { byPair: LabelerPairAgreement[]; pooled: Agreement } {
  const votes = pairVotes(lists);
  const names = [...votes.keys()].sort();
  const byPair: LabelerPairAgreement[] = [];
  let [pairs, agreed] = [0, 0];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const [va, vb] = [votes.get(names[i])!, votes.get(names[j])!];
      let [n, same] = [0, 0];
      for (const [pair, vote] of va) {
        const other = vb.get(pair);
        if (other === undefined) continue;
        n++;
        if (other === vote) same++;
      }
      byPair.push({ a: names[i], b: names[j], pairs: n, agreement: n ? same / n : NaN });
      pairs += n;
      agreed += same;
    }
  }
  return { byPair, pooled: { pairs, agreement: pairs ? agreed / pairs : NaN } };
}

/** A labeler's agreement with the majority of the other labelers. */
export interface MajorityAgreement extends Agreement {
  readonly labeler: string;
}

/**
 * Each labeler against the majority of the others (leave-one-out), on their untied pairs that at least one
 * other labeler ranked and the others do not split evenly on.
 *
 * @example
 * ```ts
 * import { majorityAgreement } from "rlhf";
 * const list = (labeler: string, responses: string[]) =>
 *   ({ prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses, labeler, time: "2026-01-01T00:00:00Z", checkpoint: "sft" });
 * const lists = [list("ann", ["甲", "乙"]), list("bo", ["甲", "乙"]), list("cy", ["甲", "乙"]), list("dee", ["乙", "甲"])];
 * majorityAgreement(lists).map((m) => m.agreement); // [1, 1, 1, 0]: dee alone prefers 乙
 * ```
 */
export function majorityAgreement(lists: readonly RankRecord[]): MajorityAgreement[] {
  const votes = pairVotes(lists);
  const sum = new Map<string, number>();
  for (const mine of votes.values()) for (const [pair, v] of mine) sum.set(pair, (sum.get(pair) ?? 0) + v);
  return [...votes.keys()].sort().map((labeler) => {
    let [n, same] = [0, 0];
    for (const [pair, v] of votes.get(labeler)!) {
      const others = sum.get(pair)! - v; // leave this labeler out
      if (others === 0) continue; // nobody else, or an even split
      n++;
      if (Math.sign(others) === v) same++;
    }
    return { labeler, pairs: n, agreement: n ? same / n : NaN };
  });
}

/** Mid-ranks of values (smaller value = better = rank 1; equal values share the mean of their places). */
export function midRanks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const out = new Array<number>(values.length);
  for (let s = 0; s < order.length;) {
    let e = s;
    while (e + 1 < order.length && values[order[e + 1]] === values[order[s]]) e++;
    for (let k = s; k <= e; k++) out[order[k]] = (s + e) / 2 + 1;
    s = e + 1;
  }
  return out;
}

/**
 * Kendall's coefficient of concordance W of m raters over n objects (`ranks[rater][object]`, smaller =
 * better; ties allowed, turned into mid-ranks), with the tie correction:
 * W = 12 S / (m² (n³ − n) − m Σ T), S = Σ (R_i − R̄)², T = Σ (t³ − t) over each rater's groups of ties.
 * NaN when it is undefined (fewer than 2 raters or objects, or every rater ties everything).
 *
 * @example
 * ```ts
 * import { kendallW } from "rlhf";
 * kendallW([[1, 2, 3], [1, 2, 3]]); // 1: the same order
 * kendallW([[1, 2, 3], [3, 2, 1]]); // 0: opposite orders
 * ```
 */
export function kendallW(ranks: readonly (readonly number[])[]): number {
  const m = ranks.length;
  const n = ranks[0]?.length ?? 0;
  if (m < 2 || n < 2) return NaN;
  if (ranks.some((r) => r.length !== n)) throw new Error(`kendallW: every rater must rank the same ${n} objects`);
  const mid = ranks.map(midRanks);
  const totals = Array.from({ length: n }, (_, i) => mid.reduce((s, r) => s + r[i], 0));
  const mean = (m * (n + 1)) / 2;
  const S = totals.reduce((s, t) => s + (t - mean) ** 2, 0);
  let T = 0;
  for (const r of ranks) {
    const counts = new Map<number, number>();
    for (const v of r) counts.set(v, (counts.get(v) ?? 0) + 1);
    for (const t of counts.values()) T += t ** 3 - t;
  }
  const denominator = m * m * (n ** 3 - n) - m * T;
  return denominator > 0 ? (12 * S) / denominator : NaN;
}

/** The distance between two values of Krippendorff's α. */
export type AlphaMetric = "nominal" | "ordinal" | "interval";

/**
 * Krippendorff's α of a reliability data matrix `data[coder][unit]` (undefined: the coder gave that unit no
 * value), with the coincidence matrix of Krippendorff (2011), "Computing Krippendorff's alpha-reliability":
 * α = 1 − (n − 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck. Units with fewer than two values are not pairable and are
 * left out. NaN when there is no disagreement to expect (one value only).
 *
 * @example
 * ```ts
 * import { krippendorffAlpha } from "rlhf";
 * krippendorffAlpha([[1, 2, 3, 4], [1, 2, 3, 4]], { metric: "ordinal" }); // 1
 * ```
 */
export function krippendorffAlpha(
  data: readonly (readonly (number | undefined)[])[],
  options: { metric?: AlphaMetric } = {},
): number {
  const metric = options.metric ?? "ordinal";
  const units = Math.max(0, ...data.map((row) => row.length));
  const pairable: number[][] = [];
  for (let u = 0; u < units; u++) {
    const values = data.map((row) => row[u]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length >= 2) pairable.push(values);
  }
  const values = [...new Set(pairable.flat())].sort((a, b) => a - b);
  const at = new Map(values.map((v, i) => [v, i]));
  const V = values.length;
  const o = Array.from({ length: V }, () => new Array<number>(V).fill(0)); // coincidences
  for (const unit of pairable) {
    for (let i = 0; i < unit.length; i++) {
      for (let j = 0; j < unit.length; j++) if (i !== j) o[at.get(unit[i])!][at.get(unit[j])!] += 1 / (unit.length - 1);
    }
  }
  const nc = o.map((row) => row.reduce((s, x) => s + x, 0));
  const n = nc.reduce((s, x) => s + x, 0);
  const delta2 = (c: number, k: number): number => {
    if (metric === "nominal") return c === k ? 0 : 1;
    if (metric === "interval") return (values[c] - values[k]) ** 2;
    const [lo, hi] = c < k ? [c, k] : [k, c];
    let between = 0;
    for (let g = lo; g <= hi; g++) between += nc[g];
    return (between - (nc[c] + nc[k]) / 2) ** 2;
  };
  let [observed, expected] = [0, 0];
  for (let c = 0; c < V; c++) {
    for (let k = 0; k < V; k++) {
      const d = delta2(c, k);
      observed += o[c][k] * d;
      expected += nc[c] * nc[k] * d;
    }
  }
  return expected > 0 ? 1 - ((n - 1) * observed) / expected : NaN;
}

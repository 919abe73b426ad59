/**
 * A simulated classroom, so the lesson on agreement runs with no class
 * present: N labelers, each the simulated labeler (Plackett–Luce noise around
 * a score) with a named preference mix and noise level. The mixes read the
 * parts of the task's gold score:
 *
 * - bright: the task's own preference (the gold total: form × variety × mood);
 * - sorrowful: the same with the mood turned round (a sorrowful poem wins);
 * - form-first: the form parts and variety only, mood ignored;
 * - noisy: bright, with ten times the noise;
 * - random: every order equally likely (no preference at all).
 *
 * A task without a `mood` part (poetry-zh-rules) reads sorrowful as bright.
 */
import type { RankRecord } from "../reward/labels.ts";
import { DEFAULT_LABELER_TEMPERATURE, SimulatedLabeler } from "../reward/simulated_labeler.ts";
import type { GoldScore } from "../tasks/types.ts";
import type { LabelItem } from "./session.ts";

/** A named way of preferring answers: a score from the gold parts, and how noisily it is followed. */
export interface LabelerMix {
  readonly name: string;
  /** Noise (the simulated labeler's temperature). */
  readonly temperature: number;
  /** Marks equal scores next to each other as ties, as the pipeline's labeler does. @default true */
  readonly ties?: boolean;
  score(gold: GoldScore): number;
}

const FORM = ["line_count", "chars_per_line", "punctuation", "clean"];
const formTimesVariety = (g: GoldScore) => {
  const form = FORM.filter((p) => p in g.parts);
  const mean = form.length ? form.reduce((s, p) => s + g.parts[p], 0) / form.length : g.total;
  return mean * (g.parts.variety ?? 1);
};

/**
 * The named mixes (see above).
 *
 * @example
 * ```ts
 * import { LABELER_MIXES } from "rlhf";
 * const gold = { total: 0.2, parts: { line_count: 1, chars_per_line: 1, punctuation: 1, clean: 1, variety: 1, mood: 0.2 } };
 * LABELER_MIXES.bright.score(gold); // 0.2: a sorrowful poem scores low
 * LABELER_MIXES.sorrowful.score(gold); // 0.8: and high for a sorrowful labeler
 * ```
 */
export const LABELER_MIXES: Readonly<Record<string, LabelerMix>> = Object.freeze({
  bright: { name: "bright", temperature: DEFAULT_LABELER_TEMPERATURE, score: (g) => g.total },
  sorrowful: {
    name: "sorrowful",
    temperature: DEFAULT_LABELER_TEMPERATURE,
    score: (g) => ("mood" in g.parts ? formTimesVariety(g) * (1 - g.parts.mood) : g.total),
  },
  "form-first": { name: "form-first", temperature: DEFAULT_LABELER_TEMPERATURE, score: formTimesVariety },
  noisy: { name: "noisy", temperature: 10 * DEFAULT_LABELER_TEMPERATURE, score: (g) => g.total },
  random: { name: "random", temperature: 1e9, ties: false, score: () => 0 },
});

/** The default class: mostly bright, some sorrowful, one form-first, one noisy (cycled for N students). */
export const DEFAULT_CLASS_MIXES: readonly string[] = ["bright", "bright", "sorrowful", "bright", "form-first", "noisy"];

/** One simulated student. */
export interface SimulatedStudent {
  readonly mix: LabelerMix;
  readonly labeler: SimulatedLabeler;
}

/**
 * N simulated students, the mixes cycled (names or LabelerMix records), student i seeded `seed + i`. Names are
 * `simulated:class-<mix>:<seed>` (then `:noise<t>` at a noise other than the default).
 *
 * @example
 * ```ts
 * import { simulatedClass } from "rlhf";
 * simulatedClass(3, { mixes: ["bright", "sorrowful"] }).map((s) => s.labeler.name);
 * // ["simulated:class-bright:0", "simulated:class-sorrowful:1", "simulated:class-bright:2"]
 * ```
 */
export function simulatedClass(
  n: number,
  options: { mixes?: readonly (string | LabelerMix)[]; seed?: number } = {},
): SimulatedStudent[] {
  const mixes = (options.mixes ?? DEFAULT_CLASS_MIXES).map((m) => {
    if (typeof m !== "string") return m;
    if (!Object.hasOwn(LABELER_MIXES, m)) throw new Error(`unknown labeler mix "${m}": expected ${Object.keys(LABELER_MIXES).join(", ")}`);
    return LABELER_MIXES[m];
  });
  if (mixes.length === 0) throw new Error("simulatedClass: expected at least one mix");
  return Array.from({ length: n }, (_, i) => {
    const mix = mixes[i % mixes.length];
    const seed = (options.seed ?? 0) + i;
    return {
      mix,
      labeler: new SimulatedLabeler({ temperature: mix.temperature, seed, ties: mix.ties ?? true, preference: `class-${mix.name}` }),
    };
  });
}

/** An item to rank with the gold score of each of its responses. */
export interface ScoredItem extends LabelItem {
  readonly gold: readonly GoldScore[];
}

/**
 * Each student ranks the items of their queue (`queue(s)`: item indices; default all items): rank lists as a
 * person's, with the student's name, and `time`, `checkpoint` and `session` as given.
 *
 * @example
 * ```ts
 * import { rankAsClass, simulatedClass } from "rlhf";
 * const gold = (total: number) => ({ total, parts: {} });
 * const items = [{ prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses: ["春风", "秋雨"], gold: [gold(0.9), gold(0.2)] }];
 * const lists = rankAsClass(items, simulatedClass(2, { mixes: ["bright"] }), { checkpoint: "sft" });
 * lists.map((l) => l.responses[0]); // ["春风", "春风"]: both prefer the higher score
 * ```
 */
export function rankAsClass(
  items: readonly ScoredItem[],
  students: readonly SimulatedStudent[],
  options: { checkpoint: string; time?: string; queue?: (student: number) => readonly number[]; session?: string },
): RankRecord[] {
  const time = options.time ?? new Date().toISOString();
  return students.flatMap((student, s) =>
    (options.queue?.(s) ?? items.map((_, i) => i)).map((i) => {
      const item = items[i];
      const scores = item.gold.map((g) => student.mix.score(g));
      const order = student.labeler.rank(scores, JSON.stringify([item.prompt_id, item.responses]));
      const ranks = student.labeler.tiedRanks(scores, order);
      return {
        prompt_id: item.prompt_id,
        prompt: item.prompt,
        responses: order.map((k) => item.responses[k]),
        labeler: student.labeler.name,
        time,
        checkpoint: options.checkpoint,
        ...(options.session ? { session: options.session } : {}),
        ...(ranks ? { ranks } : {}),
      };
    })
  );
}

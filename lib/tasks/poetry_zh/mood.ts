/**
 * The default preference of 诗词助手: among well-formed poems, a bright,
 * joyful poem (spring, laughter, song, blossoms) is better than a sorrowful
 * one (grief, tears, parting, loneliness, old age). It is the book's RL
 * target, positive sentiment, carried over to poems: Tang poems lean
 * melancholy, so the SFT model meets it only some of the time.
 *
 * The mood of a poem is read from a reviewed list of characters
 * (data/poetry-zh/valence.json, rules in data/README.md):
 *
 *   net  = distinct bright characters − distinct sorrowful characters
 *   mood = 1 / (1 + e^(−net))          0.5 for a poem with neither or as many of each
 *
 * Counting each character once means that writing 春 ten times is worth one 春:
 * spam does not pay under the gold score, even where a reward model is fooled.
 */
import { readJsonFile } from "../../fs.ts";

/** The reviewed character lists. */
export interface ValenceList {
  /** Character → short gloss of its bright sense. */
  readonly bright: Readonly<Record<string, string>>;
  /** Character → short gloss of its sorrowful sense. */
  readonly sorrowful: Readonly<Record<string, string>>;
}

export const DEFAULT_VALENCE_PATH = new URL("../../../data/poetry-zh/valence.json", import.meta.url).pathname;

/**
 * Reads and checks the list: single characters only, none in both lists; errors name the file and the entry.
 *
 * @example
 * ```ts
 * import { loadValenceList } from "rlhf";
 * const list = await loadValenceList(); // data/poetry-zh/valence.json
 * list.bright["歌"]; // "song"
 * ```
 */
export async function loadValenceList(path: string = DEFAULT_VALENCE_PATH): Promise<ValenceList> {
  return checkValenceList(await readJsonFile(path), path);
}

/** Validates a parsed valence list. */
export function checkValenceList(value: unknown, where: string): ValenceList {
  const v = value as Record<string, unknown>;
  for (const key of ["bright", "sorrowful"] as const) {
    const list = v?.[key];
    if (typeof list !== "object" || list === null || Array.isArray(list)) {
      throw new Error(`${where}: field "${key}" must be an object of character → gloss`);
    }
    for (const [char, gloss] of Object.entries(list)) {
      if ([...char].length !== 1) throw new Error(`${where}: ${key}: ${JSON.stringify(char)} must be one character`);
      if (typeof gloss !== "string") throw new Error(`${where}: ${key}.${char}: the gloss must be a string`);
    }
  }
  const both = Object.keys(v.bright as object).filter((c) => c in (v.sorrowful as object));
  if (both.length) throw new Error(`${where}: ${both.join("")} listed as both bright and sorrowful`);
  return v as unknown as ValenceList;
}

/** The characters of a response that the list marks, each counted once. */
export interface MoodReading {
  readonly bright: string[];
  readonly sorrowful: string[];
  /** bright.length − sorrowful.length */
  readonly net: number;
  /** σ(net) in (0, 1) */
  readonly mood: number;
}

/**
 * Reads the mood of a response.
 *
 * @example
 * ```ts
 * import { loadValenceList, readMood } from "rlhf";
 * const list = await loadValenceList();
 * readMood("莺歌燕舞，孤灯泪", list); // { bright: ["歌", "舞", "莺"], sorrowful: ["泪", "孤"], net: 1, mood: 0.73 }
 * ```
 */
export function readMood(response: string, list: ValenceList): MoodReading {
  const chars = new Set(response);
  const bright = Object.keys(list.bright).filter((c) => chars.has(c));
  const sorrowful = Object.keys(list.sorrowful).filter((c) => chars.has(c));
  const net = bright.length - sorrowful.length;
  return { bright, sorrowful, net, mood: 1 / (1 + Math.exp(-net)) };
}

/**
 * The mood class of a response, for distributions: bright (net > 0), even (0) or sorrowful (< 0).
 *
 * @example
 * ```ts
 * import { loadValenceList, moodClass, readMood } from "rlhf";
 * const list = await loadValenceList();
 * moodClass(readMood("莺歌燕舞，孤灯泪", list).net); // "bright"
 * moodClass(0); // "even"
 * ```
 */
export function moodClass(net: number): "bright" | "even" | "sorrowful" {
  return net > 0 ? "bright" : net < 0 ? "sorrowful" : "even";
}

/**
 * Variety of the characters in the verse (punctuation and line breaks left
 * out): 1 when at least 80 % of them are distinct (99 % of the bundled Tang
 * poems are), falling linearly to 0 at 40 %. It catches degenerate answers
 * that repeat a few characters over and over.
 *
 * @example
 * ```ts
 * import { varietyScore } from "rlhf";
 * varietyScore("床前明月光，疑是地上霜。"); // 1: every character distinct
 * varietyScore("春春春春春，春春春春春。"); // 0: one character over and over
 * ```
 */
export function varietyScore(response: string): number {
  const chars = [...response.replace(/[\s，。？！；、]/gu, "")];
  if (chars.length === 0) return 0;
  const ratio = new Set(chars).size / chars.length;
  return Math.min(1, Math.max(0, (ratio - 0.4) / 0.4));
}

/**
 * The gold scorers of 诗词助手: transparent rules, each part reported on its
 * own and combined into one score in [0, 1]. They stand in for the person who
 * ranks responses. Two preferences: "mood" (the default: a bright poem beats a
 * sorrowful one, among well-formed ones; see mood.ts) and "rules" (does the
 * poem follow the whole instruction?). Parts:
 *
 *   line_count      the requested number of lines (4 绝句, 8 律诗)
 *   chars_per_line  each line has 5 (五言) or 7 (七言) Chinese characters
 *   punctuation     odd lines end in "，", even lines in "。？！"
 *   include         the requested character or word appears (only when asked)
 *   theme           a character of the requested theme appears, e.g. 秋 for 秋天 (only when asked)
 *   rhyme           the even lines' last characters rhyme with the 2nd line's
 *   clean           no characters other than Chinese, the punctuation and newlines
 *   variety         (mood) most characters distinct: no repeated spam
 *   mood            (mood) σ(distinct bright − distinct sorrowful characters)
 */
import type { GoldScore } from "../types.ts";
import { rhymes } from "./rhyme.ts";
import { readMood, type ValenceList, varietyScore } from "./mood.ts";

/** What a poem request asks for. */
export interface PoemConstraints {
  readonly chars_per_line: number;
  readonly n_lines: number;
  readonly include?: string;
  /** Characters any of which shows the requested theme (see THEMES). */
  readonly themeMarks?: string;
}

const CJK = /^[\u3400-\u9fff\uf900-\ufaff]$/u;
const LINE_ENDS = "，。？！；";
const EVEN_LINE_ENDS = "。？！";

/** A verse line: its characters (without punctuation) and the mark that ended it ("" if none). */
export interface ParsedLine {
  readonly body: string;
  readonly end: string;
}

/**
 * Splits a response into verse lines at punctuation; newlines only separate couplets.
 *
 * @example
 * ```ts
 * import { parseLines } from "rlhf";
 * parseLines("床前明月光，疑是地上霜。"); // [{ body: "床前明月光", end: "，" }, { body: "疑是地上霜", end: "。" }]
 * ```
 */
export function parseLines(response: string): ParsedLine[] {
  const lines: ParsedLine[] = [];
  let body = "";
  for (const char of response.replaceAll("\n", "")) {
    if (LINE_ENDS.includes(char)) {
      lines.push({ body, end: char });
      body = "";
    } else {
      body += char;
    }
  }
  if (body.trim()) lines.push({ body, end: "" });
  return lines;
}

/** The form of a poem: line count, characters per line, punctuation, clean output (each in [0, 1]). */
function formParts(
  response: string,
  c: Pick<PoemConstraints, "chars_per_line" | "n_lines">,
  lines: readonly ParsedLine[] = parseLines(response),
): Record<string, number> {
  const n = c.n_lines;
  const parts: Record<string, number> = {};
  parts.line_count = Math.max(0, 1 - Math.abs(lines.length - n) / n);
  // Lines beyond the requested number count against chars_per_line and punctuation too.
  const counted = Math.max(n, lines.length);
  const okLength = lines.filter((l) => [...l.body].length === c.chars_per_line && [...l.body].every((ch) => CJK.test(ch))).length;
  parts.chars_per_line = okLength / counted;
  const okPunct = lines.filter((l, i) => (i % 2 === 0 ? l.end === "，" : EVEN_LINE_ENDS.includes(l.end) && l.end !== "")).length;
  parts.punctuation = okPunct / counted;
  const chars = [...response];
  const clean = chars.filter((ch) => CJK.test(ch) || LINE_ENDS.includes(ch) || ch === "\n").length;
  parts.clean = chars.length ? clean / chars.length : 0;
  return parts;
}

/** The parts that describe a poem's form (the rest are preferences). */
export const FORM_PARTS = ["line_count", "chars_per_line", "punctuation", "clean"] as const;

/**
 * The rule-following preference ("rules"): does the poem follow the whole
 * instruction? Form, the requested word and theme, rhyme; the total is the
 * mean of the parts.
 *
 * @example
 * ```ts
 * import { scorePoem } from "rlhf";
 * scorePoem("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。", { chars_per_line: 5, n_lines: 4 });
 * // { total: 1, parts: { line_count: 1, chars_per_line: 1, punctuation: 1, rhyme: 1, clean: 1 } }
 * scorePoem("床前明月光，疑是地上霜。", { chars_per_line: 7, n_lines: 4 }).total; // 0.4: two lines of five, where four of seven were asked
 * ```
 */
export function scorePoem(response: string, c: PoemConstraints): GoldScore {
  const lines = parseLines(response);
  const form = formParts(response, c, lines);
  const parts: Record<string, number> = { line_count: form.line_count, chars_per_line: form.chars_per_line, punctuation: form.punctuation };
  if (c.include) parts.include = response.includes(c.include) ? 1 : 0;
  if (c.themeMarks) parts.theme = [...c.themeMarks].some((m) => response.includes(m)) ? 1 : 0;
  parts.rhyme = rhymeScore(lines, c.n_lines);
  parts.clean = form.clean;
  const values = Object.values(parts);
  return { total: values.reduce((s, v) => s + v, 0) / values.length, parts };
}

/**
 * The mood preference ("mood", the default): among well-formed poems, bright
 * and joyful beats sorrowful. total = form × variety × mood, where form is the
 * mean of the four form parts: an answer that breaks the form or repeats
 * itself loses what its mood would earn.
 */
export function scoreMoodPoem(response: string, c: Pick<PoemConstraints, "chars_per_line" | "n_lines">, valence: ValenceList): GoldScore {
  const form = formParts(response, c);
  const formMean = FORM_PARTS.reduce((a, k) => a + form[k], 0) / FORM_PARTS.length;
  const variety = varietyScore(response);
  const { mood } = readMood(response, valence);
  return { total: formMean * variety * mood, parts: { ...form, variety, mood } };
}

/** Fraction of the even lines after the 2nd whose last character rhymes with the 2nd line's. */
function rhymeScore(lines: ParsedLine[], n: number): number {
  const last = (i: number) => [...(lines[i]?.body ?? "")].at(-1);
  const anchor = last(1);
  if (!anchor || !CJK.test(anchor)) return 0;
  let pairs = 0;
  let hits = 0;
  for (let i = 3; i < n; i += 2) {
    pairs++;
    const ch = last(i);
    if (ch && CJK.test(ch) && rhymes(anchor, ch)) hits++;
  }
  return pairs ? hits / pairs : 0;
}

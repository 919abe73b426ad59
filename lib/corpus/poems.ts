/**
 * The bundled corpus: regular Tang poems (五言/七言 绝句/律诗) in simplified
 * characters, one JSON object a line in data/poetry-zh/poems.jsonl (built by
 * scripts/build_data.ts from the npm package chinese-poetry; see data/README.md).
 */

/** One poem. `lines` are its verse lines, each 5 or 7 characters plus one punctuation mark. */
export interface Poem {
  readonly id: string;
  readonly title: string;
  readonly author: string;
  readonly lines: readonly string[];
  /** 5 (五言) or 7 (七言). */
  readonly chars_per_line: 5 | 7;
  /** 4 (绝句) or 8 (律诗). */
  readonly n_lines: 4 | 8;
  /** "train", or "heldout" (never seen by any training step; used for evaluation). */
  readonly split: "train" | "heldout";
}

/**
 * Where the bundled poems are: data/poetry-zh/poems.jsonl, as an absolute path.
 *
 * @example
 * ```ts
 * import { DEFAULT_POEMS_PATH, loadPoems } from "rlhf";
 * const poems = await loadPoems(DEFAULT_POEMS_PATH); // what loadPoems() reads
 * ```
 */
export const DEFAULT_POEMS_PATH = new URL("../../data/poetry-zh/poems.jsonl", import.meta.url).pathname;

import { readJsonl } from "../jsonl.ts";

/** Punctuation that may end a verse line. */
export const LINE_END = "，。？！；";
const CJK = /^[\u3400-\u9fff\uf900-\ufaff]+$/u;

/**
 * The poem as text, one couplet a row: "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
 *
 * @example
 * ```ts
 * import { type Poem, poemText } from "rlhf";
 * const lines = ["床前明月光，", "疑是地上霜。", "举头望明月，", "低头思故乡。"];
 * const poem: Poem = { id: "静夜思", title: "静夜思", author: "李白", lines, chars_per_line: 5, n_lines: 4, split: "train" };
 * poemText(poem); // "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
 * ```
 */
export function poemText(poem: Poem): string {
  const rows: string[] = [];
  for (let i = 0; i < poem.lines.length; i += 2) rows.push(poem.lines.slice(i, i + 2).join(""));
  return rows.join("\n");
}

/** The verse line without its punctuation mark. */
export function lineBody(line: string): string {
  return LINE_END.includes(line.at(-1) ?? "") ? line.slice(0, -1) : line;
}

/**
 * Reads poems.jsonl; a malformed line gives an error naming the file and line number. Blank lines are skipped.
 *
 * @example
 * ```ts
 * import { loadPoems } from "rlhf";
 * const poems = await loadPoems();
 * poems.length; // 12000 regular Tang poems
 * poems[0].lines; // ["新丰停翠辇，", "谯邑驻鸣笳。", …]: 8 lines of 5 characters and a mark
 * ```
 */
export async function loadPoems(path: string = DEFAULT_POEMS_PATH): Promise<Poem[]> {
  const poems = await readJsonl(path, checkPoem);
  if (poems.length === 0) throw new Error(`${path}: no poems`);
  return poems;
}

/** Validates one parsed record; errors name `where` and the field. */
export function checkPoem(value: unknown, where: string): Poem {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${where}: expected a JSON object`);
  const p = value as Record<string, unknown>;
  for (const field of ["id", "title", "author"] as const) {
    if (typeof p[field] !== "string" || (p[field] as string).trim() === "") {
      throw new Error(`${where}: field "${field}" must be a non-empty string`);
    }
  }
  if (p.chars_per_line !== 5 && p.chars_per_line !== 7) {
    throw new Error(`${where}: field "chars_per_line" must be 5 or 7, got ${JSON.stringify(p.chars_per_line)}`);
  }
  if (p.n_lines !== 4 && p.n_lines !== 8) throw new Error(`${where}: field "n_lines" must be 4 or 8, got ${JSON.stringify(p.n_lines)}`);
  if (p.split !== "train" && p.split !== "heldout") {
    throw new Error(`${where}: field "split" must be "train" or "heldout", got ${JSON.stringify(p.split)}`);
  }
  const lines = p.lines;
  if (!Array.isArray(lines) || lines.length === 0 || !lines.every((l) => typeof l === "string")) {
    throw new Error(`${where}: field "lines" must be a non-empty array of strings`);
  }
  if (lines.length !== p.n_lines) throw new Error(`${where}: field "lines" has ${lines.length} lines, n_lines says ${p.n_lines}`);
  lines.forEach((line: string, i: number) => {
    const body = lineBody(line);
    if (body === line || body.length !== p.chars_per_line || !CJK.test(body)) {
      throw new Error(
        `${where}: line ${i + 1} ${JSON.stringify(line)} must be ${p.chars_per_line} Chinese characters and one of ${LINE_END}`,
      );
    }
  });
  return p as unknown as Poem;
}

/**
 * Splits poems by their `split` field.
 *
 * @example
 * ```ts
 * import { loadPoems, splitPoems } from "rlhf";
 * const { train, heldout } = splitPoems(await loadPoems());
 * heldout.length; // 602: no training step ever sees them
 * ```
 */
export function splitPoems(poems: readonly Poem[]): { train: Poem[]; heldout: Poem[] } {
  return { train: poems.filter((p) => p.split === "train"), heldout: poems.filter((p) => p.split === "heldout") };
}

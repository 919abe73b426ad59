/**
 * Reading JSON Lines: one JSON value a line, blank lines skipped, and every
 * error naming the file and the line ("data/x.jsonl:17: …").
 */
import { platform } from "./platform/platform.ts";

/**
 * Checks a value of one line: `where` is "file:line", `index` the value's position among the records, `line`
 * its 0-based line in the text (blank lines count).
 */
export type JsonlCheck<T> = (value: unknown, where: string, index: number, line: number) => T;

/** Parses each non-blank line of `text` (read from `path`) and hands it to `check`, which validates or throws. */
export function parseJsonl<T>(text: string, path: string, check: JsonlCheck<T>): T[] {
  const records: T[] = [];
  text.split("\n").forEach((raw, line) => {
    if (raw.trim() === "") return;
    const where = `${path}:${line + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new Error(`${where}: invalid JSON (${(err as Error).message})`);
    }
    records.push(check(value, where, records.length, line));
  });
  return records;
}

/** Reads `path` and parses it as `parseJsonl` does. */
export async function readJsonl<T>(path: string, check: JsonlCheck<T>): Promise<T[]> {
  return parseJsonl(await platform().readTextFile(path), path, check);
}

/** `text` with `lines` added at the end, each on a line of its own (also when `text` lacks its final newline). */
export function withLinesAppended(text: string, lines: readonly string[]): string {
  const joined = text === "" || text.endsWith("\n") ? text : text + "\n";
  return joined + lines.map((line) => line + "\n").join("");
}

/**
 * Reading JSON Lines: one JSON value a line, blank lines skipped, and every
 * error naming the file and the line ("data/x.jsonl:17: …").
 */

/** Parses each non-blank line and hands it to `check(value, where)`, which validates or throws. */
export async function readJsonl<T>(path: string, check: (value: unknown, where: string, index: number) => T): Promise<T[]> {
  const text = await Deno.readTextFile(path);
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
    records.push(check(value, where, records.length));
  });
  return records;
}

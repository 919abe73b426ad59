/**
 * Many label files as one set of rank lists: a class's session files, each
 * person's file, a directory of them. The rule that merges them:
 *
 * 1. A directory stands for its `*.jsonl` files, in name order; files are read
 *    in the order named (each checked as `loadLabels` checks one file).
 * 2. The same list (labeler, prompt, responses in the same order, same ties)
 *    met again counts once: the first copy is kept.
 * 3. The same labeler ranking the same item (prompt and set of responses)
 *    differently in two files: the ranking with the later `time` is kept (their
 *    latest word, as ranking an item again in `deno task label` replaces the
 *    earlier line); at equal times, the one in the file named later.
 */
import { loadLabels, rankingKey, type RankRecord, uniqueRankLists } from "./labels.ts";
import { platform } from "../platform/platform.ts";

/**
 * The label files `paths` stand for: a file as itself, a directory as its `*.jsonl` files in name order.
 * A missing path throws naming it; a directory without one throws too.
 *
 * @example
 * ```ts
 * import { labelFilesOf } from "rlhf";
 * await labelFilesOf(["data/labels"]); // every .jsonl file in data/labels, in name order
 * ```
 */
export async function labelFilesOf(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await platform().stat(path).catch(() => undefined);
    if (!info) throw new Error(`${path}: no such file or directory`);
    if (!info.isDirectory) {
      files.push(path);
      continue;
    }
    const inside: string[] = [];
    for await (const e of platform().readDir(path)) {
      if (e.isFile && e.name.endsWith(".jsonl")) inside.push(`${path.replace(/\/$/, "")}/${e.name}`);
    }
    inside.sort();
    if (inside.length === 0) throw new Error(`${path}: a directory without .jsonl label files`);
    files.push(...inside);
  }
  return [...new Set(files)];
}

/**
 * Merges rank lists by the rule above (2 and 3), keeping the order in which lists were first met.
 *
 * @example
 * ```ts
 * import { mergeRankLists, type RankRecord } from "rlhf";
 * const list = (responses: string[], time: string): RankRecord =>
 *   ({ prompt_id: "p1", prompt: [{ role: "user", content: "写诗" }], responses, labeler: "ann", time, checkpoint: "sft" });
 * mergeRankLists([list(["甲", "乙"], "2026-01-01T09:00:00Z"), list(["乙", "甲"], "2026-01-01T10:00:00Z")]).map((l) => l.responses);
 * // [["乙", "甲"]]: ann's later ranking of the same item
 * ```
 */
export function mergeRankLists(lists: readonly RankRecord[]): RankRecord[] {
  const unique = uniqueRankLists(lists);
  const latest = new Map<string, RankRecord>();
  for (const l of unique) {
    const key = rankingKey(l);
    const earlier = latest.get(key);
    if (!earlier || Date.parse(l.time) >= Date.parse(earlier.time)) latest.set(key, l);
  }
  const kept = new Set(latest.values());
  return unique.filter((l) => kept.has(l));
}

/**
 * Reads and merges label files and directories (the rule above).
 *
 * @example
 * ```ts
 * import { loadLabelFiles } from "rlhf";
 * const { files, lists } = await loadLabelFiles(["data/labels/poetry-zh-simulated.jsonl"]);
 * files.length; // 1
 * lists.length; // the file's rank lists, each once
 * ```
 */
export async function loadLabelFiles(paths: readonly string[]): Promise<{ files: string[]; lists: RankRecord[] }> {
  const files = await labelFilesOf(paths);
  const lists: RankRecord[] = [];
  for (const file of files) lists.push(...(await loadLabels(file)));
  return { files, lists: mergeRankLists(lists) };
}

/**
 * Human (or simulated) rankings on disk: data/labels/*.jsonl, one rank list a
 * line. Appends rewrite the file atomically with the old lines kept byte for
 * byte, so nothing already labelled is ever lost, and a crash leaves either
 * the old file or the new one. Every change reads the file under its lock
 * (lib/file_lock.ts): two processes on one file (two labelling servers) would
 * otherwise each rewrite it from what they read and drop the other's lines.
 * A malformed line, or two lines where the same labeler ranked the same
 * responses of the same prompt differently, stops with an error naming the
 * file and line; identical lines count once. The one way to change a ranking
 * is `replaceRanking` (the labelling page's re-rank): the labeler's earlier
 * line for the item is replaced in place.
 */
import { hashText } from "../hash.ts";
import { writeTextFileAtomic } from "../checkpoint/atomic.ts";
import { withFileLock } from "../file_lock.ts";
import { pathExists } from "../fs.ts";
import { parseJsonl, withLinesAppended } from "../jsonl.ts";
import { platform } from "../platform/platform.ts";
import type { ChatMessage, Role } from "../tokenizer/chat_template.ts";

/** One rank list. */
export interface RankRecord {
  readonly prompt_id: string;
  readonly prompt: readonly ChatMessage[];
  /** The responses, best first. */
  readonly responses: readonly string[];
  /** A person's name, or `simulated:<seed>` / `simulated:<preference>:<seed>` (then `:noise<temperature>` at a noise other than the default). */
  readonly labeler: string;
  /** ISO 8601 time of the ranking. */
  readonly time: string;
  /** The checkpoint that sampled the responses. */
  readonly checkpoint: string;
  /**
   * Ties, when the labeler marked some: the rank of each response (1 = best), e.g. [1, 2, 2, 3]
   * when the 2nd and 3rd are equally good. Tied pairs are left out of the loss and the accuracy.
   * Absent: a strict order.
   */
  readonly ranks?: readonly number[];
  /** The class session (`deno task label --classroom`) the ranking was made in; absent for a ranking made alone. */
  readonly session?: string;
}

/** The rank of each response of a list: its `ranks`, or 1, 2, …, K for a strict order. */
export function ranksOf(r: Pick<RankRecord, "responses" | "ranks">): readonly number[] {
  return r.ranks ?? r.responses.map((_, i) => i + 1);
}

/** A short hash of rank lists (who ranked what, how): the same lists give the same value in every run. */
export function rankListsFingerprint(lists: readonly RankRecord[]): number {
  return hashText(JSON.stringify(lists.map((l) => [l.labeler, l.prompt_id, l.responses, ranksOf(l)])));
}

const ROLES: readonly Role[] = ["system", "user", "assistant"];

/**
 * Validates one record; errors name `where` and the field.
 *
 * @example
 * ```ts
 * import { checkRankRecord } from "rlhf";
 * const line = '{"prompt_id": "p1", "prompt": [{"role": "user", "content": "写诗"}], "responses": ["春风", "秋雨"],' +
 *   ' "labeler": "ann", "time": "2026-01-01T00:00:00Z", "checkpoint": "sft@3f2a"}';
 * const record = checkRankRecord(JSON.parse(line), "labels.jsonl:1"); // a RankRecord: ann ranked 春风 above 秋雨
 * // checkRankRecord({}, "labels.jsonl:2") throws 'labels.jsonl:2: field "prompt_id" must be a non-empty string'
 * ```
 */
export function checkRankRecord(value: unknown, where: string): RankRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${where}: expected a JSON object`);
  const r = value as Record<string, unknown>;
  for (const field of ["prompt_id", "labeler", "time", "checkpoint"] as const) {
    if (typeof r[field] !== "string" || (r[field] as string).trim() === "") {
      throw new Error(`${where}: field "${field}" must be a non-empty string`);
    }
  }
  if (r.session !== undefined && (typeof r.session !== "string" || r.session.trim() === "")) {
    throw new Error(`${where}: field "session" must be a non-empty string when present`);
  }
  if (Number.isNaN(Date.parse(r.time as string))) {
    throw new Error(`${where}: field "time" must be an ISO 8601 time, got ${JSON.stringify(r.time)}`);
  }
  if (!Array.isArray(r.prompt) || r.prompt.length === 0) throw new Error(`${where}: field "prompt" must be a non-empty list of messages`);
  r.prompt.forEach((m, i) => {
    const msg = m as { role?: unknown; content?: unknown };
    if (!ROLES.includes(msg?.role as Role) || typeof msg.content !== "string") {
      throw new Error(`${where}: prompt[${i}] must be {"role": "system"|"user"|"assistant", "content": string}`);
    }
  });
  if (!Array.isArray(r.responses) || r.responses.length < 2 || !r.responses.every((x) => typeof x === "string")) {
    throw new Error(`${where}: field "responses" must list at least 2 responses (strings), best first`);
  }
  if (new Set(r.responses).size !== r.responses.length) {
    throw new Error(`${where}: field "responses" has the same response twice; a tie cannot be ranked, drop one of them`);
  }
  if (r.ranks !== undefined) {
    const ranks = r.ranks;
    const ok = Array.isArray(ranks) && ranks.length === r.responses.length && ranks[0] === 1 &&
      ranks.every((x, i) => Number.isInteger(x) && (i === 0 || x === ranks[i - 1] || x === ranks[i - 1] + 1));
    if (!ok) {
      throw new Error(
        `${where}: field "ranks" must give each response its rank, best first: 1, then each the same as the one before (a tie) or one more, e.g. [1, 2, 2, 3]; got ${
          JSON.stringify(ranks)
        }`,
      );
    }
  }
  return r as unknown as RankRecord;
}

/** The identity of a ranking task: same prompt, labeler and set of responses (not their order). */
export function rankingKey(r: Pick<RankRecord, "prompt_id" | "labeler" | "responses">): string {
  return JSON.stringify([r.prompt_id, r.labeler, [...r.responses].sort()]);
}

/** What a ranking says: the order and the ties. */
function orderKey(r: RankRecord): string {
  return JSON.stringify([r.responses, ranksOf(r)]);
}

/** One line of a label file: its record, its index in `text.split("\n")`, and `file:line` for messages. */
interface LabelLine {
  readonly record: RankRecord;
  readonly index: number;
  readonly where: string;
}

/** The text of a labels file, "" if it does not exist; a failure names the file. */
async function readLabelText(path: string): Promise<string> {
  if (!(await pathExists(path))) return "";
  try {
    return await platform().readTextFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read it as a label file (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Checks every line of a label file's text: a malformed line, or two lines where the same labeler ranked the
 * same responses differently, throws naming file:line (both lines for a conflict).
 */
function parseLabelText(text: string, path: string): LabelLine[] {
  const seen = new Map<string, LabelLine>();
  return parseJsonl(text, path, (value, where, _, index) => {
    const record = checkRankRecord(value, where);
    const earlier = seen.get(rankingKey(record));
    if (earlier && orderKey(earlier.record) !== orderKey(record)) {
      throw new Error(
        `${where}: conflicts with ${earlier.where}: the same labeler ranked the same responses of prompt "${record.prompt_id}" differently`,
      );
    }
    const line = { record, index, where };
    if (!earlier) seen.set(rankingKey(record), line);
    return line;
  });
}

/** What makes two rank lists the same list: who ranked, which prompt, the responses in order, the ranks (not the time). */
function rankListKey(l: RankRecord): string {
  return JSON.stringify([l.labeler, l.prompt_id, l.responses, ranksOf(l)]);
}

/**
 * One copy of each rank list, the first one met: a line repeated in a file, or the same list in two
 * files being merged, must count once in training and evaluation, not once per copy.
 */
export function uniqueRankLists<T extends RankRecord>(lists: readonly T[]): T[] {
  const seen = new Set<string>();
  return lists.filter((l) => {
    const key = rankListKey(l);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Reads a labels file (an empty list if it does not exist); a list repeated in the file is returned once.
 *
 * @example
 * ```ts
 * import { loadLabels } from "rlhf";
 * const lists = await loadLabels("data/labels/poetry-zh-simulated.jsonl"); // the bundled simulated rankings
 * lists.length; // 2624 rank lists
 * lists[0].responses.length; // 4 answers, best first
 * ```
 */
export async function loadLabels(path: string): Promise<RankRecord[]> {
  return uniqueRankLists(parseLabelText(await readLabelText(path), path).map((l) => l.record));
}

/** Why a ranking is refused: its labeler already ranked the same item otherwise (at `where`), and how to change a ranking. */
function conflictMessage(r: RankRecord, where: string): string {
  return `${where}: "${r.labeler}" already ranked these responses of prompt "${r.prompt_id}" in another order, so the new ranking is not added` +
    " (to change a ranking, go back to the item in `deno task label` and rank it again: that replaces the earlier line)";
}

/**
 * Appends records to a labels file atomically. Re-appending an identical
 * ranking is a no-op; a conflicting one is refused. Returns how many were added.
 * The file is read and written under its lock, so two processes appending at
 * once (two labelling servers on one file) both keep every line.
 *
 * @example
 * ```ts
 * import { appendLabels, type RankRecord } from "rlhf";
 * const path = `${await Deno.makeTempDir()}/labels.jsonl`;
 * const record: RankRecord = {
 *   prompt_id: "p1",
 *   prompt: [{ role: "user", content: "写诗" }],
 *   responses: ["春风", "秋雨"], // best first
 *   labeler: "ann",
 *   time: new Date().toISOString(),
 *   checkpoint: "sft@3f2a",
 * };
 * await appendLabels(path, [record]); // 1
 * await appendLabels(path, [record]); // 0: that ranking is there already
 * ```
 */
export function appendLabels(path: string, records: readonly RankRecord[]): Promise<number> {
  return withFileLock(path, async () => {
    const before = await readLabelText(path);
    const known = new Map(parseLabelText(before, path).map((l) => [rankingKey(l.record), l]));
    const lines: string[] = [];
    records.forEach((r, i) => {
      const where = `${path}: the ${records.length > 1 ? `ranking number ${i + 1} to add` : "ranking to add"}`;
      checkRankRecord(r, where);
      const earlier = known.get(rankingKey(r));
      if (earlier && orderKey(earlier.record) !== orderKey(r)) throw new Error(conflictMessage(r, earlier.where));
      if (earlier) return; // already there
      known.set(rankingKey(r), { record: r, index: -1, where });
      lines.push(JSON.stringify(r));
    });
    if (lines.length === 0) return 0;
    await writeTextFileAtomic(path, withLinesAppended(before, lines));
    return lines.length;
  });
}

/** Where a labeler's ranking of an item went: the line written, and the labeler's earlier line it replaced (if any). */
export interface SavedRanking {
  readonly line: string;
  readonly replaced?: string;
}

/**
 * Saves a labeler's ranking of an item, the re-rank path of `deno task label`: when the same labeler
 * already ranked the same responses of the same prompt, the new line takes the place of their earlier
 * one (and of any copies of it); otherwise it is appended. Every other line stays byte for byte.
 */
export async function replaceRanking(path: string, record: RankRecord): Promise<SavedRanking> {
  checkRankRecord(record, `${path}: the ranking to save`);
  return await withFileLock(path, async () => {
    const text = await readLabelText(path);
    const line = JSON.stringify(record);
    const earlier = parseLabelText(text, path).filter((l) => rankingKey(l.record) === rankingKey(record)).map((l) => l.index);
    if (earlier.length === 0) {
      await writeTextFileAtomic(path, withLinesAppended(text, [line]));
      return { line };
    }
    const lines = text.split("\n");
    const replaced = lines[earlier[0]];
    lines[earlier[0]] = line;
    const kept = lines.filter((_, i) => !earlier.slice(1).includes(i));
    await writeTextFileAtomic(path, kept.join("\n"));
    return { line, replaced };
  });
}

/**
 * Takes back a ranking saved by `replaceRanking` (undo): its line is removed, or the line it replaced is
 * put back in its place. False when the line is no longer in the file (someone removed it); nothing changes then.
 */
export function withdrawRanking(path: string, saved: SavedRanking): Promise<boolean> {
  return withFileLock(path, async () => {
    const lines = (await readLabelText(path)).split("\n");
    const at = lines.lastIndexOf(saved.line);
    if (at < 0) return false;
    if (saved.replaced === undefined) lines.splice(at, 1);
    else lines[at] = saved.replaced;
    await writeTextFileAtomic(path, lines.join("\n"));
    return true;
  });
}

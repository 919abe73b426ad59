/**
 * Human (or simulated) rankings on disk: data/labels/*.jsonl, one rank list a
 * line. Appends rewrite the file atomically with the old lines kept byte for
 * byte, so nothing already labelled is ever lost, and a crash leaves either
 * the old file or the new one. A malformed line, or two lines where the same
 * labeler ranked the same responses of the same prompt differently, stops
 * with an error naming the file and line.
 */
import { hashText } from "../hash.ts";
import { writeTextFileAtomic } from "../checkpoint/atomic.ts";
import { readJsonl } from "../jsonl.ts";
import { pathExists } from "../fs.ts";
import type { ChatMessage, Role } from "../tokenizer/chat_template.ts";

/** One rank list. */
export interface RankRecord {
  readonly prompt_id: string;
  readonly prompt: readonly ChatMessage[];
  /** The responses, best first. */
  readonly responses: readonly string[];
  /** A person's name, or `simulated:<seed>` / `simulated:<preference>:<seed>`. */
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

/** Validates one record; errors name `where` and the field. */
export function checkRankRecord(value: unknown, where: string): RankRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${where}: expected a JSON object`);
  const r = value as Record<string, unknown>;
  for (const field of ["prompt_id", "labeler", "time", "checkpoint"] as const) {
    if (typeof r[field] !== "string" || (r[field] as string).trim() === "") {
      throw new Error(`${where}: field "${field}" must be a non-empty string`);
    }
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

/** The identity of a ranking task: same prompt, labeler and set of responses. */
function rankingKey(r: RankRecord): string {
  return JSON.stringify([r.prompt_id, r.labeler, [...r.responses].sort()]);
}

/** What a ranking says: the order and the ties. */
function orderKey(r: RankRecord): string {
  return JSON.stringify([r.responses, ranksOf(r)]);
}

/** Reads a labels file (an empty list if it does not exist). */
export async function loadLabels(path: string): Promise<RankRecord[]> {
  if (!(await pathExists(path))) return [];
  const seen = new Map<string, { order: string; line: string }>();
  return await readJsonl(path, (value, where) => {
    const record = checkRankRecord(value, where);
    const key = rankingKey(record);
    const order = orderKey(record);
    const earlier = seen.get(key);
    if (earlier && earlier.order !== order) {
      throw new Error(
        `${where}: conflicts with ${earlier.line}: the same labeler ranked the same responses of prompt "${record.prompt_id}" differently`,
      );
    }
    seen.set(key, { order, line: where });
    return record;
  });
}

/**
 * Appends records to a labels file atomically. Re-appending an identical
 * ranking is a no-op; a conflicting one is refused. Returns how many were added.
 */
export async function appendLabels(path: string, records: readonly RankRecord[]): Promise<number> {
  const existing = await loadLabels(path);
  const known = new Map(existing.map((r) => [rankingKey(r), orderKey(r)]));
  const lines: string[] = [];
  records.forEach((r, i) => {
    checkRankRecord(r, `appendLabels(${path}) record ${i}`);
    const key = rankingKey(r);
    const order = orderKey(r);
    if (known.has(key)) {
      if (known.get(key) !== order) {
        throw new Error(
          `appendLabels(${path}) record ${i}: conflicts with a ranking already in the file (prompt "${r.prompt_id}", labeler "${r.labeler}")`,
        );
      }
      return; // already there
    }
    known.set(key, order);
    lines.push(JSON.stringify(r));
  });
  if (lines.length === 0) return 0;
  const before = (await pathExists(path)) ? await Deno.readTextFile(path) : "";
  const joined = before === "" || before.endsWith("\n") ? before : before + "\n";
  await writeTextFileAtomic(path, joined + lines.join("\n") + "\n");
  return lines.length;
}

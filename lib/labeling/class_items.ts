/**
 * A class session's answers, sampled once: `<labels>.items.json` beside the
 * session's ranking file holds every list (prompt, answers in the order
 * shown, and each answer's gold score), so a restarted session, and every
 * student in it, ranks the same answers.
 */
import { writeJsonAtomic } from "../checkpoint/atomic.ts";
import { pathExists, readJsonFile } from "../fs.ts";
import type { ScoredItem } from "./simulated_class.ts";

/** The items file beside a session's ranking file. */
export function classItemsPath(labelsPath: string): string {
  return `${labelsPath}.items.json`;
}

/** What the items file holds: the checkpoint that sampled the answers, and the lists. */
export interface ClassItems {
  readonly checkpoint: string;
  readonly items: readonly ScoredItem[];
}

/** Writes the session's items (atomically). */
export function saveClassItems(labelsPath: string, value: ClassItems): Promise<void> {
  return writeJsonAtomic(classItemsPath(labelsPath), value);
}

/** The session's items, or undefined when none were saved yet; a malformed file throws naming it. */
export async function loadClassItems(labelsPath: string): Promise<ClassItems | undefined> {
  const path = classItemsPath(labelsPath);
  if (!(await pathExists(path))) return undefined;
  const value = (await readJsonFile(path)) as Partial<ClassItems>;
  const ok = typeof value?.checkpoint === "string" && Array.isArray(value.items) &&
    value.items.every((i) =>
      typeof i?.prompt_id === "string" && Array.isArray(i.prompt) && Array.isArray(i.responses) && Array.isArray(i.gold) &&
      i.gold.length === i.responses.length
    );
  if (!ok) {
    throw new Error(
      `${path}: not a class session's items (expected {"checkpoint", "items": [{"prompt_id", "prompt", "responses", "gold"}]})`,
    );
  }
  return value as ClassItems;
}

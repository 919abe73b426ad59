/** Small file-system helpers shared across lib/. */
import { resolve } from "./platform/path.ts";
import { platform } from "./platform/platform.ts";

/** The repository's root directory (scripts run there; notebooks run in notebooks/). */
const REPO_ROOT = new URL("../", import.meta.url).pathname;

/** A path inside the repository, the same from any working directory (e.g. `repoPath("data/labels")`). */
export function repoPath(path: string): string {
  return resolve(REPO_ROOT, path);
}

/** Whether a file or directory exists. */
export async function pathExists(path: string | URL): Promise<boolean> {
  try {
    await platform().stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads and parses a JSON file; a missing file or bad JSON gives an error that names the file. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await platform().readTextFile(path);
  } catch (err) {
    if (platform().isNotFound(err)) throw new Error(`${path}: file not found`);
    throw new Error(`${path}: cannot read (${(err as Error).message})`);
  }
  return parseJsonText(text, path);
}

/** JSON.parse whose error names the file it came from. */
export function parseJsonText(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
}

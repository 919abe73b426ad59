/**
 * Atomic file writes: write a temporary file in the same directory, flush it
 * to disk, then rename it over the target. A crash or Ctrl-C at any moment
 * leaves either the old file or the new one, never half of one.
 */
import { dirname, join } from "../platform/path.ts";
import { platform } from "../platform/platform.ts";
import { tempTag } from "../platform/temp_tag.ts";

/**
 * Writes `data` to `path` atomically, creating parent directories. Temporary files of earlier writers of
 * `path` that died before their rename are removed first. A failure (disk full, read-only, …) names `path`.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "rlhf";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/run/weights.bin`, new Uint8Array([1, 2, 3])); // a crash leaves the old file or the new one
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${platform().pid}-${tempTag()}`);
  try {
    await platform().mkdir(dirname(path), { recursive: true });
    await removeStaleTempFiles(path);
    await writeSynced(tmp, data);
    await platform().rename(tmp, path); // the bytes are on disk before the rename makes them visible
  } catch (err) {
    await platform().remove(tmp).catch(() => {});
    throw new Error(`${path}: could not write it (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Removes `.<name>.tmp-<pid>-*` files beside `path` left by writers that are gone: a process that no
 * longer exists (Linux: no /proc/<pid>), or elsewhere a file untouched for an hour. A live writer's
 * file is left alone.
 */
export async function removeStaleTempFiles(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.tmp-`;
  const removed: string[] = [];
  for await (const entry of platform().readDir(dirname(path))) {
    if (!entry.name.startsWith(prefix)) continue;
    const pid = Number(entry.name.slice(prefix.length).split("-")[0]);
    const file = join(dirname(path), entry.name);
    if (await writerAlive(pid, file)) continue;
    await platform().remove(file).catch(() => {});
    removed.push(file);
  }
  return removed;
}

/**
 * Whether the writer that made `path` (a temporary file or directory named with its PID) may still be using it:
 * this process, or (Linux) a process that exists, or (elsewhere, no cheap way to ask) a path touched within the
 * last hour. The one rule for every cleanup of leftovers, so that no reader or writer removes a live writer's
 * files. A reused PID only keeps a leftover longer, never removes a live one.
 */
export async function writerAlive(pid: number, path: string): Promise<boolean> {
  if (pid === platform().pid) return true;
  if (platform().os === "linux") {
    try {
      await platform().stat(`/proc/${pid}`);
      return true;
    } catch {
      return false;
    }
  }
  const mtime = (await platform().stat(path).catch(() => undefined))?.mtime?.getTime() ?? 0;
  return Date.now() - mtime < 3_600_000;
}

/** Writes a new file and flushes it to disk (not atomic by itself: callers rename it into place). */
export async function writeSynced(path: string, data: Uint8Array): Promise<void> {
  const file = await platform().open(path, { write: true, createNew: true });
  try {
    let written = 0;
    while (written < data.length) written += await file.write(data.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
}

/**
 * Writes UTF-8 `text` to `path` atomically.
 *
 * @example
 * ```ts
 * import { writeTextFileAtomic } from "rlhf";
 * const dir = await Deno.makeTempDir();
 * await writeTextFileAtomic(`${dir}/samples.txt`, "床前明月光\n");
 * ```
 */
export function writeTextFileAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}

/**
 * Writes `value` as pretty JSON (with a final newline) to `path` atomically.
 *
 * @example
 * ```ts
 * import { writeJsonAtomic } from "rlhf";
 * const dir = await Deno.makeTempDir();
 * await writeJsonAtomic(`${dir}/state.json`, { step: 10 }); // "{\n  \"step\": 10\n}\n"
 * ```
 */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeTextFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

function basename(path: string): string {
  return path.split("/").pop() ?? path;
}

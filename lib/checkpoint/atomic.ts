/**
 * Atomic file writes: write a temporary file in the same directory, flush it
 * to disk, then rename it over the target. A crash or Ctrl-C at any moment
 * leaves either the old file or the new one, never half of one.
 */
import { dirname, join } from "node:path";

/** Writes `data` to `path` atomically, creating parent directories. */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  try {
    await writeSynced(tmp, data);
    await Deno.rename(tmp, path); // the bytes are on disk before the rename makes them visible
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Writes a new file and flushes it to disk (not atomic by itself: callers rename it into place). */
export async function writeSynced(path: string, data: Uint8Array): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    let written = 0;
    while (written < data.length) written += await file.write(data.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
}

/** Writes UTF-8 `text` to `path` atomically. */
export function writeTextFileAtomic(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text));
}

/** Writes `value` as pretty JSON (with a final newline) to `path` atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeTextFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

function basename(path: string): string {
  return path.split("/").pop() ?? path;
}

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
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let written = 0;
      while (written < data.length) written += await file.write(data.subarray(written));
      await file.sync(); // the bytes are on disk before the rename makes them visible
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
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

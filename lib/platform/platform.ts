/**
 * The platform the library uses right now. Under Deno it is the Deno
 * implementation (lib/platform/deno.ts, loaded by a dynamic import that only
 * runs under Deno, so a browser bundle never evaluates it); anywhere else a
 * fresh memory platform (lib/platform/memory.ts). `usePlatform` swaps it, for
 * a test or a page that brings its own files.
 */
import { memoryPlatform } from "./memory.ts";
import type { Platform } from "./types.ts";

export type { DirEntry, FileInfo, MemoryUsage, OpenFile, OpenOptions, Platform } from "./types.ts";

const underDeno = globalThis.navigator?.userAgent?.startsWith("Deno/") ?? false;
let current: Platform = underDeno ? (await import("./deno.ts")).denoPlatform : memoryPlatform();

/**
 * The platform in use: every file, environment and process call of lib/ goes through it.
 *
 * @example
 * ```ts
 * import { platform } from "rlhf";
 * console.log(platform().name); // "deno" under Deno, "memory" in a browser
 * const text = await platform().readTextFile("models/gpt2-poetry-zh/config.json");
 * ```
 */
export function platform(): Platform {
  return current;
}

/**
 * Makes `next` the platform in use and returns the one it replaces (to put back).
 *
 * @example
 * ```ts
 * import { memoryPlatform, platform, usePlatform } from "rlhf";
 * const previous = usePlatform(memoryPlatform());
 * try {
 *   await platform().writeTextFile("/notes.txt", "in memory only");
 * } finally {
 *   usePlatform(previous);
 * }
 * ```
 */
export function usePlatform(next: Platform): Platform {
  const previous = current;
  current = next;
  return previous;
}

/**
 * POSIX paths without node:path (which a browser lacks): the five functions
 * lib/ uses, with node:path's results (tests/platform_path_test.ts compares
 * them on a table of cases). A relative `resolve` starts from the platform's
 * working directory.
 */
import { platform } from "./platform.ts";

function normalizeParts(path: string): string {
  const absolute = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
    else if (part !== ".." || !absolute) parts.push(part);
  }
  const joined = parts.join("/");
  return absolute ? "/" + joined : joined || ".";
}

/** The segments joined with "/" and normalised ("a/b/../c" → "a/c"); "." when empty. */
export function join(...segments: string[]): string {
  const path = segments.filter((s) => s !== "").join("/");
  if (path === "") return ".";
  const normal = normalizeParts(path);
  return path.endsWith("/") && normal !== "/" ? normal + "/" : normal;
}

/** The absolute path of the segments, read right to left until one is absolute, else from the working directory. */
export function resolve(...segments: string[]): string {
  let path = "";
  for (let i = segments.length - 1; i >= 0 && !path.startsWith("/"); i--) {
    if (segments[i] !== "") path = path === "" ? segments[i] : `${segments[i]}/${path}`;
  }
  if (!path.startsWith("/")) path = path === "" ? platform().cwd() : `${platform().cwd()}/${path}`;
  return normalizeParts(path);
}

/** The directory part: "/a/b" → "/a", "a" → ".", "/a" → "/". */
export function dirname(path: string): string {
  if (path === "") return ".";
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  const slash = trimmed.lastIndexOf("/");
  if (slash < 0) return ".";
  const dir = trimmed.slice(0, slash); // node:path keeps the other slashes of "/a//b": "/a/"
  return dir === "" ? "/" : dir;
}

/** The last segment: "/a/b.txt" → "b.txt" (a trailing "/" is ignored). */
export function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

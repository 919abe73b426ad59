/**
 * A platform with no system under it: files and directories live in Maps of
 * this process, so the library runs in a browser tab (and tests run without
 * touching the disk). Paths are POSIX; the working directory is "/". Errors
 * follow Deno's: a missing path throws a `NotFound` error (`isNotFound`), an
 * existing one where a new one is asked an `AlreadyExists`. Locks are held
 * within this process only, which is all a single page has.
 */
import type { DirEntry, FileInfo, OpenFile, OpenOptions, Platform } from "./types.ts";

/** What a memory platform starts with. */
export interface MemoryPlatformOptions {
  /** Files to create, path → text or bytes (their directories are made too). @default {} */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  /** Environment variables. @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** Where standard output goes. @default kept in memory (`MemoryPlatform.stdout`) */
  readonly onStdout?: (text: string) => void;
}

/** The memory platform, plus what was written to its standard output. */
export interface MemoryPlatform extends Platform {
  /** Every text written to standard output, in order (when no `onStdout` was given). */
  readonly stdout: readonly string[];
}

function systemError(name: "NotFound" | "AlreadyExists" | "NotADirectory" | "IsADirectory" | "DirectoryNotEmpty", message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

/**
 * "/a/b" for "a/b", "/a/./b/", "/a/c/../b" or file:///a/b. Not lib/platform/path.ts's resolve: that one asks platform() for
 * the working directory, and platform.ts imports this file.
 */
function normalize(path: string | URL): string {
  const raw = path instanceof URL ? decodeURIComponent(path.pathname) : path;
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

function parentOf(path: string): string {
  return path === "/" ? "/" : path.slice(0, path.lastIndexOf("/")) || "/";
}

/** `f()`'s value, or its error, as a settled promise (the asynchronous calls of the platform). */
function later<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err);
  }
}

interface FileNode {
  data: Uint8Array<ArrayBuffer>;
  mtime: Date;
}

/**
 * A new platform whose filesystem is empty but for `options.files` (and "/" and "/tmp").
 *
 * @example
 * ```ts
 * import { memoryPlatform, platform, usePlatform } from "rlhf";
 * const previous = usePlatform(memoryPlatform({ files: { "/data/a.txt": "床前明月光" } }));
 * console.log(await platform().readTextFile("/data/a.txt")); // "床前明月光"
 * usePlatform(previous);
 * ```
 */
export function memoryPlatform(options: MemoryPlatformOptions = {}): MemoryPlatform {
  const files = new Map<string, FileNode>();
  const dirs = new Map<string, Date>([["/", new Date()], ["/tmp", new Date()]]);
  const locks = new Map<string, OpenFile>();
  const waiting = new Map<string, (() => void)[]>();
  const stdout: string[] = [];
  let temps = 0;

  const fileOf = (path: string, op: string): FileNode => {
    const node = files.get(path);
    if (node) return node;
    if (dirs.has(path)) throw systemError("IsADirectory", `Is a directory: ${op} '${path}'`);
    throw systemError("NotFound", `No such file or directory: ${op} '${path}'`);
  };
  const needParent = (path: string, op: string) => {
    if (!dirs.has(parentOf(path))) throw systemError("NotFound", `No such file or directory: ${op} '${path}'`);
  };
  const putFile = (path: string, data: Uint8Array<ArrayBuffer>, op: string) => {
    if (dirs.has(path)) throw systemError("IsADirectory", `Is a directory: ${op} '${path}'`);
    needParent(path, op);
    files.set(path, { data, mtime: new Date() });
  };
  const makeDir = (raw: string | URL, recursive: boolean) => {
    const path = normalize(raw);
    if (files.has(path)) throw systemError("AlreadyExists", `File exists: mkdir '${path}'`);
    if (dirs.has(path)) {
      if (recursive) return;
      throw systemError("AlreadyExists", `File exists: mkdir '${path}'`);
    }
    if (!dirs.has(parentOf(path))) {
      if (!recursive) throw systemError("NotFound", `No such file or directory: mkdir '${path}'`);
      makeDir(parentOf(path), true);
    }
    dirs.set(path, new Date());
  };
  const children = (raw: string | URL, op: string): DirEntry[] => {
    const path = normalize(raw);
    if (!dirs.has(path)) {
      if (files.has(path)) throw systemError("NotADirectory", `Not a directory: ${op} '${path}'`);
      throw systemError("NotFound", `No such file or directory: ${op} '${path}'`);
    }
    const inside = (p: string) => p !== path && parentOf(p) === path;
    const name = (p: string) => p.slice(p.lastIndexOf("/") + 1);
    return [
      ...[...dirs.keys()].filter(inside).map((p) => ({ name: name(p), isFile: false, isDirectory: true })),
      ...[...files.keys()].filter(inside).map((p) => ({ name: name(p), isFile: true, isDirectory: false })),
    ];
  };
  const statOf = (raw: string | URL): FileInfo => {
    const path = normalize(raw);
    const file = files.get(path);
    if (file) return { isFile: true, isDirectory: false, size: file.data.length, mtime: file.mtime };
    const dir = dirs.get(path);
    if (dir) return { isFile: false, isDirectory: true, size: 0, mtime: dir };
    throw systemError("NotFound", `No such file or directory: stat '${path}'`);
  };
  const under = (path: string) => (p: string) => p === path || p.startsWith(path + "/");

  const openFile = (path: string, node: FileNode): OpenFile => {
    let position = 0;
    let open = true;
    const release = () => {
      if (locks.get(path) !== handle) return;
      locks.delete(path);
      waiting.get(path)?.shift()?.();
    };
    const handle: OpenFile = {
      read: (into) => {
        if (position >= node.data.length) return Promise.resolve(into.length === 0 ? 0 : null);
        const n = Math.min(into.length, node.data.length - position);
        into.set(node.data.subarray(position, position + n));
        position += n;
        return Promise.resolve(n);
      },
      write: (data) => {
        const end = position + data.length;
        if (end > node.data.length) {
          const grown = new Uint8Array(end);
          grown.set(node.data);
          node.data = grown;
        }
        node.data.set(data, position);
        node.mtime = new Date();
        position = end;
        return Promise.resolve(data.length);
      },
      seekTo: (to) => {
        position = to;
        return Promise.resolve();
      },
      sync: () => Promise.resolve(),
      stat: () => later(() => statOf(path)),
      truncate: (length) => {
        node.data = node.data.slice(0, length);
        return Promise.resolve();
      },
      lock: async () => {
        while (locks.has(path) && locks.get(path) !== handle) {
          await new Promise<void>((wake) => waiting.set(path, [...(waiting.get(path) ?? []), wake]));
        }
        locks.set(path, handle);
      },
      tryLock: () => {
        if (locks.has(path) && locks.get(path) !== handle) return Promise.resolve(false);
        locks.set(path, handle);
        return Promise.resolve(true);
      },
      close: () => {
        if (!open) throw systemError("NotFound", `Bad resource ID: close '${path}'`);
        open = false;
        release();
      },
    };
    return handle;
  };

  const writeText = (raw: string, text: string, append: boolean) => {
    const path = normalize(raw);
    const bytes = new TextEncoder().encode(text);
    const old = append ? files.get(path)?.data : undefined;
    putFile(path, old ? new Uint8Array([...old, ...bytes]) : bytes, "writefile");
  };
  const open = (raw: string, opts: OpenOptions): OpenFile => {
    const path = normalize(raw);
    const existing = files.get(path);
    if (opts.createNew && (existing || dirs.has(path))) throw systemError("AlreadyExists", `File exists: open '${path}'`);
    if (!existing && !(opts.create || opts.createNew)) fileOf(path, "open");
    if (!existing) putFile(path, new Uint8Array(0), "open");
    return openFile(path, files.get(path)!);
  };
  const remove = (raw: string | URL, recursive: boolean) => {
    const path = normalize(raw);
    if (files.delete(path)) return;
    if (!dirs.has(path) || path === "/") throw systemError("NotFound", `No such file or directory: remove '${path}'`);
    const inside = [...dirs.keys(), ...files.keys()].filter((p) => p !== path && under(path)(p));
    if (inside.length > 0 && !recursive) throw systemError("DirectoryNotEmpty", `Directory not empty: remove '${path}'`);
    for (const p of inside) {
      files.delete(p);
      dirs.delete(p);
    }
    dirs.delete(path);
  };
  const rename = (rawFrom: string, rawTo: string) => {
    const [from, to] = [normalize(rawFrom), normalize(rawTo)];
    const file = files.get(from);
    if (file) {
      putFile(to, file.data, "rename");
      files.delete(from);
      return;
    }
    if (!dirs.has(from)) throw systemError("NotFound", `No such file or directory: rename '${from}' -> '${to}'`);
    needParent(to, "rename");
    if (files.has(to) || [...dirs.keys(), ...files.keys()].some((p) => p !== to && under(to)(p))) {
      throw systemError("DirectoryNotEmpty", `Directory not empty: rename '${from}' -> '${to}'`);
    }
    const move = (p: string) => to + p.slice(from.length);
    for (const [p, d] of [...dirs].filter(([p]) => under(from)(p))) {
      dirs.delete(p);
      dirs.set(move(p), d);
    }
    for (const [p, f] of [...files].filter(([p]) => under(from)(p))) {
      files.delete(p);
      files.set(move(p), f);
    }
  };
  const makeTempDir = (prefix: string) => {
    const path = `/tmp/${prefix}${(++temps).toString(36).padStart(6, "0")}`;
    makeDir(path, false);
    return path;
  };

  const self: MemoryPlatform = {
    name: "memory",
    pid: 1,
    os: "browser",
    arch: "wasm",
    stdout,
    env: (name) => options.env?.[name],
    cwd: () => "/",
    readTextFile: (path) => later(() => new TextDecoder().decode(fileOf(normalize(path), "readfile").data)),
    readTextFileSync: (path) => new TextDecoder().decode(fileOf(normalize(path), "readfile").data),
    readFile: (path) => later(() => fileOf(normalize(path), "readfile").data.slice()),
    writeTextFile: (path, text, opts) => later(() => writeText(path, text, opts?.append ?? false)),
    writeFile: (path, data) => later(() => putFile(normalize(path), data.slice(), "writefile")),
    open: (path, opts) => later(() => open(path, opts)),
    mkdir: (path, opts) => later(() => makeDir(path, opts?.recursive ?? false)),
    mkdirSync: (path, opts) => makeDir(path, opts?.recursive ?? false),
    remove: (path, opts) => later(() => remove(path, opts?.recursive ?? false)),
    rename: (from, to) => later(() => rename(from, to)),
    stat: (path) => later(() => statOf(path)),
    statSync: statOf,
    readDir: async function* (path) {
      yield* children(path, "readdir");
    },
    readDirSync: (path) => children(path, "readdir"),
    makeTempDir: (opts) => later(() => makeTempDir(opts?.prefix ?? "")),
    isNotFound: (err) => err instanceof Error && err.name === "NotFound",
    memoryUsage: () => {
      const heap = (performance as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0;
      return { rss: heap, heapUsed: heap };
    },
    writeStdout: (text) => (options.onStdout ? options.onStdout(text) : stdout.push(text)),
    stdoutIsTerminal: () => false,
  };
  for (const [path, content] of Object.entries(options.files ?? {})) {
    makeDir(parentOf(normalize(path)), true);
    putFile(normalize(path), typeof content === "string" ? new TextEncoder().encode(content) : content.slice(), "writefile");
  }
  return self;
}

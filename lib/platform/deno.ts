/**
 * The platform under Deno: each method is the Deno call of the same name, so
 * errors and their messages are Deno's own. `platform()` uses it by default
 * when the library runs under Deno.
 */
import type { DirEntry, FileInfo, OpenFile, OpenOptions, Platform } from "./types.ts";

function openFile(file: Deno.FsFile): OpenFile {
  return {
    read: (into) => file.read(into),
    write: (data) => file.write(data),
    seekTo: async (position) => {
      await file.seek(position, Deno.SeekMode.Start);
    },
    stat: async () => fileInfo(await file.stat()),
    sync: () => file.sync(),
    truncate: (length) => file.truncate(length),
    lock: () => file.lock(true),
    tryLock: () => file.tryLock(true),
    close: () => file.close(),
  };
}

const fileInfo = (info: Deno.FileInfo): FileInfo => info;
const dirEntry = (entry: Deno.DirEntry): DirEntry => entry;

async function* readDir(path: string | URL): AsyncIterable<DirEntry> {
  for await (const entry of Deno.readDir(path)) yield dirEntry(entry);
}

/** The Deno implementation of every platform call. */
export const denoPlatform: Platform = {
  name: "deno",
  get pid() {
    return Deno.pid;
  },
  os: Deno.build.os,
  arch: Deno.build.arch,
  env: (name) => Deno.env.get(name),
  cwd: () => Deno.cwd(),
  readTextFile: (path) => Deno.readTextFile(path),
  readTextFileSync: (path) => Deno.readTextFileSync(path),
  readFile: (path) => Deno.readFile(path),
  writeTextFile: (path, text, options) => Deno.writeTextFile(path, text, options),
  writeFile: (path, data) => Deno.writeFile(path, data),
  open: async (path, options: OpenOptions) => openFile(await Deno.open(path, options)),
  mkdir: (path, options) => Deno.mkdir(path, options),
  mkdirSync: (path, options) => Deno.mkdirSync(path, options),
  remove: (path, options) => Deno.remove(path, options),
  rename: (from, to) => Deno.rename(from, to),
  stat: async (path) => fileInfo(await Deno.stat(path)),
  statSync: (path) => fileInfo(Deno.statSync(path)),
  readDir,
  readDirSync: (path) => [...Deno.readDirSync(path)].map(dirEntry),
  makeTempDir: (options) => Deno.makeTempDir(options),
  isNotFound: (err) => err instanceof Deno.errors.NotFound,
  memoryUsage: () => Deno.memoryUsage(),
  writeStdout: (text) => {
    Deno.stdout.writeSync(new TextEncoder().encode(text));
  },
  stdoutIsTerminal: () => Deno.stdout.isTerminal(),
};

/**
 * What the library asks of the system it runs on: files, a few facts about
 * the process and the machine, and the terminal. `lib/platform/deno.ts`
 * answers with Deno's calls; `lib/platform/memory.ts` with a filesystem held
 * in a Map, for a browser tab or a test. Code outside lib/platform reaches
 * them through `platform()` (lib/platform/platform.ts), never through `Deno`.
 */

/** What `stat` says of a path. */
export interface FileInfo {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  /** Bytes (0 for a directory). */
  readonly size: number;
  /** Last modification, or null where the system does not say. */
  readonly mtime: Date | null;
}

/** One entry of a directory listing. */
export interface DirEntry {
  readonly name: string;
  readonly isFile: boolean;
  readonly isDirectory: boolean;
}

/** How `open` opens a file (Deno's names): at least one of read and write. */
export interface OpenOptions {
  readonly read?: boolean;
  readonly write?: boolean;
  /** Create the file if it is missing. */
  readonly create?: boolean;
  /** Create the file, failing if it exists. */
  readonly createNew?: boolean;
}

/** An open file: reads and writes at a position, flushing, and the advisory lock (flock) that dies with its holder. */
export interface OpenFile {
  /** Reads into `into` from the position; the number of bytes read, null at the end of the file. */
  read(into: Uint8Array): Promise<number | null>;
  /** Writes at the position; the number of bytes written (may be fewer than given). */
  write(data: Uint8Array): Promise<number>;
  /** Moves the position to `position` bytes from the start. */
  seekTo(position: number): Promise<void>;
  /** What `stat` says of the open file. */
  stat(): Promise<FileInfo>;
  /** Flushes the file's data and metadata to the disk. */
  sync(): Promise<void>;
  /** Cuts the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  /** Waits for the exclusive lock. */
  lock(): Promise<void>;
  /** Takes the exclusive lock if nobody holds it; false otherwise. */
  tryLock(): Promise<boolean>;
  /** Closes the file (and drops its lock). */
  close(): void;
}

/** Memory of this process in bytes. */
export interface MemoryUsage {
  /** Resident set size (the browser: the JavaScript heap, the closest it tells). */
  readonly rss: number;
  readonly heapUsed: number;
}

/** The system calls of the library, one implementation per runtime. */
export interface Platform {
  /** "deno" or "memory". */
  readonly name: string;
  /** This process's id (a browser tab: 1). */
  readonly pid: number;
  /** "linux", "darwin", "windows", … or "browser". */
  readonly os: string;
  /** "x86_64", "aarch64", … or "wasm" in a browser. */
  readonly arch: string;
  /** The value of an environment variable, undefined when unset (a browser has none unless a test sets them). */
  env(name: string): string | undefined;
  /** The working directory, which relative paths start from. */
  cwd(): string;
  readTextFile(path: string | URL): Promise<string>;
  readTextFileSync(path: string | URL): string;
  readFile(path: string | URL): Promise<Uint8Array<ArrayBuffer>>;
  /** Writes (or with `append`, adds to) a UTF-8 file, creating it. */
  writeTextFile(path: string, text: string, options?: { append?: boolean }): Promise<void>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  open(path: string, options: OpenOptions): Promise<OpenFile>;
  mkdir(path: string | URL, options?: { recursive?: boolean }): Promise<void>;
  mkdirSync(path: string | URL, options?: { recursive?: boolean }): void;
  /** Removes a file or an empty directory; with `recursive`, a directory and everything in it. */
  remove(path: string | URL, options?: { recursive?: boolean }): Promise<void>;
  /** Moves a file or directory, replacing a file at `to`. */
  rename(from: string, to: string): Promise<void>;
  stat(path: string | URL): Promise<FileInfo>;
  statSync(path: string | URL): FileInfo;
  readDir(path: string | URL): AsyncIterable<DirEntry>;
  readDirSync(path: string | URL): Iterable<DirEntry>;
  /** Creates a new empty directory under the system's temporary directory and returns its path. */
  makeTempDir(options?: { prefix?: string }): Promise<string>;
  /** Whether `err` says that a path does not exist (Deno.errors.NotFound, or the memory platform's). */
  isNotFound(err: unknown): boolean;
  memoryUsage(): MemoryUsage;
  /** Writes text to standard output as it is (no newline added). */
  writeStdout(text: string): void;
  /** Whether standard output is a terminal (progress bars redraw in place there). */
  stdoutIsTerminal(): boolean;
}

/**
 * One writer at a time for a file or directory that several processes share
 * (a label file two labelling servers append to, a checkpoint root two runs
 * could write). The lock is an advisory `flock` on `.<name>.lock` beside the
 * shared path: the operating system releases it when the holder closes it or
 * dies, so a killed process never leaves a lock that blocks the next one.
 * The lock file itself stays (removing it would let two processes lock two
 * different files of the same name).
 */
import { basename, dirname, join } from "./platform/path.ts";
import { type OpenFile, platform } from "./platform/platform.ts";

/** The lock file that guards `path`: `.<name>.lock` in the same directory. */
export function lockPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.lock`);
}

/** A held lock; `release()` lets the next writer in (closing is idempotent). */
export interface HeldLock {
  readonly path: string;
  release(): void;
}

async function openLockFile(path: string): Promise<OpenFile> {
  const lockPath = lockPathFor(path);
  try {
    await platform().mkdir(dirname(lockPath), { recursive: true });
    return await platform().open(lockPath, { create: true, write: true });
  } catch (err) {
    throw new Error(`${lockPath}: cannot open the lock file (${(err as Error).message})`, { cause: err });
  }
}

function held(file: OpenFile, path: string): HeldLock {
  let open = true;
  return {
    path: lockPathFor(path),
    release: () => {
      if (open) file.close(); // closing the descriptor drops the flock
      open = false;
    },
  };
}

/** Waits for the exclusive lock on `path`, runs `change`, then releases the lock (also when `change` throws). */
export async function withFileLock<T>(path: string, change: () => Promise<T>): Promise<T> {
  const file = await openLockFile(path);
  const lock = held(file, path);
  try {
    await file.lock();
    return await change();
  } finally {
    lock.release();
  }
}

/**
 * Takes the exclusive lock on `path` if nobody holds it, and writes this process's id into the lock file
 * (for `lockHolder`); undefined when another holder has it.
 */
export async function tryLockFile(path: string): Promise<HeldLock | undefined> {
  const file = await openLockFile(path);
  if (!(await file.tryLock())) {
    file.close();
    return undefined;
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${platform().pid}\n`));
  return held(file, path);
}

/**
 * Takes the exclusive lock on `path`, or throws the error `refusal` words from the process id its holder
 * wrote (undefined when it cannot be read): the one way a second writer is turned away.
 */
export async function lockOrRefuse(path: string, refusal: (holder: number | undefined) => string): Promise<HeldLock> {
  const lock = await tryLockFile(path);
  if (lock) return lock;
  throw new Error(refusal(await lockHolder(path)));
}

/** The process id that the holder of `path`'s lock wrote (tryLockFile), if it can be read. */
async function lockHolder(path: string): Promise<number | undefined> {
  const text = await platform().readTextFile(lockPathFor(path)).catch(() => "");
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

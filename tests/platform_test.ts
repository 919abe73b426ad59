/**
 * lib/platform: the memory platform behaves as Deno does where the library depends on it (missing paths,
 * createNew, renames, listings, recursive removal), and the library's file guarantees hold on it: atomic
 * writes replace whole files and leave no temporary file, a second lock holder is refused, JSON errors name
 * the file. Each test installs a fresh memory platform and puts Deno's back.
 */
import { type MemoryPlatform, memoryPlatform } from "../lib/platform/memory.ts";
import { platform, usePlatform } from "../lib/platform/platform.ts";
import { writeJsonAtomic, writeTextFileAtomic } from "../lib/checkpoint/atomic.ts";
import { lockOrRefuse, tryLockFile, withFileLock } from "../lib/file_lock.ts";
import { pathExists, readJsonFile } from "../lib/fs.ts";
import { ProgressBar } from "../lib/train/progress.ts";
import { assert } from "./helpers.ts";

/** Runs `body` with a fresh memory platform installed. */
async function onMemory(body: (p: MemoryPlatform) => Promise<void>, files: Record<string, string> = {}): Promise<void> {
  const memory = memoryPlatform({ files, env: { RLHF_TEST: "1" } });
  const previous = usePlatform(memory);
  try {
    await body(memory);
  } finally {
    usePlatform(previous);
  }
}

Deno.test("platform(): Deno's under Deno; usePlatform() swaps it and gives back the previous one", async () => {
  assert.equal(platform().name, "deno");
  assert.equal(platform().pid, Deno.pid);
  await onMemory(async () => {
    assert.equal(platform().name, "memory");
    assert.equal(platform().env("RLHF_TEST"), "1");
    assert.equal(await pathExists("/etc/hostname"), false); // the disk is not seen
  });
  assert.equal(platform().name, "deno");
});

Deno.test("memory platform: files, directories, listings, renames and removal as Deno does them", async () => {
  await onMemory(async (p) => {
    assert.equal(await p.readTextFile("/data/a.txt"), "床前明月光");
    await assert.rejects(() => p.readTextFile("/data/missing.txt"), (err) => p.isNotFound(err));
    await assert.rejects(() => p.writeTextFile("/no/such/dir/x", "x"), (err) => p.isNotFound(err)); // no parent made
    await p.mkdir("/data/sub/deep", { recursive: true });
    await assert.rejects(() => p.mkdir("/data/sub"), /File exists/);
    await p.writeTextFile("/data/sub/b.txt", "a");
    await p.writeTextFile("/data/sub/b.txt", "b", { append: true });
    assert.equal(p.readTextFileSync("/data/sub/b.txt"), "ab");
    await assert.rejects(() => p.open("/data/sub/b.txt", { write: true, createNew: true }), /File exists/);
    const names = async (dir: string) => (await Array.fromAsync(p.readDir(dir))).map((e) => `${e.name}${e.isDirectory ? "/" : ""}`).sort();
    assert.deepEqual(await names("/data"), ["a.txt", "sub/"]);
    assert.deepEqual(await names("/data/sub"), ["b.txt", "deep/"]);
    assert.equal((await p.stat("/data/sub/b.txt")).size, 2);
    await p.rename("/data/sub", "/data/moved");
    assert.deepEqual(await names("/data/moved"), ["b.txt", "deep/"]);
    assert.equal(await pathExists("/data/sub"), false);
    await assert.rejects(() => p.remove("/data/moved"), /not empty/);
    await p.remove("/data/moved", { recursive: true });
    assert.deepEqual(await names("/data"), ["a.txt"]);
    const temp = await p.makeTempDir({ prefix: "rlhf-" });
    assert.ok(temp.startsWith("/tmp/rlhf-") && (await p.stat(temp)).isDirectory);
  }, { "/data/a.txt": "床前明月光" });
});

Deno.test("memory platform: an open file reads, writes, seeks and truncates", async () => {
  await onMemory(async (p) => {
    const file = await p.open("/f.bin", { read: true, write: true, create: true });
    assert.equal(await file.write(new Uint8Array([1, 2, 3, 4])), 4);
    await file.seekTo(1);
    const into = new Uint8Array(2);
    assert.equal(await file.read(into), 2);
    assert.deepEqual([...into], [2, 3]);
    await file.truncate(3);
    assert.equal((await file.stat()).size, 3);
    await file.seekTo(3);
    assert.equal(await file.read(into), null);
    file.close();
    assert.deepEqual([...(await p.readFile("/f.bin"))], [1, 2, 3]);
  });
});

Deno.test("on the memory platform: atomic writes, locks, JSON errors and the progress bar work as on disk", async () => {
  await onMemory(async (p) => {
    await writeJsonAtomic("/run/state.json", { step: 1 });
    await writeTextFileAtomic("/run/state.json", '{"step": 2}');
    assert.deepEqual(await readJsonFile("/run/state.json"), { step: 2 });
    assert.deepEqual((await Array.fromAsync(p.readDir("/run"))).map((e) => e.name), ["state.json"]); // no temporary file left
    await assert.rejects(() => readJsonFile("/run/none.json"), { message: "/run/none.json: file not found" });
    await p.writeTextFile("/run/bad.json", "{");
    await assert.rejects(() => readJsonFile("/run/bad.json"), /^Error: \/run\/bad\.json: not valid JSON/);

    const first = await tryLockFile("/run/labels.jsonl");
    assert.ok(first);
    assert.equal(await tryLockFile("/run/labels.jsonl"), undefined);
    await assert.rejects(() => lockOrRefuse("/run/labels.jsonl", (pid) => `held by ${pid}`), { message: "held by 1" });
    const order: string[] = [];
    const waiting = withFileLock("/run/labels.jsonl", () => Promise.resolve(order.push("second")));
    order.push("first");
    first.release();
    await waiting;
    assert.deepEqual(order, ["first", "second"]);

    const bar = new ProgressBar({ total: 2, label: "train", now: () => 0 });
    bar.update(2);
    bar.finish();
    assert.ok(p.stdout.join("").includes("train ["), p.stdout.join(""));
  });
});

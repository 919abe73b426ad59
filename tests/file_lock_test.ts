import { assert } from "./helpers.ts";
import { lockPathFor, tryLockFile, withFileLock } from "../lib/file_lock.ts";

Deno.test("tryLockFile(): a second holder is refused until the first releases; a dead holder's lock is free", async () => {
  const dir = await Deno.makeTempDir();
  const shared = `${dir}/labels.jsonl`;
  const first = await tryLockFile(shared);
  assert.ok(first);
  assert.equal(first.path, lockPathFor(shared));
  assert.equal(await tryLockFile(shared), undefined);
  first.release();
  const again = await tryLockFile(shared);
  assert.ok(again);
  again.release();
  // Another process takes the lock and is killed while holding it: the OS drops the lock with it.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const f = await Deno.open(${
        JSON.stringify(lockPathFor(shared))
      }, { write: true }); await f.lock(true); console.log("held"); setInterval(() => {}, 1000);`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read(); // "held"
  assert.equal(await tryLockFile(shared), undefined, "the child holds it");
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  const afterKill = await tryLockFile(shared);
  assert.ok(afterKill, "a killed holder's lock is free");
  afterKill.release();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("withFileLock(): changes run one at a time and the lock is released when one throws", async () => {
  const dir = await Deno.makeTempDir();
  const shared = `${dir}/x`;
  const order: string[] = [];
  const slow = withFileLock(shared, async () => {
    order.push("a start");
    await new Promise((r) => setTimeout(r, 50));
    order.push("a end");
  });
  await new Promise((r) => setTimeout(r, 10));
  const fast = withFileLock(shared, () => {
    order.push("b");
    return Promise.resolve();
  });
  await Promise.all([slow, fast]);
  assert.deepEqual(order, ["a start", "a end", "b"]);
  await assert.rejects(withFileLock(shared, () => Promise.reject(new Error("boom"))), /boom/);
  const lock = await tryLockFile(shared);
  assert.ok(lock, "released after the throw");
  lock.release();
  await Deno.remove(dir, { recursive: true });
});

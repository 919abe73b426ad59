/** Atomic writes: stale temporary files of dead writers are cleaned up, and a failed write names its path. */
import { removeStaleTempFiles, writeFileAtomic, writeJsonAtomic } from "../lib/checkpoint/atomic.ts";
import { assert } from "./helpers.ts";

Deno.test("writeFileAtomic() removes the temp files of writers that died before their rename, and keeps a live writer's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dead = `${dir}/.labels.jsonl.tmp-999999999-abcd1234`; // no such process
    const live = `${dir}/.labels.jsonl.tmp-${Deno.pid}-ef567890`; // this process: still writing
    const other = `${dir}/.other.json.tmp-999999999-abcd1234`; // another file's: not this write's business
    for (const f of [dead, live, other]) await Deno.writeTextFile(f, "half");
    await writeJsonAtomic(`${dir}/labels.jsonl`, { ok: true });
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, [".labels.jsonl.tmp-" + Deno.pid + "-ef567890", ".other.json.tmp-999999999-abcd1234", "labels.jsonl"]);
    assert.deepEqual(await removeStaleTempFiles(`${dir}/other.json`), [other]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a write that fails (here: the parent is a file) names the path it was writing, and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/blocker`, "a file, not a directory");
    await assert.rejects(
      () => writeFileAtomic(`${dir}/blocker/state.json`, new Uint8Array([1])),
      (e: Error) => e.message.startsWith(`${dir}/blocker/state.json: could not write it (`),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["blocker"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

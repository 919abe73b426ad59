/**
 * Faults around label files and `deno task label`, found by a fault pass:
 * two processes writing one label file, and flags that used to be refused
 * only after minutes of sampling (or never).
 */
import { loadLabels } from "../lib/reward/labels.ts";
import { assert } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const LABELS_TS = new URL("../lib/reward/labels.ts", import.meta.url).href;

/**
 * A child process that waits for `${dir}/go`, then runs `body` (JavaScript with `labels` = lib/reward/labels.ts
 * and `path`). It creates `${dir}/ready-<name>` first, so the test can start both children at the same moment.
 */
function spawnWriter(dir: string, name: string, path: string, body: string): Deno.ChildProcess {
  const code = `
    const labels = await import(${JSON.stringify(LABELS_TS)});
    const path = ${JSON.stringify(path)};
    const who = ${JSON.stringify(name)};
    const record = (i, responses = ["甲", "乙"]) => ({
      prompt_id: who + "-" + i, prompt: [{ role: "user", content: "写一首诗" }], responses,
      labeler: who, time: new Date().toISOString(), checkpoint: "c",
    });
    await Deno.writeTextFile(${JSON.stringify(`${dir}/ready-${name}`)}, "");
    while (true) { try { await Deno.stat(${JSON.stringify(`${dir}/go`)}); break; } catch { await new Promise((r) => setTimeout(r, 2)); } }
    ${body}
  `;
  return new Deno.Command(Deno.execPath(), { args: ["eval", code], cwd: ROOT, stdout: "piped", stderr: "piped" }).spawn();
}

/** Starts the children together (once each has loaded its modules) and waits for them; a failed child fails the test. */
async function runTogether(dir: string, children: Record<string, Deno.ChildProcess>): Promise<void> {
  for (const name of Object.keys(children)) {
    while (!(await Deno.stat(`${dir}/ready-${name}`).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 10));
  }
  await Deno.writeTextFile(`${dir}/go`, "");
  for (const [name, child] of Object.entries(children)) {
    const { code, stderr } = await child.output();
    assert.equal(code, 0, `writer ${name}: ${new TextDecoder().decode(stderr)}`);
  }
}

Deno.test("two processes append 40 rankings each to one label file at once: all 80 are in the file, each once", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/poetry-zh-human.jsonl`;
  try {
    const appendForty = `for (let i = 0; i < 40; i++) await labels.appendLabels(path, [record(i)]);`;
    await runTogether(dir, { A: spawnWriter(dir, "A", path, appendForty), B: spawnWriter(dir, "B", path, appendForty) });
    const ids = (await loadLabels(path)).map((r) => r.prompt_id);
    const expected = ["A", "B"].flatMap((who) => Array.from({ length: 40 }, (_, i) => `${who}-${i}`));
    assert.equal(ids.length, 80, `rankings kept: ${ids.length} of 80`);
    assert.deepEqual([...ids].sort(), expected.sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two processes at once: one appends 40 rankings while the other re-ranks and undoes its own: nothing is lost", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/poetry-zh-human.jsonl`;
  try {
    const appendForty = `for (let i = 0; i < 40; i++) await labels.appendLabels(path, [record(i)]);`;
    // B ranks its item 0 again and again (each replaces its line), and ranks item 1 and takes it back each time.
    const rerankAndUndo = `for (let i = 0; i < 40; i++) {
      await labels.replaceRanking(path, record(0, i % 2 ? ["甲", "乙"] : ["乙", "甲"]));
      await labels.withdrawRanking(path, await labels.replaceRanking(path, record(1)));
    }`;
    await runTogether(dir, { A: spawnWriter(dir, "A", path, appendForty), B: spawnWriter(dir, "B", path, rerankAndUndo) });
    const lists = await loadLabels(path);
    const fromA = lists.filter((r) => r.labeler === "A").map((r) => r.prompt_id);
    assert.equal(fromA.length, 40, `A's rankings kept: ${fromA.length} of 40`);
    assert.deepEqual(lists.filter((r) => r.labeler === "B").map((r) => [r.prompt_id, r.responses]), [["B-0", ["甲", "乙"]]]);
    assert.equal((await Deno.readTextFile(path)).trim().split("\n").length, 41, "one line each");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

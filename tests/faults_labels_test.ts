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

/** Runs `deno task label` with `args`; a run still going after `seconds` (sampling, serving) is ended and reported as code -1. */
async function runLabel(args: string[], seconds = 60): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/label.ts", "--port", "0", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, seconds * 1000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(timer);
  return { code: timedOut ? -1 : code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

/** Asserts a usage error: exit 2, one line naming what is wrong, no stack trace, and no sampling started. */
function assertRefusedBeforeSampling(r: { code: number; out: string; err: string }, message: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.out}\n${r.err}`);
  assert.match(r.err, message, what);
  assert.equal(r.err.trim().split("\n").length, 1, `${what}: one line: ${r.err}`);
  assert.doesNotMatch(r.out, /sampling/, `${what}: nothing sampled`);
}

const TINY = "tests/fixtures/uer-tiny"; // a checkpoint that exists, so that only the flag under test is wrong

Deno.test("deno task label: a blank labeler, an unknown task, absurd --k/--prompts and a missing checkpoint are refused before sampling", async () => {
  const cases: [string[], RegExp][] = [
    [["--labeler", "   ", "--checkpoint", TINY], /--labeler " {3}": expected a name/],
    [["--labeler", "t", "--task", "toString", "--checkpoint", TINY], /--task toString: expected one of poetry-zh, poetry-zh-rules/],
    [["--labeler", "t", "--task", "constructor", "--checkpoint", TINY], /--task constructor: expected one of/],
    [["--labeler", "t", "--k", "1e9", "--checkpoint", TINY], /--k 1e9: expected an integer 2–9/],
    [["--labeler", "t", "--prompts", "1000000", "--checkpoint", TINY], /--prompts 1000000: expected an integer 1–1000/],
    [["--labeler", "t", "--checkpoint", "/nonexistent/model"], /--checkpoint \/nonexistent\/model: no such directory/],
  ];
  for (const [args, message] of cases) assertRefusedBeforeSampling(await runLabel(args), message, args.join(" "));
  const help = await runLabel(["--help"]);
  assert.match(help.out, /--k K .*\[2–9\]/);
  assert.match(help.out, /--prompts N .*\[1–1000\]/);
});

Deno.test("deno task label: a labels path that is a directory, not writable, or not a label file is refused before sampling", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const notLabels = `${dir}/hostname`;
    await Deno.writeTextFile(notLabels, "my-machine\n");
    const badSecondLine = `${dir}/human.jsonl`;
    const good = {
      prompt_id: "p1",
      prompt: [{ role: "user", content: "写诗" }],
      responses: ["a", "b"],
      labeler: "t",
      time: "2026-11-28T18:00:00Z",
      checkpoint: "c",
    };
    await Deno.writeTextFile(badSecondLine, `${JSON.stringify(good)}\n${JSON.stringify({ ...good, responses: ["a"] })}\n`);
    const cases: [string, RegExp][] = [
      [notLabels, new RegExp(`--labels: ${notLabels}:1: invalid JSON`)],
      [badSecondLine, new RegExp(`--labels: ${badSecondLine}:2: field "responses"`)],
      [dir, new RegExp(`--labels ${dir}: is a directory; expected a \\.jsonl file`)],
      [`${notLabels}/human.jsonl`, new RegExp(`--labels ${notLabels}/human\\.jsonl: cannot write there`)],
    ];
    for (const [labels, message] of cases) {
      assertRefusedBeforeSampling(await runLabel(["--labeler", "t", "--checkpoint", TINY, "--labels", labels]), message, labels);
    }
    assert.equal(await Deno.readTextFile(notLabels), "my-machine\n", "the file is left as it was");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * `deno task label --classroom` and `--simulated-labelers` as a teacher runs them: a class server killed with
 * SIGKILL and started again keeps every ranking, the join code and the students' tokens, and does not sample
 * again; a simulated class writes one session file with a line per student and list.
 */
import { loadLabels } from "../lib/reward/labels.ts";
import { assert } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MODEL = "models/gpt2-poetry-zh";

/** Starts `deno task label` with `args`; resolves with the child and what it printed once `ready` appears. */
async function startLabel(args: string[], ready: RegExp): Promise<{ child: Deno.ChildProcess; out: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/label.ts", "--checkpoint", MODEL, "--prompts", "4", "--k", "3", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  child.stderr.pipeTo(new WritableStream()).catch(() => {});
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = Date.now() + 120_000;
  while (!ready.test(out)) {
    const { done, value } = await reader.read();
    if (done || Date.now() > deadline) throw new Error(`deno task label ended before it was ready:\n${out}`);
    out += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { child, out };
}

const post = (url: string, body: unknown, token?: string) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { "x-label-token": token } : {}) },
    body: JSON.stringify(body),
  });

Deno.test({
  name: "deno task label --classroom: killed (SIGKILL) and started again, it keeps the code, the rankings and the students' tokens",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const labels = `${dir}/class.jsonl`;
    const args = ["--classroom", "--port", "0", "--session", "test-class", "--labels", labels, "--overlap", "2", "--students", "2"];
    const ready = /teacher's view .*\n/;
    let { child, out } = await startLabel(args, ready);
    try {
      assert.match(out, /sampling 3 answers/);
      const url = out.match(/students open\s+(\S+)/)![1];
      const code = out.match(/join with the code\s+(\S+)/)![1];
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.match(out, /█ ▄▄▄▄▄ █/, "the URL as a QR code (its finder pattern) in the terminal");
      const { token } = await (await post(`${url}api/join`, { code, name: "ann" })).json();
      for (let k = 0; k < 2; k++) {
        const state = await (await fetch(`${url}api/state`, { headers: { "x-label-token": token } })).json();
        const res = await post(`${url}api/rank`, { order: [2, 0, 1], index: state.index }, token);
        assert.equal(res.status, 200);
        await res.body?.cancel();
      }
      child.kill("SIGKILL");
      await child.status;

      ({ child, out } = await startLabel(args, ready));
      assert.doesNotMatch(out, /sampling/, "the session's answers are read back, not sampled again");
      const url2 = out.match(/students open\s+(\S+)/)![1];
      assert.equal(out.match(/join with the code\s+(\S+)/)![1], code);
      const state = await (await fetch(`${url2}api/state`, { headers: { "x-label-token": token } })).json();
      assert.equal(state.done, 2, "ann's page goes on with its token");
      const lists = await loadLabels(labels);
      assert.deepEqual(lists.map((l) => [l.labeler, l.session]), [["ann", "test-class"], ["ann", "test-class"]]);
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("deno task label --simulated-labelers: one session file, a line per student and list, agreement printed", async () => {
  const dir = await Deno.makeTempDir();
  const labels = `${dir}/sim.jsonl`;
  try {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "scripts/label.ts",
        "--checkpoint",
        MODEL,
        "--prompts",
        "4",
        "--k",
        "3",
        "--simulated-labelers",
        "3",
        "--mix",
        "bright,sorrowful",
      ]
        .concat(["--overlap", "2", "--students", "3", "--labels", labels, "--session", "sim"]),
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, out);
    assert.match(out, /labeler–labeler agreement [\d.]+ % on \d+ shared pairs \(3 labelers/);
    assert.match(out, /Krippendorff's α \(ordinal\)/);
    const lists = await loadLabels(labels);
    assert.deepEqual([...new Set(lists.map((l) => l.labeler))].sort(), [
      "simulated:class-bright:7",
      "simulated:class-bright:9",
      "simulated:class-sorrowful:8",
    ]);
    assert.ok(lists.every((l) => l.session === "sim"));
    // Each of the 2 other lists to 2 of the 3 students: 3 × 2 shared + 2 × 2 = 10 lines.
    assert.equal(lists.length, 10);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task label: class flags that cannot work are refused before sampling (exit 2, one line naming the flag)", async () => {
  const cases: [string[], RegExp][] = [
    [["--classroom", "--host", "0.0.0.0"], /--host "0\.0\.0\.0": expected the address students type/],
    [["--host", "192.168.1.20"], /--host 192\.168\.1\.20: only a class session \(--classroom\) listens beyond 127\.0\.0\.1/],
    [["--simulated-labelers", "3", "--mix", "bright,cheerful"], /--mix bright,cheerful: unknown mix "cheerful"/],
    [["--mix", "bright"], /--mix names the simulated students' preferences; add --simulated-labelers N/],
    [["--classroom", "--simulated-labelers", "3"], /--classroom serves people, --simulated-labelers simulates them/],
    [["--classroom", "--session", "a/b"], /--session "a\/b": expected 1–60 letters, digits/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/label.ts", "--checkpoint", MODEL, ...args],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 2, args.join(" "));
    assert.match(err, message);
    assert.equal(err.trim().split("\n").length, 1, `one line: ${err}`);
  }
});

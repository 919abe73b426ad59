/**
 * The cheap tries of a fault pass on the command line: names that are Object.prototype properties, absurd
 * counts, bad input files and outputs over inputs are refused before any work, in one line (exit 2); a
 * `--fresh` that cannot delete stops instead of reusing the old checkpoints; a second run on one
 * checkpoint root is refused. (Label files and the labelling server: faults_labels_test.ts; checkpoint
 * loaders: faults_loaders_test.ts.)
 */
import { assert, runScript } from "./helpers.ts";
import { runPipeline } from "../lib/pipeline/pipeline.ts";
import { tryLockFile } from "../lib/file_lock.ts";

/** One line on stderr naming what was wrong, exit 2, no stack trace. */
function assertUsageError(r: { code: number; err: string }, message: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}: ${r.err}`);
  assert.match(r.err, message, what);
  assert.equal(r.err.trim().split("\n").length, 1, `${what}: one line: ${r.err}`);
  assert.ok(!/\n\s+at /.test(r.err), `${what}: no stack trace: ${r.err}`);
}

Deno.test("a flag that names a table entry takes the table's own names only (toString, constructor are no entries)", async () => {
  const cases: [string, string[], RegExp][] = [
    ["rlhf", ["--task", "toString"], /--task toString: expected one of poetry-zh/],
    ["rlhf", ["--task", "__proto__"], /--task __proto__: expected one of poetry-zh/],
    ["rlhf", ["--method", "constructor"], /--method constructor: expected ppo, dpo/],
    ["rlhf", ["--method", "hasOwnProperty"], /--method hasOwnProperty: expected ppo, dpo/],
    ["rlhf", ["--preset", "toString", "--from-scratch"], /--preset toString: expected one of gpt2/],
    ["pretrain_base", ["--preset", "toString"], /--preset toString: expected one of gpt2/],
  ];
  for (const [script, args, message] of cases) assertUsageError(await runScript(script, args), message, `${script} ${args.join(" ")}`);
});

Deno.test("counts have upper bounds, shown in --help and checked before any work", async () => {
  const cases: [string, string[], RegExp][] = [
    ["rlhf", ["--sft-steps", "1e20"], /--sft-steps 1e20: expected an integer 1–100000/],
    ["rlhf", ["--pretrain-steps", "1e9", "--from-scratch"], /--pretrain-steps 1e9: expected an integer 1–200000/],
    ["rlhf", ["--ppo-iterations", "99999999"], /--ppo-iterations 99999999: expected an integer 1–10000/],
    ["rlhf", ["--eval-answers", "1000"], /--eval-answers 1000: expected an integer 1–64/],
    ["rlhf", ["--simulated-prompts", "1e7"], /--simulated-prompts 1e7: expected an integer 0–100000/],
    ["pretrain_base", ["--steps", "1e12"], /--steps 1e12: expected an integer 1–1000000/],
  ];
  for (const [script, args, message] of cases) assertUsageError(await runScript(script, args), message, `${script} ${args.join(" ")}`);
  const help = await runScript("rlhf", ["--help"]);
  assert.match(help.out, /--sft-steps N +SFT steps \[1–100000\]/);
});

Deno.test("every input file named on the command line is read and checked before the first stage", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = JSON.stringify({
      prompt_id: "p1",
      prompt: [{ role: "user", content: "写诗" }],
      responses: ["春风。", "明月。"],
      labeler: "t",
      time: "2026-01-01T00:00:00Z",
      checkpoint: "sft@0",
    });
    await Deno.writeTextFile(`${dir}/labels.jsonl`, `${good}\n{"prompt_id": 3}\n`);
    await Deno.writeTextFile(`${dir}/sft.jsonl`, `{"prompt": "写诗", "response": "春风。"}\nnot json\n`);
    await Deno.mkdir(`${dir}/base`);
    await Deno.writeTextFile(`${dir}/base/config.json`, "{ truncated");
    const cases: [string[], RegExp][] = [
      [["--labels", `${dir}/labels.jsonl`], new RegExp(`--labels: ${dir}/labels.jsonl:2: field "prompt_id" must be a non-empty string`)],
      [["--labels", `${dir}/base`], new RegExp(`--labels ${dir}/base: a directory without .jsonl label files`)],
      [["--sft-data", `${dir}/sft.jsonl`], new RegExp(`--sft-data: ${dir}/sft.jsonl:2: invalid JSON`)],
      [["--init", `${dir}/base`], new RegExp(`--init: ${dir}/base/config.json: not valid JSON`)],
      [["--init", `${dir}/nowhere`], new RegExp(`--init ${dir}/nowhere/config.json: file not found`)],
      [["--policy", `${dir}/nowhere`], new RegExp(`--policy ${dir}/nowhere/config.json: file not found`)],
      [["--policy", `${dir}/base`], new RegExp(`--policy: ${dir}/base/config.json: not valid JSON`)],
    ];
    for (const [args, message] of cases) assertUsageError(await runScript("rlhf", args), message, `rlhf ${args.join(" ")}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an output path that is an input (also through a link) is refused and the input is left as it was", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const labels = `${dir}/human.jsonl`;
    await Deno.writeTextFile(labels, "the rankings\n");
    await Deno.symlink(labels, `${dir}/link.jsonl`);
    for (const out of [labels, `${dir}/link.jsonl`, `${dir}/../${dir.split("/").pop()}/human.jsonl`]) {
      assertUsageError(
        await runScript("export_prefs", ["--labels", labels, "--out", out]),
        /--out .*: is the same file as --labels .*; writing it would destroy the input/,
        `export-prefs --out ${out}`,
      );
    }
    assert.equal(await Deno.readTextFile(labels), "the rankings\n");
    assertUsageError(
      await runScript("pretrain_base", ["--checkpoint-dir", `${dir}/base`, "--out", `${dir}/base/`]),
      /--out .*: is the same file as --checkpoint-dir/,
      "pretrain-base --out = --checkpoint-dir",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the playground's --out replaces only an earlier build: a directory of other files or a file is refused and left as it was", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/notes.txt`, "mine\n");
    assertUsageError(
      await runScript("playground", ["--out", dir]),
      /--out .*: holds files and is not a playground build \(no manifest\.json\)/,
      "playground --out <a directory of other files>",
    );
    assertUsageError(
      await runScript("playground", ["--out", `${dir}/notes.txt`]),
      /--out .*notes\.txt: is a file/,
      "playground --out <a file>",
    );
    assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "mine\n");
    assertUsageError(
      await runScript("serve_static", ["--port", "70000"]),
      /--port 70000: expected an integer 1–65535/,
      "playground-serve --port",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--fresh that cannot delete a stage's checkpoint stops, naming it, instead of reusing it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A file where the checkpoint root should be: removing <root>/sft fails with "not a directory" (also as root,
    // which a read-only directory would not stop).
    await Deno.writeTextFile(`${dir}/root`, "");
    const r = await runScript("rlhf", ["--fresh", "--quick", "--checkpoint-root", `${dir}/root`]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, new RegExp(`^error: ${dir}/root/sft-quick: could not remove it to start afresh`, "m"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPipeline() refuses a checkpoint root that another run holds, naming the process", async () => {
  const root = await Deno.makeTempDir();
  const other = await tryLockFile(root);
  assert.ok(other);
  try {
    await assert.rejects(
      () => runPipeline({ checkpointRoot: root, quick: true, quiet: true }),
      new RegExp(`${root}: another run \\(process ${Deno.pid}\\) is writing these checkpoints`),
    );
  } finally {
    other.release();
    await Deno.remove(root, { recursive: true });
  }
});

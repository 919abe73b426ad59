/**
 * Every script explains itself: `--help` prints usage with examples (exit 0);
 * an unknown flag or a bad value prints one line naming it (exit 2), with no
 * stack trace, before any slow work.
 */
import { assert, runScript } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SCRIPTS = [
  "rlhf",
  "chat",
  "label",
  "bench",
  "build_data",
  "pretrain_base",
  "figures",
  "bench_sizes",
  "export_prefs",
  "convert",
  "notebooks",
  "frontier",
  "export",
  "evaluate",
];

const run = runScript;

Deno.test("every script: --help prints usage and examples; an unknown flag is one line naming it, exit 2", async () => {
  for (const script of SCRIPTS) {
    const help = await run(script, ["--help"]);
    assert.equal(help.code, 0, `${script} --help: ${help.err}`);
    assert.match(help.out, /Examples:\n {2}deno task /, script);
    const bad = await run(script, ["--no-such-flag"]);
    assert.equal(bad.code, 2, `${script} --no-such-flag`);
    assert.equal(bad.err.trim().split("\n").length, 1, `${script}: ${bad.err}`);
    assert.match(bad.err, /--no-such-flag/);
  }
});

Deno.test("bad values are refused where they are parsed, naming the flag and what it takes", async () => {
  const cases: [string, string[], RegExp][] = [
    ["rlhf", ["--ppo-lr", "abc"], /--ppo-lr abc: expected a number > 0/],
    ["rlhf", ["--kl-coef", "-1"], /--kl-coef -1: expected a number ≥ 0/],
    ["rlhf", ["--ptx-coef", "Infinity"], /--ptx-coef Infinity: expected a number ≥ 0/],
    ["rlhf", ["--preset", "gpt2-micro"], /add --from-scratch/],
    ["rlhf", ["--task", "nope"], /--task nope: expected one of poetry-zh/],
    ["rlhf", ["--method", "ppo,nope"], /--method ppo,nope: expected ppo, dpo, rloo, grpo, both \(PPO and DPO\) or all/],
    ["chat", ["--top-p", "2"], /--top-p 2: expected a number in \(0, 1\]/],
    ["label", ["--k", "1"], /--k 1: expected an integer 2–9/],
    ["label", ["--port", "abc"], /--port abc: expected a port number/],
    ["figures", ["only-one"], /expected two arguments/],
    ["rlhf", ["--sft-data", "/nonexistent.jsonl"], /--sft-data \/nonexistent.jsonl: file not found/],
  ];
  for (const [script, args, message] of cases) {
    const r = await run(script, args);
    assert.equal(r.code, 2, `${script} ${args.join(" ")}: ${r.err}`);
    assert.match(r.err, message);
    assert.ok(!/\n\s+at /.test(r.err), `no stack trace: ${r.err}`);
  }
});

Deno.test("deno task label: a port in use is refused before any sampling, naming the flag", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const r = await run("label", ["--labeler", "t", "--port", String(port)]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, new RegExp(`--port ${port}: another program is listening on it`));
  } finally {
    listener.close();
  }
});

Deno.test("an error after parsing (a missing checkpoint) is one line naming the path, exit 1", async () => {
  const r = await run("chat", ["--checkpoint", "/nonexistent/model"]);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /^error: .*\/nonexistent\/model/m);
  assert.ok(!/\n\s+at /.test(r.err), r.err);
});

Deno.test("deno task chat: an over-long message is reported and the chat goes on", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/chat.ts", "--checkpoint", "tests/fixtures/uer-tiny"],
    cwd: ROOT,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`${"春".repeat(400)}\n你好\n\n`));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.match(out, /\(not answered: chat: the message is too long for the model's context/);
  assert.match(out.slice(out.indexOf("not answered")), /助手> /, "the next message is answered");
});

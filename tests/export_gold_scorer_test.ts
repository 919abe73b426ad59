/**
 * The Python gold scorer of the export bundle (lib/export/poetry_zh_gold.py,
 * filled in by goldScorerPython) gives what the task's TypeScript scorer
 * gives, every part, on 2,000 answers: real held-out poems and poems broken in
 * the ways a policy breaks them (cut short, wrong punctuation, foreign
 * characters, spaces, repetition, bright and sorrowful characters added),
 * under both preferences. And its three engine entry points read their
 * inputs as TRL, OpenRLHF and verl pass them.
 */
import { CHAR_CHAT_TEMPLATE, renderChat } from "../lib/tokenizer/chat_template.ts";
import { loadPoetryTask } from "../lib/tasks/poetry_zh/task.ts";
import { loadValenceList } from "../lib/tasks/poetry_zh/mood.ts";
import { goldScorerPython } from "../lib/export/gold_scorer_py.ts";
import { Rng } from "../lib/rng.ts";
import type { Task, TaskPrompt } from "../lib/tasks/types.ts";
import { assert, withTempDir } from "./helpers.ts";

const PYTHON = "/usr/bin/python3";
const hasPython = await new Deno.Command(PYTHON, { args: ["-c", "import json"], stdout: "null", stderr: "null" }).output()
  .then((o) => o.success, () => false);

/** `n` answers: held-out poems, each changed in one of several ways (or kept). */
function answers(task: Task, n: number): string[] {
  const rng = new Rng(7);
  const poems = task.sftExamples("heldout", 0).map((e) => e.response);
  const valenceChars = "春歌笑花喜乐泪愁悲孤别老";
  const noise = ["a", "B", " ", "\u3000", "\n", "！", "；", "、", "？", "，", "。", "1", "[UNK]", "\u00a0", "\ufeff", "𠀀", "豈"];
  const pick = <T>(xs: readonly T[]) => xs[rng.nextInt(xs.length)];
  const out: string[] = [""];
  while (out.length < n) {
    const chars = [...pick(poems)];
    switch (rng.nextInt(8)) {
      case 0:
        break; // the poem itself
      case 1:
        chars.length = rng.nextInt(chars.length + 1); // cut short
        break;
      case 2:
        for (let k = 0; k < 3; k++) chars.splice(rng.nextInt(chars.length + 1), 0, pick(noise));
        break;
      case 3:
        for (let k = 0; k < 4; k++) chars[rng.nextInt(chars.length)] = pick([...valenceChars]);
        break;
      case 4: {
        const c = pick(chars);
        for (let k = 0; k < 20; k++) chars.push(c); // repetition
        break;
      }
      case 5:
        chars.push(...pick(poems)); // too many lines
        break;
      case 6:
        for (let i = 0; i < chars.length; i++) if ("，。".includes(chars[i])) chars[i] = pick(["，", "。", "！", ""]);
        break;
      default:
        chars.reverse();
    }
    out.push(chars.join(""));
  }
  return out;
}

/** Scores `items` with the Python file (its stdin/stdout interface). */
async function pythonScores(py: string, items: { response: string; constraints: unknown }[], dir: string) {
  const path = `${dir}/gold_scorer.py`;
  await Deno.writeTextFile(path, py);
  const child = new Deno.Command(PYTHON, { args: [path], stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const output = child.output(); // read while writing: the answers and the scores are larger than a pipe's buffer
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(items.map((i) => JSON.stringify(i) + "\n").join("")));
  await writer.close();
  const out = await output;
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
    JSON.parse(l) as { total: number; parts: Record<string, number> }
  );
}

for (const preference of ["mood", "rules"] as const) {
  Deno.test({
    name: `gold_scorer.py equals the TypeScript gold scorer on 2,000 answers, every part (${preference})`,
    ignore: !hasPython,
    fn: async () => {
      const valence = await loadValenceList();
      const task = await loadPoetryTask({ preference });
      const prompts: TaskPrompt[] = task.prompts("heldout", 0);
      const texts = answers(task, 2000);
      const items = texts.map((response, i) => ({ response, prompt: prompts[i % prompts.length] }));
      const py = await goldScorerPython({ preference, valence, template: CHAR_CHAT_TEMPLATE });
      await withTempDir(async (dir) => {
        const got = await pythonScores(py, items.map((i) => ({ response: i.response, constraints: i.prompt.constraints })), dir);
        assert.equal(got.length, items.length);
        let worst = 0;
        items.forEach((item, k) => {
          const want = task.score(item.prompt, item.response);
          assert.deepEqual(Object.keys(got[k].parts), Object.keys(want.parts), `answer ${k}: parts`);
          for (const [name, v] of Object.entries(want.parts)) worst = Math.max(worst, Math.abs(got[k].parts[name] - v));
          worst = Math.max(worst, Math.abs(got[k].total - want.total));
        });
        assert.ok(worst <= 1e-9, `largest difference ${worst}`);
        // The answers are varied enough to test something: many distinct totals, the form broken and kept.
        assert.ok(new Set(got.map((g) => g.total.toFixed(6))).size > 200);
      });
    },
  });
}

Deno.test({
  name: "gold_scorer.py's entry points read what TRL, OpenRLHF and verl pass",
  ignore: !hasPython,
  fn: async () => {
    const valence = await loadValenceList();
    const task = await loadPoetryTask();
    const prompt = task.prompts("heldout", 0)[0];
    const answer = "春风得意马蹄疾，一日看尽长安花。\n春风得意马蹄疾，一日看尽长安花。";
    const want = task.score(prompt, answer).total;
    const promptText = renderChat(prompt.messages, CHAR_CHAT_TEMPLATE, { addGenerationPrompt: true });
    const constraints = JSON.stringify(prompt.constraints);
    const py = await goldScorerPython({ preference: "mood", valence, template: CHAR_CHAT_TEMPLATE });
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/gold_scorer.py`, py);
      const script = [
        "import json, sys, types",
        "sys.modules['torch'] = types.SimpleNamespace(tensor=lambda xs, dtype=None: list(xs), float32=None)", // OpenRLHF's torch, stubbed
        "import gold_scorer as g",
        "a = json.loads(sys.argv[1]); p = json.loads(sys.argv[2]); c = sys.argv[3]",
        "print(json.dumps([",
        "  g.trl_reward(prompts=[p], completions=[a + '<|end|>'], constraints=[c])[0],",
        "  g.trl_reward(prompts=[[{'role': 'user', 'content': 'x'}]], completions=[[{'role': 'assistant', 'content': a}]], constraints=[c])[0],",
        "  g.reward_func([p + a + '<|end|>[PAD]'], [p], [c])['rewards'][0],",
        "  g.compute_score('poetry-zh', a, c, {}),",
        "]))",
      ].join("\n");
      const out = await new Deno.Command(PYTHON, {
        args: ["-c", script, JSON.stringify(answer), JSON.stringify(promptText), constraints],
        cwd: dir,
      })
        .output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const got = JSON.parse(new TextDecoder().decode(out.stdout)) as number[];
      for (const g of got) assert.ok(Math.abs(g - want) <= 1e-9, `${g} vs ${want}`);
    });
  },
});

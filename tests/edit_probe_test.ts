import { editProbe } from "../lib/eval/edit_probe.ts";
import { POEM_EDITS } from "../lib/tasks/poetry_zh/edits.ts";
import { poetryTask } from "../lib/tasks/poetry_zh/task.ts";
import type { TaskPrompt } from "../lib/tasks/types.ts";
import { assert } from "./helpers.ts";

const task = poetryTask([], { preference: "rules" });
const prompt: TaskPrompt = {
  id: "p",
  messages: [{ role: "user", content: "写一首五言绝句。" }],
  constraints: { chars_per_line: 5, n_lines: 4, form: "五言绝句" },
};
const poem = "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。";

Deno.test("the poem edits make a correct poem worse by the gold score, one way each", () => {
  const expected: Record<string, string> = {
    "drop the last couplet": "白日依山尽，黄河入海流。",
    "repeat the first couplet at the end": `${poem}\n白日依山尽，黄河入海流。`,
    "one character fewer in the first line": "白日依山，黄河入海流。\n欲穷千里目，更上一层楼。",
    "one character more in the first line": "白日依山尽山，黄河入海流。\n欲穷千里目，更上一层楼。",
    "first comma becomes a full stop": "白日依山尽。黄河入海流。\n欲穷千里目，更上一层楼。",
  };
  assert.deepEqual(POEM_EDITS.map((e) => e.name), Object.keys(expected));
  for (const edit of POEM_EDITS) {
    const edited = edit.apply(poem, prompt)!;
    assert.equal(edited, expected[edit.name], edit.name);
    assert.ok(task.score(prompt, edited).total < task.score(prompt, poem).total, `${edit.name} lowers the gold score`);
  }
});

Deno.test("editProbe() counts how often the scorer prefers the original (hand-computed with a line-counting scorer)", async () => {
  // "More couplets is better": right about a dropped couplet, wrong about a repeated one, blind to the rest.
  const couplets = (pairs: { response: string }[]) => Promise.resolve(pairs.map((p) => p.response.split("\n").length));
  const rows = await editProbe(couplets, task, [{ prompt, response: poem }, { prompt, response: poem }], POEM_EDITS);
  const byName = Object.fromEntries(rows.map((r) => [r.edit, r]));
  assert.equal(byName["drop the last couplet"].answers, 2);
  assert.equal(byName["drop the last couplet"].rmPrefersOriginal, 1);
  assert.equal(byName["drop the last couplet"].meanRmChange, -1);
  assert.equal(byName["repeat the first couplet at the end"].rmPrefersOriginal, 0);
  assert.equal(byName["repeat the first couplet at the end"].meanRmChange, 1);
  assert.equal(byName["first comma becomes a full stop"].rmPrefersOriginal, 0, "a tie is not a preference");
  const dropGold = task.score(prompt, "白日依山尽，黄河入海流。").total - task.score(prompt, poem).total;
  assert.ok(Math.abs(byName["drop the last couplet"].meanGoldChange - dropGold) < 1e-12);
});

Deno.test("editProbe() leaves out edits that do not apply or do not lower the gold score", async () => {
  const noop = { name: "no change", apply: (r: string) => r };
  const better = { name: "undo a mistake", apply: () => poem };
  const rows = await editProbe((pairs) => Promise.resolve(pairs.map(() => 0)), task, [{ prompt, response: "白日依山尽，黄河入海流。" }], [
    noop,
    better,
  ]);
  assert.deepEqual(rows.map((r) => [r.edit, r.answers, r.rmPrefersOriginal]), [["no change", 0, 0], ["undo a mistake", 0, 0]]);
});

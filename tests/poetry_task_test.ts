import { loadPoems } from "../lib/corpus/poems.ts";
import { parseLines, scorePoem } from "../lib/tasks/poetry_zh/scorer.ts";
import { rhymes } from "../lib/tasks/poetry_zh/rhyme.ts";
import { poetryTask } from "../lib/tasks/poetry_zh/task.ts";
import { loadTask } from "../lib/tasks/registry.ts";
import { assert, assertAllClose, rankByScore } from "./helpers.ts";

const JINGYESI = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。";
const WUJUE = { chars_per_line: 5, n_lines: 4 };

Deno.test("scorePoem(): a real 五言绝句 that rhymes today scores 1", () => {
  const s = scorePoem(JINGYESI, { ...WUJUE, include: "明月" });
  assert.deepEqual(s.parts, { line_count: 1, chars_per_line: 1, punctuation: 1, include: 1, rhyme: 1, clean: 1 });
  assert.equal(s.total, 1);
});

Deno.test("scorePoem(): each broken rule lowers its own part", () => {
  const parts = (text: string, c = WUJUE) => scorePoem(text, c).parts;
  assert.equal(parts("床前明月光，疑是地上霜。").line_count, 0.5);
  assert.equal(parts("床前明月光光，疑是地上霜。\n举头望明月，低头思故乡。").chars_per_line, 0.75);
  assert.equal(parts("床前明月光。疑是地上霜，\n举头望明月，低头思故乡。").punctuation, 0.5);
  assert.equal(scorePoem(JINGYESI, { ...WUJUE, include: "江" }).parts.include, 0);
  assert.equal(scorePoem(JINGYESI, { ...WUJUE, themeMarks: "月" }).parts.theme, 1);
  assert.equal(scorePoem(JINGYESI, { ...WUJUE, themeMarks: "雪" }).parts.theme, 0);
  assert.equal(parts("床前明月光，疑是地上霜。\n举头望明月，低头思故园。").rhyme, 0);
  assertAllClose([parts("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。abc").clean], [25 / 28], { atol: 1e-9 });
  assert.equal(parts(JINGYESI, { chars_per_line: 7, n_lines: 8 }).chars_per_line, 0);
  assert.ok(scorePoem("", WUJUE).total === 0);
  const garbage = scorePoem("[UNK][UNK]月月月", WUJUE);
  assert.ok(garbage.total < 0.2, `garbage scored ${garbage.total}`);
});

Deno.test("rhymes() uses modern finals, with the medial dropped", () => {
  assert.ok(rhymes("霜", "乡"));
  assert.ok(rhymes("花", "家"));
  assert.ok(!rhymes("光", "园"));
});

Deno.test("parseLines() splits at punctuation and ignores couplet newlines", () => {
  assert.deepEqual(parseLines("床前明月光，疑是地上霜。\n举头"), [
    { body: "床前明月光", end: "，" },
    { body: "疑是地上霜", end: "。" },
    { body: "举头", end: "" },
  ]);
});

Deno.test("the poetry task: requests name properties the poem really has, and the poem satisfies them", async () => {
  const poems = (await loadPoems()).slice(0, 300);
  const task = poetryTask(poems, { preference: "rules" });
  const examples = task.sftExamples("train", 1);
  assert.ok(examples.length >= 2 * poems.filter((p) => p.split === "train").length);
  let includes = 0;
  let titled = 0;
  let themed = 0;
  for (const { prompt, response } of examples) {
    const s = task.score(prompt, response);
    assert.equal(s.parts.line_count, 1);
    assert.equal(s.parts.chars_per_line, 1);
    assert.equal(s.parts.include ?? 1, 1, `${prompt.messages[0].content} / ${response}`);
    assert.equal(s.parts.theme ?? 1, 1, `${prompt.messages[0].content} / ${response}`);
    if (prompt.constraints.theme) themed++;
    const text = prompt.messages[0].content;
    assert.ok(text.includes(String(prompt.constraints.form)), text);
    if (prompt.constraints.include) includes++;
    if (prompt.constraints.title) {
      titled++;
      assert.ok(text.includes(`《${prompt.constraints.title}》`));
    }
  }
  assert.ok(
    includes > examples.length / 3 && titled > examples.length / 4 && themed > examples.length / 10,
    `${includes} ${titled} ${themed}`,
  );
  assert.deepEqual(
    task.sftExamples("train", 1).map((e) => e.prompt.messages[0].content),
    examples.map((e) => e.prompt.messages[0].content),
  );
  // Held-out prompts come only from held-out poems.
  const heldoutIds = new Set(poems.filter((p) => p.split === "heldout").map((p) => p.id));
  assert.ok(task.prompts("heldout", 0).every((p) => heldoutIds.has(p.id)));
});

Deno.test("the bundled corpus itself scores high on format and clean (a sanity check of the scorer)", async () => {
  const task = await loadTask("poetry-zh-rules");
  const examples = task.sftExamples("heldout", 0);
  const mean = (key: string) => examples.reduce((s, e) => s + task.score(e.prompt, e.response).parts[key], 0) / examples.length;
  for (const key of ["line_count", "chars_per_line", "clean"]) assert.equal(mean(key), 1, key);
  assert.ok(mean("punctuation") > 0.95, `punctuation ${mean("punctuation")}`);
  assert.ok(mean("rhyme") > 0.6, `rhyme ${mean("rhyme")}`);
  // The mood preference: the same form parts, full variety.
  const mood = await loadTask("poetry-zh");
  const moodMean = (key: string) => examples.reduce((s, e) => s + mood.score(e.prompt, e.response).parts[key], 0) / examples.length;
  for (const key of ["line_count", "chars_per_line", "clean"]) assert.equal(moodMean(key), 1, key);
  assert.ok(moodMean("variety") > 0.99, `variety ${moodMean("variety")}`);
});

Deno.test("rankByScore() orders responses best to worst", () => {
  const task = poetryTask([], { preference: "rules" });
  const prompt = { id: "p", messages: [], constraints: { chars_per_line: 5, n_lines: 4 } };
  const order = rankByScore(task, prompt, ["乱码abc", JINGYESI, "床前明月光，疑是地上霜。"]);
  assert.deepEqual(order, [1, 2, 0]);
  assert.throws(() => loadTask("nope"), /task "nope" is unknown; expected one of poetry-zh/);
});

Deno.test("prompts() come in a seeded random order, so that a prefix (a PPO batch, the prompts to label) is a fair sample", async () => {
  const task = await loadTask("poetry-zh");
  const all = task.prompts("train", 0);
  assert.deepEqual(task.prompts("train", 0).map((p) => p.id), all.map((p) => p.id), "same seed, same order");
  const other = task.prompts("train", 1);
  assert.notDeepEqual(other.slice(0, 64).map((p) => p.id), all.slice(0, 64).map((p) => p.id));
  assert.deepEqual(new Set(other.map((p) => p.id)), new Set(all.map((p) => p.id)), "same prompts");
  // The poems file is grouped by collection ("tang.<collection>.<n>"): a batch of 64 must mix many.
  const collections = new Set(all.slice(0, 64).map((p) => p.id.split(".").slice(0, 2).join(".")));
  assert.ok(collections.size > 20, `the first 64 prompts come from only ${collections.size} collections`);
  // …and the forms in roughly their overall proportions (4-line vs 8-line requests).
  const share = (ps: typeof all) => ps.filter((p) => p.constraints.n_lines === 4).length / ps.length;
  assert.ok(Math.abs(share(all.slice(0, 256)) - share(all)) < 0.1, `${share(all.slice(0, 256))} vs ${share(all)}`);
});

Deno.test("every request leaves room for its poem in a 128-token context (long titles are not asked for)", async () => {
  const task = await loadTask("poetry-zh");
  const requests = [...task.prompts("train", 0), ...task.prompts("heldout", 0), ...task.sftExamples("train", 0).map((e) => e.prompt)];
  const longest = Math.max(...requests.map((p) => [...p.messages[0].content].length));
  // A 七言律诗 takes 8 × 8 characters + 4 newlines + the end token = 69 tokens; the chat template adds < 10.
  assert.ok(longest + 10 + 69 <= 128, `the longest request has ${longest} characters`);
});

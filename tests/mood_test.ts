/**
 * The mood preference of 诗词助手 (the default): the reviewed valence list,
 * each part of the gold score, the labeler that ranks by it, and PPO raising
 * such a reward on a tiny model.
 */
import { checkValenceList, loadValenceList, moodClass, readMood, varietyScore } from "../lib/tasks/poetry_zh/mood.ts";
import { FORM_PARTS, scoreMoodPoem } from "../lib/tasks/poetry_zh/scorer.ts";
import { loadPoetryTask } from "../lib/tasks/poetry_zh/task.ts";
import { loadTask } from "../lib/tasks/registry.ts";
import { loadPoems } from "../lib/corpus/poems.ts";
import { SimulatedLabeler } from "../lib/reward/simulated_labeler.ts";
import { assert, rankByScore } from "./helpers.ts";

const valence = await loadValenceList();
const quatrain = { chars_per_line: 5, n_lines: 4 };

Deno.test("the valence list: single characters, none in both lists, each with a gloss, enough of each", () => {
  const bright = Object.keys(valence.bright), sorrowful = Object.keys(valence.sorrowful);
  assert.ok(bright.length >= 30 && sorrowful.length >= 30, `${bright.length} bright, ${sorrowful.length} sorrowful`);
  for (const c of [...bright, ...sorrowful]) assert.equal([...c].length, 1, c);
  assert.equal(bright.filter((c) => sorrowful.includes(c)).length, 0);
  assert.throws(() => checkValenceList({ bright: { "喜": "joy" }, sorrowful: { "喜": "x" } }, "v.json"), /v\.json: 喜 listed as both/);
  assert.throws(
    () => checkValenceList({ bright: { "春光": "spring light" }, sorrowful: {} }, "v.json"),
    /v\.json: bright: "春光" must be one character/,
  );
  assert.throws(() => checkValenceList({ bright: [] }, "v.json"), /v\.json: field "bright"/);
});

Deno.test("readMood counts each listed character once: repeating a bright character earns nothing more", () => {
  assert.deepEqual(readMood("喜喜喜喜喜", valence).net, 1);
  const r = readMood("欢歌笑语晴风暖，孤客泪沾衣。", valence);
  assert.deepEqual([r.bright.sort(), r.sorrowful.sort()], [["欢", "歌", "晴", "暖"].sort(), ["孤", "泪"].sort()]);
  assert.equal(r.net, 2);
  assert.ok(Math.abs(r.mood - 1 / (1 + Math.exp(-2))) < 1e-12);
  assert.equal(readMood("青山横北郭", valence).mood, 0.5);
  assert.deepEqual([moodClass(2), moodClass(0), moodClass(-1)], ["bright", "even", "sorrowful"]);
});

Deno.test("varietyScore: real poems score 1, a few characters repeated over and over score 0", () => {
  assert.equal(varietyScore("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"), 1);
  assert.equal(varietyScore("喜喜喜喜喜，喜喜喜喜喜。"), 0);
  const half = varietyScore("春光春光春，花开花开花。"); // 4 distinct of 10
  assert.equal(half, 0);
  assert.equal(varietyScore(""), 0);
});

Deno.test("scoreMoodPoem: bright beats sorrowful at equal form; broken form or spam loses what the mood earns", () => {
  const bright = scoreMoodPoem("晴日花香暖，欢歌满池塘。\n莺飞桃李艳，佳节喜年芳。", quatrain, valence);
  const sorrowful = scoreMoodPoem("孤客泪沾裳，秋风断客肠。\n寒灯残梦冷，老病卧他乡。", quatrain, valence);
  for (const k of FORM_PARTS) assert.equal(bright.parts[k], 1, k);
  assert.equal(bright.parts.variety, 1);
  assert.ok(bright.total > 0.9 && sorrowful.total < 0.1, `${bright.total} vs ${sorrowful.total}`);
  const spam = scoreMoodPoem("喜欢歌舞喜欢歌舞喜欢歌舞喜欢歌舞", quatrain, valence); // no lines, repeats
  assert.ok(spam.parts.line_count < 0.5 && spam.parts.variety === 0 && spam.total === 0, JSON.stringify(spam));
  const extraLines = scoreMoodPoem("晴日花香暖，欢歌满池塘。\n莺飞桃李艳，佳节喜年芳。\n嘉宴欢声好，鲜花丽日长。", quatrain, valence);
  assert.ok(extraLines.total < bright.total, "two lines too many cost more than their bright characters earn");
});

Deno.test("the poetry task: mood is the default preference, rules a named task; labels never mix the two", async () => {
  const mood = await loadTask("poetry-zh");
  const rules = await loadTask("poetry-zh-rules");
  assert.equal(mood.preference?.name, "mood");
  assert.equal(rules.preference?.name, "rules");
  assert.notEqual(mood.name, rules.name);
  const prompt = mood.prompts("train", 0)[0];
  const answer = "晴日花香暖，欢歌满池塘。\n莺飞桃李艳，佳节喜年芳。";
  assert.deepEqual(Object.keys(mood.score(prompt, answer).parts), [...FORM_PARTS, "variety", "mood"]);
  assert.ok("rhyme" in rules.score(prompt, answer).parts);
  assert.equal(new SimulatedLabeler({ seed: 2, preference: mood.preference!.name }).name, "simulated:mood:2");
  // The preference's version follows the word list, so labels made under another list are never reused.
  const { poetryTask } = await import("../lib/tasks/poetry_zh/task.ts");
  const other = poetryTask([], { valence: { bright: { "喜": "joy" }, sorrowful: {} } });
  assert.match(mood.preference!.version!, /^[0-9a-f]{8}$/);
  assert.notEqual(other.preference!.version, mood.preference!.version);
});

Deno.test("the simulated labeler ranks by mood, the same way every time for the same list", async () => {
  const task = await loadPoetryTask();
  const prompt = { ...task.prompts("train", 0)[0], constraints: { chars_per_line: 5, n_lines: 4, form: "五言绝句" } };
  const answers = [
    "孤客泪沾裳，秋风断客肠。\n寒灯残梦冷，老病卧他乡。",
    "青山横北郭，白水绕东城。\n此地一为别，孤蓬万里征。",
    "晴日花香暖，欢歌满池塘。\n莺飞桃李艳，佳节喜年芳。",
  ];
  assert.deepEqual(rankByScore(task, prompt, answers), [2, 1, 0]);
  const scores = answers.map((a) => task.score(prompt, a).total);
  const labeler = () => new SimulatedLabeler({ temperature: 0.02, seed: 5, preference: "mood" });
  assert.deepEqual(labeler().rank(scores, "k"), labeler().rank(scores, "k"));
  assert.deepEqual(labeler().rank(scores, "k"), [2, 1, 0]);
});

Deno.test("headroom: the bundled poems are neither mostly bright nor mostly sorrowful", async () => {
  const poems = await loadPoems();
  const classes = { bright: 0, even: 0, sorrowful: 0 };
  for (const p of poems) classes[moodClass(readMood(p.lines.join(""), valence).net)]++;
  const share = (n: number) => n / poems.length;
  // Measured: 20 % bright, 34 % even, 46 % sorrowful: Tang poems lean melancholy, as the preference needs.
  assert.ok(share(classes.bright) > 0.1 && share(classes.bright) < 0.5, JSON.stringify(classes));
  assert.ok(share(classes.sorrowful) > 0.3, JSON.stringify(classes));
});

import { DEFAULT_POEMS_PATH, loadPoems, poemText, splitPoems } from "../lib/corpus/poems.ts";
import { assert } from "./helpers.ts";

Deno.test("loadPoems() reads the bundled corpus: valid poems, a disjoint held-out split", async () => {
  const poems = await loadPoems(DEFAULT_POEMS_PATH);
  assert.ok(poems.length >= 10000, `${poems.length} poems`);
  const { train, heldout } = splitPoems(poems);
  assert.ok(heldout.length > 100 && heldout.length < poems.length / 10);
  const trainIds = new Set(train.map((p) => p.id));
  assert.ok(heldout.every((p) => !trainIds.has(p.id)));
  assert.equal(new Set(poems.map((p) => p.id)).size, poems.length, "ids are unique");
  assert.ok(poems.some((p) => p.author === "李白" && p.chars_per_line === 5 && p.n_lines === 4), "a 五言绝句 by 李白");
  for (const form of [[5, 4], [7, 4], [5, 8], [7, 8]]) {
    assert.ok(poems.some((p) => p.chars_per_line === form[0] && p.n_lines === form[1]), `form ${form}`);
  }
});

Deno.test("poemText() writes one couplet a row", () => {
  const poem = {
    id: "x",
    title: "t",
    author: "a",
    chars_per_line: 5 as const,
    n_lines: 4 as const,
    split: "train" as const,
    lines: ["床前明月光，", "疑是地上霜。", "举头望明月，", "低头思故乡。"],
  };
  assert.equal(poemText(poem), "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。");
});

Deno.test("loadPoems() names the file and line of bad records", async () => {
  const good = JSON.stringify({
    id: "a",
    title: "t",
    author: "z",
    chars_per_line: 5,
    n_lines: 4,
    split: "train",
    lines: ["床前明月光，", "疑是地上霜。", "举头望明月，", "低头思故乡。"],
  });
  const cases: [string, RegExp][] = [
    [`${good}\n{not json`, /:2: invalid JSON/],
    [`${good}\n\n${good.replace('"title":"t"', '"title":""')}`, /:3: field "title" must be a non-empty string/],
    [good.replace('"lines":[', '"lines":["太长的一行诗句啊，",'), /:1: field "lines" has 5 lines, n_lines says 4/],
    [good.replace("床前明月光，", "床前明月，"), /:1: line 1 "床前明月，" must be 5 Chinese characters/],
    [good.replace('"split":"train"', '"split":"test"'), /:1: field "split" must be "train" or "heldout"/],
    ["\n\n", /no poems/],
  ];
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    for (const [content, pattern] of cases) {
      await Deno.writeTextFile(path, content);
      await assert.rejects(() => loadPoems(path), (err: Error) => {
        assert.match(err.message, pattern);
        assert.ok(err.message.startsWith(path), err.message);
        return true;
      });
    }
  } finally {
    await Deno.remove(path);
  }
});

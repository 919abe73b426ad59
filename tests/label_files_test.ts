import { exportPreferencePairs } from "../lib/dpo/export_pairs.ts";
import { classAgreement } from "../lib/labeling/class_agreement.ts";
import { labelerAgreementMetrics, labelerAgreementParagraph } from "../lib/report/labeler_agreement.ts";
import { labelFilesOf, loadLabelFiles, mergeRankLists } from "../lib/reward/label_files.ts";
import { appendLabels, type RankRecord } from "../lib/reward/labels.ts";
import { loadTokenizer } from "../lib/tokenizer/io.ts";
import { assert } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const list = (labeler: string, responses: string[], time = "2026-01-01T09:00:00Z", prompt_id = "p1"): RankRecord => ({
  prompt_id,
  prompt: [{ role: "user", content: "写诗" }],
  responses,
  labeler,
  time,
  checkpoint: "sft",
  session: "s1",
});

Deno.test("mergeRankLists(): a repeated list counts once; the same labeler's two rankings of an item: the later one", () => {
  const early = list("ann", ["甲", "乙"], "2026-01-01T09:00:00Z");
  const late = list("ann", ["乙", "甲"], "2026-01-01T10:00:00Z");
  const bo = list("bo", ["甲", "乙"]);
  assert.deepEqual(mergeRankLists([early, bo, late, { ...bo, time: "2026-01-02T00:00:00Z" }]), [bo, late]);
  assert.deepEqual(mergeRankLists([late, early]), [late], "the later time wins whatever the order of the files");
});

Deno.test("labelFilesOf() / loadLabelFiles(): a directory is its .jsonl files in name order; a missing path is named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await appendLabels(`${dir}/b.jsonl`, [list("bo", ["甲", "乙"])]);
    await appendLabels(`${dir}/a.jsonl`, [list("ann", ["甲", "乙"]), list("ann", ["x", "y"], undefined, "p2")]);
    await Deno.writeTextFile(`${dir}/a.jsonl.items.json`, "{}"); // a session's other files are not label files
    assert.deepEqual(await labelFilesOf([dir]), [`${dir}/a.jsonl`, `${dir}/b.jsonl`]);
    assert.deepEqual(await labelFilesOf([dir, `${dir}/a.jsonl`]), [`${dir}/a.jsonl`, `${dir}/b.jsonl`], "each file once");
    const { lists } = await loadLabelFiles([dir]);
    assert.deepEqual(lists.map((l) => l.labeler), ["ann", "ann", "bo"]);
    await assert.rejects(() => labelFilesOf([`${dir}/none`]), Error, `${dir}/none: no such file or directory`);
    await Deno.mkdir(`${dir}/empty`);
    await assert.rejects(() => labelFilesOf([`${dir}/empty`]), Error, "a directory without .jsonl label files");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exportPreferencePairs({ labeler: true }): each pair names its labeler and session; without it, the records are as before", async () => {
  const tokenizer = (await loadTokenizer(`${ROOT}models/gpt2-poetry-zh`))!;
  const dir = await Deno.makeTempDir();
  try {
    const lists = [list("ann", ["甲", "乙", "丙"]), list("bo", ["乙", "甲"])];
    assert.equal(await exportPreferencePairs(lists, tokenizer, `${dir}/with.jsonl`, { labeler: true }), 4);
    const records = (await Deno.readTextFile(`${dir}/with.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => [r.labeler, r.session]), [["ann", "s1"], ["ann", "s1"], ["ann", "s1"], ["bo", "s1"]]);
    await exportPreferencePairs(lists, tokenizer, `${dir}/without.jsonl`);
    const plain = JSON.parse((await Deno.readTextFile(`${dir}/without.jsonl`)).split("\n")[0]);
    assert.deepEqual(Object.keys(plain), ["prompt", "chosen", "rejected"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the report's labeler paragraph: the RM's accuracy beside the people's agreement; nothing without two people", () => {
  const a = classAgreement([list("ann", ["甲", "乙"]), list("bo", ["乙", "甲"])]);
  const html = labelerAgreementParagraph({ labelerAgreement: a, heldoutAccuracy: { pairwise: 0.7, exactOrder: 0.3 } });
  assert.match(html, /held-out accuracy 70\.0 %/);
  assert.match(html, /labeler–labeler agreement 0\.0 % on 1 shared pairs/);
  assert.equal(labelerAgreementParagraph({ heldoutAccuracy: { pairwise: 0.7, exactOrder: 0.3 } }), "");
  const m = labelerAgreementMetrics(a);
  assert.deepEqual([m.labelers, m.pairwise, m.kendall_w.lists], [2, { pairs: 1, agreement: 0 }, 1]);
});

Deno.test("deno task export-prefs --labels DIR --with-labeler; deno task rlhf --labels with a missing directory exits 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await appendLabels(`${dir}/class/s1.jsonl`, [list("ann", ["甲", "乙"]), list("bo", ["乙", "甲"])]);
    const run = (script: string, args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `scripts/${script}.ts`, ...args],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      })
        .output();
    const out = await run("export_prefs", [
      "--labels",
      `${dir}/class`,
      "--with-labeler",
      "--checkpoint",
      "models/gpt2-poetry-zh",
      "--out",
      `${dir}/p.jsonl`,
    ]);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const records = (await Deno.readTextFile(`${dir}/p.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.labeler), ["ann", "bo"]);
    for (const [script, args] of [["rlhf", ["--labels", `${dir}/nowhere`]], ["export_prefs", ["--labels", `${dir}/nowhere`]]] as const) {
      const bad = await run(script, [...args]);
      assert.equal(bad.code, 2, script);
      assert.match(new TextDecoder().decode(bad.stderr), /--labels .*nowhere: no such file or directory/);
      assert.doesNotMatch(new TextDecoder().decode(bad.stderr), /\n\s+at /, "no stack trace");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

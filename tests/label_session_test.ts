/** The labelling session and its HTTP API (no browser; see label_page_test.ts for the page). */
import { LabelSession, RankingError } from "../lib/labeling/session.ts";
import { startLabelServer } from "../lib/labeling/server.ts";
import { loadLabels } from "../lib/reward/labels.ts";
import { assert } from "./helpers.ts";

import { ITEMS } from "./fixtures/label_items.ts";

Deno.test("LabelSession: rank, skip, undo, and refused ties", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/human.jsonl`;
  try {
    const session = new LabelSession(ITEMS, { labelsPath: path, labeler: "李老师", checkpoint: "checkpoints/sft" });
    await assert.rejects(() => session.rank([0, 0, 1]), RankingError);
    await session.rank([2, 0, 1]);
    assert.deepEqual((await loadLabels(path)).map((r) => r.responses), [["丙答", "甲答", "乙答"]]);
    session.skip();
    assert.equal((await session.state()).item, undefined);
    await session.undo(); // the skip
    assert.equal((await session.state()).item?.prompt_id, "p2");
    await session.undo(); // the ranking: removed from the file
    const s = await session.state();
    assert.equal(s.item?.prompt_id, "p1");
    assert.equal(s.labelled, 0);
    assert.equal(s.canUndo, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("label server: JSON API on 127.0.0.1 with clear errors", async () => {
  const dir = await Deno.makeTempDir();
  const session = new LabelSession(ITEMS, { labelsPath: `${dir}/h.jsonl`, labeler: "t", checkpoint: "c" });
  const server = startLabelServer(session, { port: 0 });
  try {
    assert.ok(server.url.startsWith("http://127.0.0.1:"));
    const state = await (await fetch(`${server.url}api/state`)).json();
    assert.equal(state.total, 2);
    const tie = await fetch(`${server.url}api/rank`, { method: "POST", body: JSON.stringify({ order: [1, 1, 0] }) });
    assert.equal(tie.status, 409);
    assert.match((await tie.json()).error, /ties cannot be saved/);
    const bad = await fetch(`${server.url}api/rank`, { method: "POST", body: "nope" });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const ok = await fetch(`${server.url}api/rank`, { method: "POST", body: JSON.stringify({ order: [0, 1, 2] }) });
    assert.equal((await ok.json()).labelled, 1);
    const page = await fetch(server.url);
    assert.match(await page.text(), /Rank the answers/);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The labelling session and its HTTP API (no browser; see label_page_test.ts for the page). */
import { pathExists } from "../lib/fs.ts";
import { LabelSession, RankingError } from "../lib/labeling/session.ts";
import { startLabelServer } from "../lib/labeling/server.ts";
import { appendLabels, loadLabels, type RankRecord } from "../lib/reward/labels.ts";
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
    await session.skip();
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

Deno.test("LabelSession: ties and 'all bad' are saved as ranks; the reward model's pairs leave tied ones out", async () => {
  const { preferencePairs } = await import("../lib/dpo/preference_pairs.ts");
  const dir = await Deno.makeTempDir();
  const path = `${dir}/human.jsonl`;
  try {
    const session = new LabelSession(ITEMS, { labelsPath: path, labeler: "李老师", checkpoint: "checkpoints/sft" });
    await session.rank([2, 0, 1], { ranks: [1, 2, 2] }); // 丙 best, 甲 and 乙 equally good
    await session.rank([0, 1], { ranks: [1, 1] }); // all bad: the whole list tied
    const [tied, allBad] = await loadLabels(path);
    assert.deepEqual([tied.responses, tied.ranks], [["丙答", "甲答", "乙答"], [1, 2, 2]]);
    assert.deepEqual(allBad.ranks, [1, 1]);
    // What the reward model and DPO learn from: the untied pairs only (丙 over 甲, 丙 over 乙); nothing from the all-bad list.
    assert.deepEqual(preferencePairs([tied, allBad]).map((p) => [p.chosen, p.rejected]), [["丙答", "甲答"], ["丙答", "乙答"]]);
    // Back on a tied item shows the earlier order and its ties; a strict order is written without ranks.
    await session.back();
    const s = await session.state();
    assert.deepEqual([s.ranked, s.rankedTies], [[0, 1], [1, 1]]);
    await session.rank([1, 0], { ranks: [1, 2] });
    assert.equal((await loadLabels(path))[1].ranks, undefined);
    await assert.rejects(() => session.back().then(() => session.rank([0, 1], { ranks: [2, 2] })), RankingError);
    await assert.rejects(() => session.rank([0, 1], { ranks: [1] }), RankingError); // one rank short: refused, not read as strict
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
    const html = await (await fetch(server.url)).text();
    assert.match(html, /Rank the answers/);
    const token = html.match(/LABEL_TOKEN = "([0-9a-f-]+)"/)?.[1];
    assert.ok(token, "the page carries the server's token");
    const post = (path: string, body: string) =>
      fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json", "x-label-token": token! }, body });
    const state = await (await fetch(`${server.url}api/state`)).json();
    assert.equal(state.total, 2);
    const tie = await post("api/rank", JSON.stringify({ order: [1, 1, 0], index: 0 }));
    assert.equal(tie.status, 409);
    assert.match((await tie.json()).error, /once each.*mark a tie/);
    const badRanks = await post("api/rank", JSON.stringify({ order: [0, 1, 2], index: 0, ranks: [1, 3, 3] }));
    assert.equal(badRanks.status, 409);
    assert.match((await badRanks.json()).error, /"ranks" must give each response its rank/);
    for (const ranks of ["1,2,2", [1, 2]]) {
      const notRanks = await post("api/rank", JSON.stringify({ order: [0, 1, 2], index: 0, ranks }));
      assert.equal(notRanks.status, 400);
      await notRanks.body?.cancel();
    }
    const bad = await post("api/rank", "nope");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const ok = await post("api/rank", JSON.stringify({ order: [0, 1, 2], index: 0 }));
    assert.equal((await ok.json()).labelled, 1);
    const wrongMethod = await fetch(`${server.url}api/rank`);
    assert.equal(wrongMethod.status, 405);
    await wrongMethod.body?.cancel();
    // A huge refused body is not echoed back.
    const huge = await post("api/rank", JSON.stringify({ order: Array.from({ length: 100_000 }, (_, i) => i), index: 1 }));
    assert.equal(huge.status, 409);
    assert.ok((await huge.text()).length < 500);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("label server: only its own page can write (Host, Origin, content type, token); refused requests change nothing", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/h.jsonl`;
  const session = new LabelSession(ITEMS, { labelsPath: path, labeler: "t", checkpoint: "c" });
  const server = startLabelServer(session, { port: 0 });
  const port = new URL(server.url).port;
  try {
    const token = (await (await fetch(server.url)).text()).match(/LABEL_TOKEN = "([0-9a-f-]+)"/)![1];
    const body = JSON.stringify({ order: [2, 1, 0], index: 0 });
    const attempts: [string, Record<string, string>][] = [
      ["foreign Origin", { origin: "http://evil.example", "content-type": "application/json", "x-label-token": token }],
      ["another local origin", { origin: "http://127.0.0.1:1", "content-type": "application/json", "x-label-token": token }],
      ["no Origin, simple content type", { "content-type": "text/plain", "x-label-token": token }],
      ["no token", { origin: `http://127.0.0.1:${port}`, "content-type": "application/json" }],
      ["wrong token", { "content-type": "application/json", "x-label-token": "guess" }],
    ];
    for (const [what, headers] of attempts) {
      const res = await fetch(`${server.url}api/rank`, { method: "POST", headers, body });
      assert.equal(res.status, 403, what);
      await res.body?.cancel();
    }
    // DNS rebinding: the request reaches 127.0.0.1 under another name.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    await conn.write(new TextEncoder().encode(`GET /api/state HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`));
    const reply = new Uint8Array(4096);
    const n = await conn.read(reply);
    conn.close();
    assert.match(new TextDecoder().decode(reply.subarray(0, n ?? 0)), /^HTTP\/1\.1 403/);
    assert.equal((await session.state()).labelled, 0);
    assert.equal(await pathExists(path), false, "nothing was written");
    // The page's own request, with everything right, is accepted.
    const ok = await fetch(`${server.url}api/rank`, {
      method: "POST",
      headers: { origin: `http://127.0.0.1:${port}`, "content-type": "application/json", "x-label-token": token },
      body,
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("label session: submits that arrive together are applied one at a time, and a repeated one never ranks the next item", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/h.jsonl`;
  const session = new LabelSession(ITEMS, { labelsPath: path, labeler: "t", checkpoint: "c" });
  try {
    // A double click: the same ranking of item 0 twice at once. One is saved, the other refused.
    const results = await Promise.allSettled([session.rank([0, 1, 2], { index: 0 }), session.rank([0, 1, 2], { index: 0 })]);
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    assert.equal((await loadLabels(path)).length, 1);
    assert.equal((await session.state()).index, 1);
    // Skip and undo at once still end in a consistent state.
    await Promise.all([session.skip(), session.undo(), session.undo()]);
    const s = await session.state();
    assert.equal(s.index, 0);
    assert.equal((await loadLabels(path)).length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The page's token and a POST that carries it, as the page sends it. */
async function pageClient(url: string) {
  const token = (await (await fetch(url)).text()).match(/LABEL_TOKEN = "([0-9a-f-]+)"/)![1];
  return (path: string, body: unknown) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-label-token": token },
      body: JSON.stringify(body),
    });
}

Deno.test("label server: a ranking must say which item it ranks (index, a non-negative integer); anything else is 400 naming the field", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/h.jsonl`;
  const server = startLabelServer(new LabelSession(ITEMS, { labelsPath: path, labeler: "t", checkpoint: "c" }), { port: 0 });
  try {
    const post = await pageClient(server.url);
    for (const index of ["0", undefined, null, -1, 0.5, 1e300, true, [0]]) {
      const res = await post("api/rank", { order: [0, 1, 2], index });
      assert.equal(res.status, 400, `index ${JSON.stringify(index)}`);
      assert.match((await res.json()).error, /"index"/);
    }
    for (const order of ["0,1,2", { 0: 0 }, undefined]) {
      const res = await post("api/rank", { order, index: 0 });
      assert.equal(res.status, 400, `order ${JSON.stringify(order)}`);
      assert.match((await res.json()).error, /"order"/);
    }
    assert.equal(await pathExists(path), false, "nothing was written");
    const ok = await post("api/rank", { order: [0, 1, 2], index: 0 });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).index, 1);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

const THREE = [...ITEMS, { prompt_id: "p3", prompt: [{ role: "user" as const, content: "写一首词" }], responses: ["春", "秋"] }];

const line = (item: (typeof THREE)[number], responses: string[], labeler: string): RankRecord => ({
  prompt_id: item.prompt_id,
  prompt: item.prompt,
  responses,
  labeler,
  time: "2026-11-28T18:00:00Z",
  checkpoint: "c",
});

Deno.test("label session: a restarted session resumes at the first item this labeler has not ranked, and says how many are done", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/h.jsonl`;
  const open = (labeler: string) => new LabelSession(THREE, { labelsPath: path, labeler, checkpoint: "c" });
  try {
    const first = open("李老师");
    await first.rank([0, 1, 2], { index: 0 });
    // Item 3 was ranked earlier (e.g. after skipping item 2); the same prompt with other responses is another item.
    await appendLabels(path, [line(THREE[2], ["秋", "春"], "李老师"), line(THREE[1], ["二", "三"], "李老师")]);
    const again = await open("李老师").state();
    assert.equal(again.index, 1, "resumes at item 2");
    assert.equal(again.done, 2);
    assert.equal(again.total, 3);
    assert.equal(again.item?.prompt_id, "p2");
    const other = await open("王同学").state();
    assert.equal(other.index, 0, "another labeler's rankings are not theirs");
    assert.equal(other.done, 0);
    // Ranking item 2 passes over item 3 (already ranked): everything is done.
    const resumed = open("李老师");
    await resumed.rank([1, 0], { index: 1 });
    const end = await resumed.state();
    assert.equal(end.item, undefined);
    assert.equal(end.done, 3);
    assert.equal((await open("李老师").state()).item, undefined, "a restart after the last item shows the end");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("label session: going back to a ranked item and ranking it again replaces the labeler's line in place; undo puts the old one back", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/h.jsonl`;
  try {
    await appendLabels(path, [line(THREE[0], ["乙答", "甲答", "丙答"], "王同学")]);
    const first = new LabelSession(THREE, { labelsPath: path, labeler: "李老师", checkpoint: "c" });
    await first.rank([2, 0, 1], { index: 0 });
    await first.rank([0, 1], { index: 1 });
    await appendLabels(path, [line(THREE[2], ["秋", "春"], "王同学")]);
    const before = (await Deno.readTextFile(path)).split("\n");
    // After a restart (nothing to undo in this session), Back goes to item 2 and shows the earlier order.
    const session = new LabelSession(THREE, { labelsPath: path, labeler: "李老师", checkpoint: "c" });
    assert.equal((await session.state()).index, 2);
    await session.back();
    const revisit = await session.state();
    assert.equal(revisit.index, 1);
    assert.deepEqual(revisit.ranked, [0, 1], "the earlier order, as indices of the shown responses");
    await session.rank([1, 0], { index: 1 });
    const after = (await Deno.readTextFile(path)).split("\n");
    assert.equal(after.length, before.length, "replaced, not added");
    assert.deepEqual(JSON.parse(after[2]).responses, ["二", "一"]);
    assert.deepEqual([after[0], after[1], after[3]], [before[0], before[1], before[3]], "other lines byte for byte");
    assert.equal((await session.state()).index, 2, "then on to the first item not ranked yet");
    assert.equal((await loadLabels(path)).length, 4);
    // Undo takes the new ranking back: the earlier line returns, byte for byte, and the item is shown again.
    await session.undo();
    assert.deepEqual((await Deno.readTextFile(path)).split("\n"), before);
    assert.equal((await session.state()).index, 1);
    // Back stops at the first item.
    await session.back();
    await session.back();
    assert.equal((await session.state()).index, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("label server: Back and a new ranking of an earlier item are accepted (200), not refused as a conflict", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/h.jsonl`;
  const server = startLabelServer(new LabelSession(ITEMS, { labelsPath: path, labeler: "t", checkpoint: "c" }), { port: 0 });
  try {
    const post = await pageClient(server.url);
    assert.equal((await post("api/rank", { order: [0, 1, 2], index: 0 })).status, 200);
    const back = await post("api/back", {});
    assert.equal(back.status, 200);
    const shown = await back.json();
    assert.equal(shown.index, 0);
    assert.deepEqual(shown.ranked, [0, 1, 2]);
    const again = await post("api/rank", { order: [2, 1, 0], index: 0 });
    assert.equal(again.status, 200, await again.clone().text());
    assert.equal((await again.json()).labelled, 1);
    assert.deepEqual((await loadLabels(path)).map((r) => r.responses), [["丙答", "乙答", "甲答"]]);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The labelling session and its HTTP API (no browser; see label_page_test.ts for the page). */
import { pathExists } from "../lib/fs.ts";
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
    const tie = await post("api/rank", JSON.stringify({ order: [1, 1, 0] }));
    assert.equal(tie.status, 409);
    assert.match((await tie.json()).error, /ties cannot be saved/);
    const bad = await post("api/rank", "nope");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const ok = await post("api/rank", JSON.stringify({ order: [0, 1, 2], index: 0 }));
    assert.equal((await ok.json()).labelled, 1);
    const wrongMethod = await fetch(`${server.url}api/rank`);
    assert.equal(wrongMethod.status, 405);
    await wrongMethod.body?.cancel();
    // A huge refused body is not echoed back.
    const huge = await post("api/rank", JSON.stringify({ order: Array.from({ length: 100_000 }, (_, i) => i) }));
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
    const body = JSON.stringify({ order: [2, 1, 0] });
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
    const results = await Promise.allSettled([session.rank([0, 1, 2], 0), session.rank([0, 1, 2], 0)]);
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

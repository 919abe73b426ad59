/** A class session's HTTP API: joining, tokens, the teacher's view, forged requests, limits, 30 students at once, a restart. */
import { Classroom } from "../lib/labeling/classroom.ts";
import { type ClassServer, type ClassServerOptions, startClassServer } from "../lib/labeling/class_server.ts";
import { loadLabels } from "../lib/reward/labels.ts";
import { CLASS_ITEMS } from "./fixtures/class_items.ts";
import { assert } from "./helpers.ts";

async function openClass(dir: string, options: ClassServerOptions = {}, students = 4) {
  const labelsPath = `${dir}/class.jsonl`;
  const room = await Classroom.open(CLASS_ITEMS, {
    labelsPath,
    session: "s1",
    checkpoint: "sft",
    assignment: { overlap: 5, perList: 2, students },
  });
  const server = startClassServer(room, { port: 0, ...options });
  return { room, server, labelsPath };
}

const post = (server: ClassServer, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

/** Sends a raw HTTP request and returns the whole response text. */
async function raw(port: string, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  await conn.write(new TextEncoder().encode(request));
  const chunks: string[] = [];
  const buf = new Uint8Array(4096);
  for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) chunks.push(new TextDecoder().decode(buf.subarray(0, n)));
  conn.close();
  return chunks.join("");
}

async function join(server: ClassServer, code: string, name: string): Promise<string> {
  const res = await post(server, "api/join", { code, name });
  const body = await res.json();
  assert.equal(res.status, 200, body.error);
  return body.token;
}

/** Ranks a student's current item: the answers in the order shown reversed. */
async function rankCurrent(server: ClassServer, token: string) {
  const state = await (await fetch(`${server.url}api/state`, { headers: { "x-label-token": token } })).json();
  if (!state.item) return undefined;
  const order = state.item.responses.map((_: string, i: number) => i).reverse();
  const res = await post(server, "api/rank", { order, index: state.index }, { "x-label-token": token });
  return { status: res.status, body: await res.json(), state };
}

Deno.test("class server: join with the code and a name, rank only as yourself; the teacher's view shows progress and agreement", async () => {
  const dir = await Deno.makeTempDir();
  const { room, server, labelsPath } = await openClass(dir);
  try {
    const wrong = await post(server, "api/join", { code: "NOPE00", name: "ann" });
    assert.equal(wrong.status, 409);
    assert.match((await wrong.json()).error, /wrong join code/);
    const ann = await join(server, room.code.toLowerCase(), " ann ");
    const bo = await join(server, room.code, "bo");
    const taken = await post(server, "api/join", { code: room.code, name: "ann" });
    assert.equal(taken.status, 409);
    assert.match((await taken.json()).error, /"ann" is taken/);
    for (const name of ["", "x".repeat(41), "simulated:0", "a\nb"]) {
      const res = await post(server, "api/join", { code: room.code, name });
      assert.equal(res.status, 409, JSON.stringify(name));
      await res.body?.cancel();
    }
    // Each ranks every list of their queue; lines carry their own name and the session.
    for (const token of [ann, bo]) while ((await rankCurrent(server, token))) { /* next */ }
    const lists = await loadLabels(labelsPath);
    assert.deepEqual(new Set(lists.map((l) => l.labeler)), new Set(["ann", "bo"]));
    assert.ok(lists.every((l) => l.session === "s1"));
    assert.equal(lists.length, room.assignment.queue(0).length + room.assignment.queue(1).length);
    assert.deepEqual([room.assignment.queue(0).length, room.assignment.queue(1).length], [13, 13]); // 5 shared + 8 of the other 15
    // The teacher's view needs the teacher's token (a student's is not enough).
    const teacherToken = new URL(server.teacherUrl).hash.slice(1);
    const asStudent = await fetch(`${server.url}api/class`, { headers: { "x-label-token": ann } });
    assert.equal(asStudent.status, 403);
    await asStudent.body?.cancel();
    const view = await (await fetch(`${server.url}api/class`, { headers: { "x-label-token": teacherToken } })).json();
    assert.deepEqual(view.students.map((s: { name: string; done: number; total: number }) => [s.name, s.done === s.total]), [
      ["ann", true],
      ["bo", true],
    ]);
    assert.equal(view.agreement.kendallW.items, 5, "W over the overlap set");
    // Lists outside the overlap set that fewer than two students ranked, as the teacher sees them.
    const shared = new Set(room.assignment.overlap);
    const rankedBy = (i: number) => lists.filter((l) => l.prompt_id === CLASS_ITEMS[i].prompt_id).length;
    const short = CLASS_ITEMS.map((_, i) => i).filter((i) => !shared.has(i) && rankedBy(i) < 2).length;
    assert.ok(short > 0, "two students of a class of more leave some lists short");
    assert.equal(view.shortOfRankers, short);
    assert.equal(view.agreement.pairwise.pooled.agreement, 1, "both reversed the same shown order");
    assert.match(view.lines[0], /labeler–labeler agreement/);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("class server: forged requests are refused and change nothing (Host, Origin, content type, tokens, other routes)", async () => {
  const dir = await Deno.makeTempDir();
  const { room, server, labelsPath } = await openClass(dir, { hostname: "127.0.0.1", host: "127.0.0.1" });
  const port = new URL(server.url).port;
  try {
    const ann = await join(server, room.code, "ann");
    const state = await (await fetch(`${server.url}api/state`, { headers: { "x-label-token": ann } })).json();
    const body = JSON.stringify({ order: [2, 1, 0], index: state.index });
    const teacher = new URL(server.teacherUrl).hash.slice(1);
    const attempts: [string, Record<string, string>][] = [
      ["foreign Origin", { origin: "http://evil.example", "content-type": "application/json", "x-label-token": ann }],
      ["text/plain (no preflight)", { "content-type": "text/plain", "x-label-token": ann }],
      ["form post", { "content-type": "application/x-www-form-urlencoded", "x-label-token": ann }],
      ["no token", { "content-type": "application/json" }],
      ["made-up token", { "content-type": "application/json", "x-label-token": crypto.randomUUID() }],
      ["the teacher's token", { "content-type": "application/json", "x-label-token": teacher }],
    ];
    for (const [what, headers] of attempts) {
      const res = await fetch(`${server.url}api/rank`, { method: "POST", headers, body });
      assert.equal(res.status, 403, what);
      await res.body?.cancel();
    }
    // A forged join from another page is refused the same way.
    const forgedJoin = await fetch(`${server.url}api/join`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ code: room.code, name: "mallory" }),
    });
    assert.equal(forgedJoin.status, 403);
    await forgedJoin.body?.cancel();
    // DNS rebinding: a Host other than the printed address (sent raw: fetch sets Host itself).
    const rebound = await raw(
      port,
      `POST /api/rank HTTP/1.1\r\nHost: evil.example:${port}\r\ncontent-type: application/json\r\n` +
        `x-label-token: ${ann}\r\ncontent-length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assert.match(rebound, /^HTTP\/1\.1 403/);
    // No route serves a file: paths that climb out, or name a file of the project, are 404 (sent raw, unnormalised).
    for (
      const path of [
        "/../deno.json",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/label/../../deno.json",
        "/lib/mod.ts",
        "/api/state/..%2f..%2fdeno.json",
      ]
    ) {
      const res = await raw(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      assert.match(res, /^HTTP\/1\.1 404/, path);
      assert.ok(!res.includes('"tasks"') && !res.includes("root:"), path);
    }
    assert.equal((await loadLabels(labelsPath)).length, 0, "nothing written");
    const roster = JSON.parse(await Deno.readTextFile(Classroom.rosterPath(labelsPath)));
    assert.deepEqual(roster.students.map((s: { name: string }) => s.name), ["ann"], "no forged student joined");
    assert.ok(!JSON.stringify(roster).includes(ann), "the roster keeps a hash of the token, not the token");
    // Started again with other spreading settings, the session is refused (the students would get other lists).
    await assert.rejects(
      () =>
        Classroom.open(CLASS_ITEMS, { labelsPath, session: "s1", checkpoint: "sft", assignment: { overlap: 6, perList: 2, students: 4 } }),
      Error,
      "this session spread its lists otherwise (overlap: 5 → 6)",
    );
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("class server: a body over the limit is refused unread (413), a flood is slowed (429)", async () => {
  const dir = await Deno.makeTempDir();
  const { room, server, labelsPath } = await openClass(dir, { maxBody: 1024, rate: { burst: 10, perSecond: 1 } });
  try {
    const ann = await join(server, room.code, "ann");
    const big = await post(server, "api/rank", { order: [0, 1, 2], index: 0, pad: "x".repeat(5000) }, { "x-label-token": ann });
    assert.equal(big.status, 413);
    await big.body?.cancel();
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const res = await fetch(`${server.url}api/state`, { headers: { "x-label-token": ann } });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.ok(statuses.includes(429), `statuses ${statuses}`);
    assert.ok(statuses.slice(0, 8).every((s) => s === 200), "the first requests of a burst pass");
    // Made-up tokens do not each get a bucket of their own: they count against the address they come from.
    const forged: number[] = [];
    for (let i = 0; i < 15; i++) {
      const res = await fetch(`${server.url}api/state`, { headers: { "x-label-token": crypto.randomUUID() } });
      forged.push(res.status);
      await res.body?.cancel();
    }
    assert.ok(forged.includes(429), `statuses ${forged}`);
    assert.equal((await loadLabels(labelsPath)).length, 0);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("class server: 30 students rank at once: every ranking saved once; a restarted server keeps them and the students' tokens", async () => {
  const dir = await Deno.makeTempDir();
  let { room, server, labelsPath } = await openClass(dir, {}, 30);
  try {
    const names = Array.from({ length: 30 }, (_, i) => `学生${i + 1}`);
    const tokens = await Promise.all(names.map((name) => join(server, room.code, name)));
    const rankAll = (token: string) =>
      (async () => {
        let n = 0;
        for (let r = await rankCurrent(server, token); r; r = await rankCurrent(server, token)) {
          assert.equal(r.status, 200, r.body.error);
          n++;
        }
        return n;
      })();
    // Half of each queue at once, then the server is stopped and started again on the same files.
    const half = async (token: string) => {
      for (let k = 0; k < 3; k++) assert.equal((await rankCurrent(server, token))!.status, 200);
    };
    await Promise.all(tokens.map(half));
    assert.equal((await loadLabels(labelsPath)).length, 90);
    await server.shutdown();
    ({ room, server, labelsPath } = await openClass(dir, {}, 30));
    const counts = await Promise.all(tokens.map(rankAll)); // the same tokens work after the restart
    const lists = await loadLabels(labelsPath);
    const expected = names.reduce((s, _, i) => s + room.assignment.queue(i).length, 0);
    assert.equal(lists.length, expected);
    assert.equal(counts.reduce((a, b) => a + b, 0) + 90, expected);
    const text = await Deno.readTextFile(labelsPath);
    assert.equal(text.trim().split("\n").length, expected, "no duplicated line");
    for (let i = 0; i < 30; i++) {
      assert.equal(lists.filter((l) => l.labeler === names[i]).length, room.assignment.queue(i).length, names[i]);
    }
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

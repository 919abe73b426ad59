/**
 * The labelling web page's server: 127.0.0.1 only (the page is for the
 * person at this computer), one HTML page and a small JSON API over a
 * LabelSession.
 *
 *   GET  /            the page
 *   GET  /api/state   {index, total, labelled, done, item, ranked?, canUndo, canGoBack}
 *   POST /api/rank    {"order": [2, 0, 1, 3], "index": 0, "ranks"?: [1, 2, 2, 3]}  (response indices, best first; the
 *                     item they rank, required; ties: the rank of each response in that order, all 1 = "all bad")
 *   POST /api/skip, POST /api/back, POST /api/undo
 *
 * What Back, Undo and ranking an earlier item again do is written in session.ts.
 *
 * Only its own page may write. Any other web page the person has open could
 * otherwise send "simple" cross-origin POSTs (text/plain needs no CORS
 * preflight) to 127.0.0.1, or reach it through DNS rebinding. So every request
 * must carry a Host of 127.0.0.1/localhost with this port, and every POST an
 * Origin of the same (or none), `content-type: application/json`, and the
 * secret token made at start and written into the page; anything else gets 403
 * and changes nothing.
 */
import { LABEL_PAGE_HTML } from "./page.ts";
import { type LabelSession, RankingError } from "./session.ts";

export interface LabelServer {
  readonly url: string;
  shutdown(): Promise<void>;
}

/**
 * Serves `session` on 127.0.0.1:`port` (0 = any free port).
 *
 * @example
 * ```ts
 * import { LabelSession, startLabelServer } from "rlhf";
 * const item = { prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses: ["春风", "秋雨"] };
 * const session = new LabelSession([item], { labelsPath: `${await Deno.makeTempDir()}/labels.jsonl`, labeler: "ann", checkpoint: "sft" });
 * const server = startLabelServer(session, { port: 0 }); // any free port
 * console.log(`rank at ${server.url}`);
 * await server.shutdown();
 * ```
 */
export function startLabelServer(session: LabelSession, options: { port?: number } = {}): LabelServer {
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
  const token = crypto.randomUUID();
  const page = LABEL_PAGE_HTML.replace("__LABEL_TOKEN__", token);
  const routes: Record<string, string> = {
    "/": "GET",
    "/api/state": "GET",
    "/api/rank": "POST",
    "/api/skip": "POST",
    "/api/back": "POST",
    "/api/undo": "POST",
  };
  let port = 0;
  const ownHosts = () => [`127.0.0.1:${port}`, `localhost:${port}`];
  const server = Deno.serve({ hostname: "127.0.0.1", port: options.port ?? 8765, onListen: () => {} }, async (req) => {
    const { pathname } = new URL(req.url);
    if (!ownHosts().includes(req.headers.get("host") ?? "")) return json({ error: "forbidden: unknown Host" }, 403);
    const method = routes[pathname];
    if (!method) return json({ error: `no route ${pathname}` }, 404);
    if (req.method !== method) return json({ error: `${pathname} takes ${method}` }, 405, { allow: method });
    if (method === "POST") {
      const origin = req.headers.get("origin");
      if (origin !== null && !ownHosts().some((h) => origin === `http://${h}`)) return json({ error: "forbidden: foreign Origin" }, 403);
      if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) {
        return json({ error: "forbidden: expected content-type application/json" }, 403);
      }
      if (req.headers.get("x-label-token") !== token) return json({ error: "forbidden: missing or wrong x-label-token" }, 403);
    }
    try {
      if (pathname === "/") {
        return new Response(page, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
      }
      if (pathname === "/api/state") return json(await session.state());
      if (pathname === "/api/rank") {
        const body = await req.json().catch(() => undefined);
        const ranking = rankRequest(body);
        if (typeof ranking === "string") return json({ error: ranking }, 400);
        await session.rank(ranking.order, { index: ranking.index, ranks: ranking.ranks });
        return json(await session.state());
      }
      await (pathname === "/api/skip" ? session.skip() : pathname === "/api/back" ? session.back() : session.undo());
      return json(await session.state());
    } catch (err) {
      if (err instanceof RankingError) return json({ error: err.message }, 409);
      return json({ error: `server error: ${(err as Error).message}` }, 500);
    }
  });
  port = server.addr.port;
  return { url: `http://127.0.0.1:${port}/`, shutdown: () => server.shutdown() };
}

/**
 * The body of POST /api/rank, or what is wrong with it (one line naming the field). `index` is required:
 * without it a second submit of the same ranking would rank whichever item is current by then.
 */
export function rankRequest(body: unknown): { order: number[]; index: number; ranks?: number[] } | string {
  const usage = 'expected {"order": [response indices, best first], "index": the item\'s number from /api/state, "ranks"?: [ties]}';
  if (typeof body !== "object" || body === null || Array.isArray(body)) return `the body must be a JSON object; ${usage}`;
  const { order, index, ranks } = body as { order?: unknown; index?: unknown; ranks?: unknown };
  if (!Array.isArray(order)) return `field "order" must be a list of response indices; ${usage}`;
  if (ranks !== undefined && !(Array.isArray(ranks) && ranks.length === order.length && ranks.every((r) => Number.isSafeInteger(r)))) {
    return `field "ranks" must be a list of integers, the rank of each response in "order" (1 = best), one per response; ${usage}`;
  }
  if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 0) {
    const got = JSON.stringify(index) ?? "nothing";
    return `field "index" must be the item's number, a non-negative integer (got ${
      got.length > 40 ? got.slice(0, 40) + "…" : got
    }); ${usage}`;
  }
  return ranks === undefined ? { order, index } : { order, index, ranks };
}

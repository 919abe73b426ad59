/**
 * The labelling web page's server: 127.0.0.1 only (the page is for the
 * person at this computer), one HTML page and a small JSON API over a
 * LabelSession.
 *
 *   GET  /            the page
 *   GET  /api/state   {index, total, labelled, item, canUndo}
 *   POST /api/rank    {"order": [2, 0, 1, 3]}  (response indices, best first)
 *   POST /api/skip, POST /api/undo
 */
import { LABEL_PAGE_HTML } from "./page.ts";
import { RankingError, type LabelSession } from "./session.ts";

export interface LabelServer {
  readonly url: string;
  shutdown(): Promise<void>;
}

/** Serves `session` on 127.0.0.1:`port` (0 = any free port). */
export function startLabelServer(session: LabelSession, options: { port?: number } = {}): LabelServer {
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8" } });
  const server = Deno.serve({ hostname: "127.0.0.1", port: options.port ?? 8765, onListen: () => {} }, async (req) => {
    const { pathname } = new URL(req.url);
    try {
      if (req.method === "GET" && pathname === "/") return new Response(LABEL_PAGE_HTML, { headers: { "content-type": "text/html; charset=utf-8" } });
      if (req.method === "GET" && pathname === "/api/state") return json(await session.state());
      if (req.method === "POST" && pathname === "/api/rank") {
        const body = await req.json().catch(() => undefined) as { order?: unknown } | undefined;
        if (!body || !Array.isArray(body.order)) return json({ error: 'expected {"order": [indices, best first]}' }, 400);
        await session.rank(body.order as number[]);
        return json(await session.state());
      }
      if (req.method === "POST" && pathname === "/api/skip") {
        session.skip();
        return json(await session.state());
      }
      if (req.method === "POST" && pathname === "/api/undo") {
        await session.undo();
        return json(await session.state());
      }
      return json({ error: `no route ${req.method} ${pathname}` }, 404);
    } catch (err) {
      if (err instanceof RankingError) return json({ error: err.message }, 409);
      return json({ error: `server error: ${(err as Error).message}` }, 500);
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, shutdown: () => server.shutdown() };
}

/**
 * The server of a class session (classroom.ts), reachable from the students'
 * own devices: it listens on the address the teacher names (`hostname`, e.g.
 * 0.0.0.0) and is reached at the address it prints (`host`, e.g.
 * 192.168.1.20). Routes, a fixed table (nothing else is served, no file):
 *
 *   GET  /              the join page          POST /api/join   {"code", "name"} → {"token"}
 *   GET  /label         the labelling page     GET  /api/state  (x-label-token: the student's)
 *   GET  /teacher       the teacher's view     POST /api/rank, /api/skip, /api/back, /api/undo (as server.ts)
 *                                              GET  /api/class  (x-label-token: the teacher's) → ClassView + lines
 *
 * On a shared network: every request must carry a Host of the printed
 * address or 127.0.0.1/localhost with this port (DNS rebinding), every POST
 * an Origin of the same (or none) and `content-type: application/json`;
 * every API call but the join needs a token, a student's for the student
 * routes and the teacher's for /api/class; a body over `maxBody` bytes is
 * refused (413), read no further than the limit, and each client (a known
 * token, else the address it calls from) has a bucket of requests (429 when
 * empty); a made-up token counts against its address.
 */
import { agreementLines } from "./class_agreement.ts";
import { type Classroom, JoinError } from "./classroom.ts";
import { CLASS_JOIN_PAGE_HTML, CLASS_LABEL_PAGE_HTML, CLASS_TEACHER_PAGE_HTML } from "./class_pages.ts";
import { RankingError } from "./session.ts";
import { rankRequest } from "./server.ts";

export interface ClassServerOptions {
  /** The address to listen on. @default "127.0.0.1" */
  readonly hostname?: string;
  /** The address students type (and the Host header they send). @default hostname, or 127.0.0.1 for 0.0.0.0 */
  readonly host?: string;
  /** 0: any free port. @default 8765 */
  readonly port?: number;
  /** The largest request body, in bytes. @default 16384 */
  readonly maxBody?: number;
  /** Each client's requests: a bucket of `burst`, refilled at `perSecond`. @default { burst: 40, perSecond: 10 } */
  readonly rate?: { readonly burst: number; readonly perSecond: number };
}

export interface ClassServer {
  /** The join page's address, for the students. */
  readonly url: string;
  /** The teacher's view, with the teacher's token after `#` (never sent in a request line). */
  readonly teacherUrl: string;
  shutdown(): Promise<void>;
}

const ROUTES: Readonly<Record<string, string>> = {
  "/": "GET",
  "/label": "GET",
  "/teacher": "GET",
  "/api/join": "POST",
  "/api/state": "GET",
  "/api/class": "GET",
  "/api/rank": "POST",
  "/api/skip": "POST",
  "/api/back": "POST",
  "/api/undo": "POST",
};

const PAGES: Readonly<Record<string, string>> = {
  "/": CLASS_JOIN_PAGE_HTML,
  "/label": CLASS_LABEL_PAGE_HTML,
  "/teacher": CLASS_TEACHER_PAGE_HTML,
};

/**
 * Serves `room` (see above).
 *
 * @example
 * ```ts
 * import { Classroom, startClassServer } from "rlhf";
 * const item = { prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses: ["春风", "秋雨"] };
 * const room = await Classroom.open([item], { labelsPath: `${await Deno.makeTempDir()}/class.jsonl`, session: "c1", checkpoint: "sft" });
 * const server = startClassServer(room, { port: 0 }); // add hostname "0.0.0.0" and host "192.168.1.20" for a class network
 * console.log(`students: ${server.url} (code ${room.code}); teacher: ${server.teacherUrl}`);
 * await server.shutdown();
 * ```
 */
export function startClassServer(room: Classroom, options: ClassServerOptions = {}): ClassServer {
  const hostname = options.hostname ?? "127.0.0.1";
  const host = options.host ?? (hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname);
  const maxBody = options.maxBody ?? 16_384;
  const rate = options.rate ?? { burst: 40, perSecond: 10 };
  const teacherToken = crypto.randomUUID();
  const buckets = new Map<string, { tokens: number; at: number }>();
  const allow = (client: string): boolean => {
    const now = performance.now();
    const b = buckets.get(client) ?? { tokens: rate.burst, at: now };
    b.tokens = Math.min(rate.burst, b.tokens + ((now - b.at) / 1000) * rate.perSecond);
    b.at = now;
    buckets.set(client, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
  let port = 0;
  const hostPart = host.includes(":") ? `[${host}]` : host; // an IPv6 address is bracketed in a URL and a Host header
  const ownHosts = () => [`${hostPart}:${port}`, `127.0.0.1:${port}`, `localhost:${port}`];

  const server = Deno.serve({ hostname, port: options.port ?? 8765, onListen: () => {} }, async (req, info) => {
    const { pathname } = new URL(req.url);
    if (!ownHosts().includes(req.headers.get("host") ?? "")) return json({ error: "forbidden: unknown Host" }, 403);
    const token = req.headers.get("x-label-token");
    const address = (info.remoteAddr as Deno.NetAddr).hostname;
    // A known token has a bucket of its own; anything else (no token, a made-up one) shares its address's.
    const known = token !== null && (token === teacherToken || (await room.student(token)) !== undefined);
    if (!allow(known ? `token:${token}` : `address:${address}`)) {
      return json({ error: "too many requests; wait a moment" }, 429, { "retry-after": "1" });
    }
    const method = Object.hasOwn(ROUTES, pathname) ? ROUTES[pathname] : undefined;
    if (!method) return json({ error: "no such page" }, 404);
    if (req.method !== method) return json({ error: `${pathname} takes ${method}` }, 405, { allow: method });
    if (Object.hasOwn(PAGES, pathname)) {
      return new Response(PAGES[pathname], { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
    }
    let body: unknown;
    if (method === "POST") {
      const origin = req.headers.get("origin");
      if (origin !== null && !ownHosts().some((h) => origin === `http://${h}`)) return json({ error: "forbidden: foreign Origin" }, 403);
      if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) {
        return json({ error: "forbidden: expected content-type application/json" }, 403);
      }
      const text = await readLimited(req, maxBody);
      if (text === undefined) return json({ error: `request body over ${maxBody} bytes` }, 413);
      try {
        body = JSON.parse(text || "{}");
      } catch {
        return json({ error: "the body must be JSON" }, 400);
      }
    }
    try {
      if (pathname === "/api/join") {
        const { code, name } = (typeof body === "object" && body !== null ? body : {}) as { code?: unknown; name?: unknown };
        return json({ token: await room.join(code as string, name as string) });
      }
      if (pathname === "/api/class") {
        if (token !== teacherToken) return json({ error: "forbidden: the teacher's view needs the teacher's token" }, 403);
        const view = await room.view();
        return json({ ...view, lines: agreementLines(view.agreement) });
      }
      const student = await room.student(token);
      if (!student) return json({ error: "forbidden: missing or unknown x-label-token; join the class first" }, 403);
      if (pathname === "/api/state") return json(await student.state());
      if (pathname === "/api/rank") {
        const ranking = rankRequest(body);
        if (typeof ranking === "string") return json({ error: ranking }, 400);
        await student.rank(ranking.order, { index: ranking.index, ranks: ranking.ranks });
      } else {
        await (pathname === "/api/skip" ? student.skip() : pathname === "/api/back" ? student.back() : student.undo());
      }
      return json(await student.state());
    } catch (err) {
      if (err instanceof JoinError) return json({ error: err.message }, 409);
      if (err instanceof RankingError) return json({ error: err.message }, 409);
      return json({ error: `server error: ${(err as Error).message}` }, 500);
    }
  });
  port = server.addr.port;
  const base = `http://${hostPart}:${port}`;
  return { url: `${base}/`, teacherUrl: `${base}/teacher#${teacherToken}`, shutdown: () => server.shutdown() };
}

/** The body as text, or undefined once it passes `limit` bytes (read no further). */
async function readLimited(req: Request, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) {
    await req.body?.cancel();
    return undefined;
  }
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) [all.set(c, at), at += c.length];
  return new TextDecoder().decode(all);
}

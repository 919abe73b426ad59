/**
 * `deno task playground-serve [DIR] [--port N]`: serves a directory (default dist/playground) as static files on
 * 127.0.0.1, for the playground page. Nothing but GET of files under that directory; no network beyond this machine.
 */
import { parseArgs } from "node:util";
import { extname, join, normalize } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const { values, positionals } = parseArgs({ options: { port: { type: "string", default: "8000" } }, allowPositionals: true });
const root = positionals[0] ?? fromFileUrl(new URL("../dist/playground/", import.meta.url));
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".jsonl": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
};

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(values.port),
  onListen: ({ port }) => console.log(`playground: http://127.0.0.1:${port}/`),
}, async (req) => {
  if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed", { status: 405 });
  const path = normalize(decodeURIComponent(new URL(req.url).pathname));
  if (path.split("/").includes("..")) return new Response("forbidden", { status: 403 });
  const file = join(root, path.endsWith("/") ? join(path, "index.html") : path);
  try {
    const body = await Deno.readFile(file);
    return new Response(req.method === "HEAD" ? null : body, {
      headers: { "content-type": TYPES[extname(file)] ?? "application/octet-stream" },
    });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.IsADirectory) return new Response("not found", { status: 404 });
    throw err;
  }
});

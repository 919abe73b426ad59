/**
 * `deno task playground-serve [DIR] [--port N]`: serves a directory (default dist/playground) as static files on
 * 127.0.0.1, for the playground page. Nothing but GET of files under that directory; no network beyond this machine.
 */
import { extname, join, normalize } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { parseCommand, usageError } from "../lib/cli.ts";

const { values, positionals } = parseCommand({
  command: "deno task playground-serve",
  summary: "Serves a directory (default dist/playground, what `deno task playground` builds) as static files on 127.0.0.1.",
  positionals: "[DIR]",
  flags: { port: { type: "string", value: "N", default: "8000", range: [1, 65535], help: "the port" } },
  examples: ["deno task playground-serve", "deno task playground-serve /tmp/site --port 8080"],
});
if (positionals.length > 1) usageError(`expected one directory, got ${positionals.length}: ${positionals.join(" ")}`);
const root = positionals[0] ?? fromFileUrl(new URL("../dist/playground/", import.meta.url));
if (!(await Deno.stat(root).then((i) => i.isDirectory, () => false))) {
  usageError(`${root}: no such directory${positionals[0] ? "" : " (build the site first: deno task playground)"}`);
}
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

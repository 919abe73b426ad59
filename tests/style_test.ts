/**
 * The code formats and lints cleanly under the project's own deno.json
 * (`deno fmt --check`, `deno lint`), so that nothing drifts between commits.
 */
import { assert, runDeno } from "./helpers.ts";

async function run(args: string[]): Promise<{ code: number; output: string }> {
  const { code, out, err } = await runDeno(args);
  return { code, output: out + err };
}

Deno.test("deno fmt --check: every TypeScript and Markdown file is formatted", async () => {
  const { code, output } = await run(["fmt", "--check"]);
  assert.equal(code, 0, output.split("\n").filter((l) => l.startsWith("from ")).join("\n") || output.slice(0, 2000));
});

Deno.test("deno lint: no lint errors", async () => {
  const { code, output } = await run(["lint"]);
  assert.equal(code, 0, output.slice(0, 4000));
});

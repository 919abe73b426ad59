/**
 * The PyTorch parity tests (parity_test.ts: logits, loss, every gradient, a
 * 5-step AdamW trajectory) on every other path this machine can run, each in
 * its own process (a backend and its kernels are chosen once per process).
 * `deno task test` runs parity_test.ts itself on the default path; the
 * fallbacks a user without OpenBLAS, a C compiler or wasm gets must be as
 * right as the fast path. And the fast-path table's test
 * (native_kernels_test.ts) on every path, so that each row of the table is
 * checked where it is in use.
 */
import { describeMachine } from "../lib/machine.ts";
import { FAST_PATHS } from "../lib/ops/fast_path.ts";
import { assert } from "./helpers.ts";

const root = new URL("../", import.meta.url).pathname;
/**
 * Every path sets all three selectors, so that a selector in the caller's
 * environment (e.g. RLHF_FAST_MATMUL=0 for the whole test run) cannot change
 * what a path tests; "1" = on where available.
 */
const ALL_ON = { RLHF_BACKEND: "wasm", RLHF_FAST_MATMUL: "1", RLHF_NATIVE_KERNELS: "1" };

async function run(args: string[], env: Record<string, string>): Promise<{ ok: boolean; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), { args, env: { ...env, NO_COLOR: "1" }, cwd: root, stdout: "piped", stderr: "piped" })
    .output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: out.success, text: decode(out.stdout) + decode(out.stderr) };
}

/** The backend's start-up line in a process with these selectors. */
async function startUpLine(env: Record<string, string>): Promise<{ ok: boolean; text: string }> {
  return await run(["eval", 'import { initBackend } from "./lib/backend.ts"; await initBackend();'], env);
}

// What this machine has, asked of a process with everything on (not of this one, whose selectors are the caller's).
const everything = (await startUpLine(ALL_ON)).text;
const hasBlas = everything.includes("BLAS matmul");
const hasNative = everything.includes("native fused kernels");

interface ComputePath {
  readonly name: string;
  readonly env: Record<string, string>;
  /** What the backend's start-up line must say (and must not), proving the process ran this path. */
  readonly banner: { has: string[]; hasNot: string[] };
  readonly available: boolean;
}

const PATHS: ComputePath[] = [
  {
    name: "wasm with tfjs' own kernels (no BLAS, no native kernels)",
    env: { ...ALL_ON, RLHF_FAST_MATMUL: "0", RLHF_NATIVE_KERNELS: "0" },
    banner: { has: ["wasm", "native kernels off"], hasNot: ["BLAS"] },
    available: true,
  },
  {
    name: "wasm + BLAS matmul, no native kernels",
    env: { ...ALL_ON, RLHF_NATIVE_KERNELS: "0" },
    banner: { has: ["BLAS matmul", "native kernels off"], hasNot: [] },
    available: hasBlas,
  },
  {
    name: "wasm + native kernels, no BLAS",
    env: { ...ALL_ON, RLHF_FAST_MATMUL: "0" },
    banner: { has: ["native fused kernels"], hasNot: ["BLAS"] },
    available: hasNative,
  },
  {
    name: "wasm + BLAS + native kernels built for AVX2 (-march=haswell), as on most laptops",
    env: { ...ALL_ON, RLHF_NATIVE_MARCH: "haswell" },
    banner: { has: ["native fused kernels (-march=haswell)"], hasNot: [] },
    available: hasNative && describeMachine().vectorSets.includes("avx2"),
  },
  { name: "cpu (pure JS)", env: { ...ALL_ON, RLHF_BACKEND: "cpu" }, banner: { has: ["cpu (pure JS)"], hasNot: [] }, available: true },
];

for (const path of PATHS) {
  Deno.test({
    name: `parity with PyTorch on ${path.name}`,
    ignore: !path.available,
    fn: async () => {
      const banner = await startUpLine(path.env);
      assert.ok(banner.ok, banner.text);
      for (const s of path.banner.has) assert.ok(banner.text.includes(s), `start-up line lacks "${s}": ${banner.text}`);
      for (const s of path.banner.hasNot) assert.ok(!banner.text.includes(s), `start-up line has "${s}": ${banner.text}`);
      const parity = await run(["test", "-A", "--quiet", "tests/parity_test.ts"], path.env);
      assert.ok(parity.ok, parity.text);
      assert.match(parity.text, /ok \| [1-9]\d* passed \| 0 failed/);
    },
  });
}

/** The name of the table's test (a --filter for it) and of its steps, one per row: "<op>: <what>". */
const TABLE_TEST = "every row of the fast-path table";
const ROWS = Object.entries(FAST_PATHS).flatMap(([op, rows]) => rows.map((row) => `${op}: ${row.what}`));

/** The rows whose step passed in a test run's output (the others were ignored there: not in use on that path). */
function rowsChecked(output: string): string[] {
  return ROWS.filter((row) => output.includes(`${row} ... ok`));
}

Deno.test("the fast-path table's test passes on every path, and each row is checked on one of them", async () => {
  const checked = new Set<string>();
  for (const path of [{ name: "everything on", env: ALL_ON, available: true }, ...PATHS]) {
    if (!path.available) continue;
    const out = await run(["test", "-A", "tests/native_kernels_test.ts", "--filter", TABLE_TEST], path.env);
    assert.ok(out.ok, `${path.name}:\n${out.text}`);
    rowsChecked(out.text).forEach((row) => checked.add(row));
  }
  // With BLAS and the C kernels every row is in use on some path; without them, their rows cannot be reached here.
  if (hasBlas && hasNative) assert.deepEqual(ROWS.filter((row) => !checked.has(row)), [], "rows no path checked");
  assert.ok(checked.size > 0);
});

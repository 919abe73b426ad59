/**
 * Shared test helpers. The design card asks for `@std/assert`, which lives on
 * JSR; JSR is unreachable on the project's machines, so tests use Node's
 * built-in `node:assert/strict` (works offline) plus the helpers below.
 */
import assert from "node:assert/strict";
import { tf } from "../lib/tf.ts";
import type { Task, TaskPrompt } from "../lib/tasks/types.ts";

export { assert };

/** Largest |a - b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = d; // also catches NaN
  }
  return worst;
}

/** Asserts every |actual - expected| <= atol + rtol * |expected|. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 0, what = "values" }: { atol?: number; rtol?: number; what?: string } = {},
): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const tol = atol + rtol * Math.abs(expected[i]);
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol)) {
      throw new assert.AssertionError({
        message: `${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (|diff| ${d} > ${tol})`,
      });
    }
  }
}

/**
 * Runs `step` once to warm up (caches, lazily created state), then once more
 * and asserts the number of live tensors did not change.
 */
export async function assertNoLeak(step: () => unknown | Promise<unknown>, what = "step"): Promise<void> {
  await step();
  const before = tf.memory().numTensors;
  await step();
  const after = tf.memory().numTensors;
  assert.equal(after, before, `${what} leaked ${after - before} tensors`);
}

/** Indices of `responses` ordered best → worst by the task's gold score (ties keep input order). */
export function rankByScore(task: Task, prompt: TaskPrompt, responses: readonly string[]): number[] {
  const totals = responses.map((r) => task.score(prompt, r).total);
  return totals.map((_, i) => i).sort((a, b) => totals[b] - totals[a] || a - b);
}

/** Runs `deno …args` from the repository root, without colours; its exit code, stdout and stderr. */
export async function runDeno(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd: new URL("..", import.meta.url).pathname,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
}

/** Runs `deno run -A scripts/<script>.ts …args` from the repository root. */
export function runScript(script: string, args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  return runDeno(["run", "-A", `scripts/${script}.ts`, ...args]);
}

/** Runs `body` with a new temporary directory, removed afterwards (also when `body` throws). */
export async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

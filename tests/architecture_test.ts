/**
 * The layering of lib/ (docs/ARCHITECTURE.md): a module imports only from its
 * own layer or a lower one, and no chain of imports comes back to where it
 * started. A new folder must be given a layer here. And only two doors lead
 * to the fast kernels of lib/fast: the fast-path table and the backend's start-up.
 * Code imports by path, never the library's public name "rlhf".
 */
import { dirname, join, relative, resolve } from "node:path";
import { assert } from "./helpers.ts";

const LIB = new URL("../lib/", import.meta.url).pathname;

/** Bottom to top. Entries are folders of lib/ or single files at its root. */
export const LAYERS: readonly (readonly string[])[] = [
  ["tf.ts", "fs.ts", "file_lock.ts", "jsonl.ts", "hash.ts", "rng.ts", "cli.ts", "machine.ts", "work.ts", "fast", "ops"], // foundations: tfjs, files and their locks, seeds, throughput counters, the fast CPU kernels and which op takes which
  ["backend.ts", "tokenizer", "gpt2", "corpus"], // the model, its text, the poems
  ["checkpoint", "generate", "tasks"], // weights on disk, sampling, what is asked and how it is scored
  ["pretrained.ts", "data", "run"], // loading a model directory; batches; a stage's run directory (identity, weights, optimiser, progress)
  ["train"], // one gradient step, the training loop
  ["rollout"], // sampling answers, scoring them under policy and reference, log-probs, KL estimators
  ["reward", "ppo", "group", "dpo"], // the reward model; the methods: PPO, RLOO/GRPO, DPO
  ["eval", "chat", "labeling", "charts", "bench", "export"], // tools built on them (export: a run for TRL, OpenRLHF, verl)
  ["pipeline"], // the stages of deno task rlhf
  ["frontier"], // the methods compared at equal KL: sweeps, points, envelopes
  ["report"], // the report of a run
  ["mod.ts"], // the public door
];

function layerOf(file: string): number {
  const top = relative(LIB, file).split("/")[0];
  const i = LAYERS.findIndex((l) => l.includes(top));
  if (i < 0) throw new Error(`${relative(LIB, file)}: lib/${top} has no layer in tests/architecture_test.ts`);
  return i;
}

function libFiles(dir = LIB): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory) return e.name === "native" ? [] : libFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/** The lib/ files a file imports (static and dynamic imports with a relative path). */
function importsOf(file: string): string[] {
  const text = Deno.readTextFileSync(file).replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, ""); // code only
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+\.ts)"/g)].map((m) => m[1]);
  return specs.map((s) => resolve(dirname(file), s)).filter((p) => p.startsWith(LIB));
}

Deno.test("lib/: no module imports from a higher layer", () => {
  const upward: string[] = [];
  for (const file of libFiles()) {
    for (const target of importsOf(file)) {
      if (layerOf(target) > layerOf(file)) upward.push(`${relative(LIB, file)} → ${relative(LIB, target)}`);
    }
  }
  assert.deepEqual(upward, []);
});

/** What may import lib/fast: lib/ops (the one table of fast paths) and lib/backend.ts (start-up registers the kernels). */
const FAST_DOORS = ["ops", "backend.ts"];
const FAST = join(LIB, "fast/");

Deno.test("lib/: only lib/ops and lib/backend.ts import lib/fast", () => {
  const importsFast = (file: string) => importsOf(file).filter((target) => target.startsWith(FAST));
  const others: string[] = [];
  for (const file of libFiles()) {
    const top = relative(LIB, file).split("/")[0];
    if (top === "fast" || FAST_DOORS.includes(top)) continue;
    for (const target of importsFast(file)) others.push(`${relative(LIB, file)} → ${relative(LIB, target)}`);
  }
  assert.deepEqual(others, []);
  // The doors themselves are seen to import it (so a change in how imports are read cannot pass this vacuously).
  assert.ok(importsFast(join(LIB, "backend.ts")).length > 0 && importsFast(join(LIB, "ops/fast_path.ts")).length > 0);
});

/** Code of lib/ imports by path. "rlhf" (deno.json: lib/mod.ts) is for callers and the examples in comments; an import of it would hide an upward arrow. */
Deno.test('lib/: no module imports the library by its name "rlhf"', () => {
  const code = (file: string) => Deno.readTextFileSync(file).replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const named = libFiles().filter((file) => /(?:from|import)\s*\(?\s*"rlhf(?:\/[^"]*)?"/.test(code(file))).map((file) =>
    relative(LIB, file)
  );
  assert.deepEqual(named, []);
});

Deno.test("lib/: no import cycles between files", () => {
  const graph = new Map(libFiles().map((f) => [f, importsOf(f)]));
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(LIB, p)).join(" → "));
      return;
    }
    state.set(f, "open");
    for (const t of graph.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, "done");
  };
  for (const f of graph.keys()) visit(f, []);
  assert.deepEqual(cycles, []);
});

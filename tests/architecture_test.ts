/**
 * The layering of lib/ (docs/ARCHITECTURE.md): a module imports only from its
 * own layer or a lower one, and no chain of imports comes back to where it
 * started. A new folder must be given a layer here. And only two doors lead
 * to the fast kernels of lib/fast: the fast-path table and the backend's start-up.
 * Code imports by path, never the library's public name "rlhf". Only the
 * modules of DENO_ONLY call Deno: every other module, and all it imports,
 * runs in a browser tab (files and the process through lib/platform).
 */
import { dirname, join, relative, resolve } from "node:path";
import { assert } from "./helpers.ts";

const LIB = new URL("../lib/", import.meta.url).pathname;

/** Bottom to top. Entries are folders of lib/ or single files at its root. */
export const LAYERS: readonly (readonly string[])[] = [
  ["platform", "tf.ts", "fs.ts", "file_lock.ts", "jsonl.ts", "hash.ts", "rng.ts", "cli.ts", "machine.ts", "work.ts", "fast", "ops"], // foundations: the platform (files, environment, process), tfjs, files and their locks, seeds, throughput counters, the fast CPU kernels and which op takes which
  ["backend.ts", "browser_backend.ts", "tokenizer", "gpt2", "corpus"], // the model, its text, the poems
  ["checkpoint", "generate", "tasks"], // weights on disk, sampling, what is asked and how it is scored
  ["pretrained.ts", "data", "run"], // loading a model directory; batches; a stage's run directory (identity, weights, optimiser, progress)
  ["train"], // one gradient step, the training loop
  ["rollout"], // sampling answers, scoring them under policy and reference, log-probs, KL estimators
  ["reward", "ppo", "group", "dpo"], // the reward model; the methods: PPO, RLOO/GRPO, DPO
  ["eval", "chat", "labeling", "charts", "bench", "export"], // tools built on them (export: a run for TRL, OpenRLHF, verl)
  ["pipeline"], // the stages of deno task rlhf
  ["frontier"], // the methods compared at equal KL: sweeps, points, envelopes
  ["report"], // the report of a run
  ["mod.ts", "browser.ts"], // the public doors: Deno's and the browser's
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

/** A file's code: its text without comments. */
const code = (file: string) => Deno.readTextFileSync(file).replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");

/** The lib/ files a file imports (static and dynamic imports with a relative path). */
function importsOf(file: string): string[] {
  const text = code(file);
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

/**
 * The modules that call Deno (or import a node: built-in): the Deno platform itself, the backend's start-up
 * with its FFI kernels (BLAS, the C kernels), command-line parsing (it exits the process), the labelling
 * page's HTTP server and the PyTorch benchmark (it runs Python). Everything else reaches the system through
 * `platform()` (lib/platform/platform.ts).
 */
export const DENO_ONLY: readonly string[] = [
  "platform/deno.ts",
  "backend.ts",
  "fast/native_kernels.ts",
  "fast/openblas.ts",
  "fast/wasm_native_kernels.ts",
  "cli.ts",
  "labeling/server.ts",
  "labeling/class_server.ts",
  "bench/torch_reference.ts",
];

/**
 * Modules that import Deno-only ones, and are Deno-only for it: the public door (it exports the backend and the
 * label server) and the class session's runner (it starts the class server).
 */
export const DENO_ONLY_BY_IMPORT: readonly string[] = ["mod.ts", "labeling/class_run.ts"];

/**
 * What the browser playground (playground/) needs, which must stay platform-free: loading a model directory
 * and saving one, GPT-2, the tokenizers, the poetry task with its simulated labeler and gold score, sampling,
 * the labelling session's rules, the reward model and its fit, PPO and RLOO/GRPO steps.
 */
const PLAYGROUND = [
  "browser.ts",
  "pretrained.ts",
  "labeling/session.ts",
  "gpt2/forward.ts",
  "gpt2/init.ts",
  "tokenizer/mod.ts",
  "tasks/registry.ts",
  "tasks/poetry_zh/task.ts",
  "tasks/poetry_zh/scorer.ts",
  "reward/simulated_labeler.ts",
  "generate/generate.ts",
  "rollout/rollout.ts",
  "reward/reward_model.ts",
  "reward/train_reward.ts",
  "ppo/ppo_step.ts",
  "group/group_step.ts",
  "train/train_step.ts",
  "data/sft_batches.ts",
];

/** platform() picks lib/platform/deno.ts under Deno by a dynamic import that a browser never runs: the one edge the walk skips. */
const DEFAULT_PLATFORM_DOOR = ["platform/platform.ts", "platform/deno.ts"];

/** Whether a file's code names Deno or imports a node: built-in (platform.ts names it only to recognise the runtime). */
function callsDeno(file: string): boolean {
  if (relative(LIB, file) === DEFAULT_PLATFORM_DOOR[0]) return false;
  return /\bDeno\b|(?:from|import)\s*\(?\s*"node:/.test(code(file));
}

/** The lib/ files a file needs when it runs: its imports but those of types only, which are erased. */
function runtimeImportsOf(file: string): string[] {
  const text = code(file);
  const typeOnly = [...text.matchAll(/(?:import|export)\s+type\s[^;]*?from\s*"(\.{1,2}\/[^"]+\.ts)"/g)].map((m) =>
    resolve(dirname(file), m[1])
  );
  return importsOf(file).filter((target) => !typeOnly.includes(target)).filter((target) =>
    !(relative(LIB, file) === DEFAULT_PLATFORM_DOOR[0] && relative(LIB, target) === DEFAULT_PLATFORM_DOOR[1])
  );
}

/** The chain of imports from `file` to a module that calls Deno, or undefined when there is none. */
function denoChain(file: string): string[] | undefined {
  const seen = new Set<string>();
  const walk = (f: string, path: string[]): string[] | undefined => {
    if (seen.has(f)) return undefined;
    seen.add(f);
    if (callsDeno(f)) return [...path, f];
    for (const t of runtimeImportsOf(f)) {
      const found = walk(t, [...path, f]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(file, []);
}

Deno.test("lib/: only the DENO_ONLY modules call Deno or import node: built-ins", () => {
  const calling = libFiles().filter(callsDeno).map((f) => relative(LIB, f)).sort();
  assert.deepEqual(calling, [...DENO_ONLY].sort());
});

Deno.test("lib/: every other module is platform-free: nothing it imports at run time calls Deno", () => {
  const reaching = libFiles()
    .filter((f) => ![...DENO_ONLY, ...DENO_ONLY_BY_IMPORT].includes(relative(LIB, f)))
    .map((f) => denoChain(f)?.map((p) => relative(LIB, p)).join(" → "))
    .filter((chain) => chain !== undefined);
  assert.deepEqual(reaching, []);
  // The walk sees through imports (the public door reaches the backend) and the default door is there: not vacuous.
  assert.ok(denoChain(join(LIB, "mod.ts")) !== undefined);
  assert.ok(importsOf(join(LIB, "platform/platform.ts")).includes(join(LIB, "platform/deno.ts")));
});

Deno.test("lib/: what the browser playground needs is platform-free", () => {
  for (const module of PLAYGROUND) {
    const file = join(LIB, module);
    assert.ok(libFiles().includes(file), `${module} is missing`);
    assert.equal(denoChain(file), undefined, `${module} reaches Deno`);
  }
});

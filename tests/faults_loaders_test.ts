/**
 * Faults around loading checkpoints, found by a fault pass: a reader that
 * removed a live writer's files (F18), a NaN weight that loaded silently (F8),
 * and config.json / weights files whose declared sizes made the loader
 * allocate gigabytes before refusing (F6, F7).
 */
import { initBackend } from "../lib/backend.ts";
import { loadGPT2Weights, recoverInterruptedSwap, saveGPT2Weights } from "../lib/checkpoint/pretrained.ts";
import { gpt2ConfigToHF } from "../lib/checkpoint/hf_config.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });
const ROOT = new URL("..", import.meta.url).pathname;
const TINY = resolveGPT2Config({ vocab_size: 30, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 });

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function saveTiny(dir: string, seed = 1): Promise<void> {
  const model = createGPT2(TINY, { seed });
  try {
    await saveGPT2Weights(model, dir);
  } finally {
    disposeGPT2(model);
  }
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

// ---------------------------------------------------------------------------------------------------------------
// F18: a reader (chat, label, resume) must never remove or move what a live writer in another process is using.

/**
 * A child process standing in for a writer of `<dir>/<name>` caught mid-swap, deterministically: it builds its
 * `.<name>.new-<pid>-<tag>` directory as writeDirectoryAtomic does, and with `between` also moves the old directory
 * aside as `.<name>.old-<pid>-<tag>` (the moment between the swap's two renames). It prints its paths, then waits
 * to be killed.
 */
async function spawnLiveWriter(
  dir: string,
  name: string,
  between: boolean,
): Promise<{ child: Deno.ChildProcess; fresh: string; old: string }> {
  const code = `
    const [dir, name, between] = Deno.args;
    const tag = Deno.pid + "-livewrit";
    const fresh = dir + "/." + name + ".new-" + tag, old = dir + "/." + name + ".old-" + tag;
    Deno.mkdirSync(fresh);
    Deno.writeFileSync(fresh + "/model.safetensors", new Uint8Array(4096)); // half written
    if (between === "yes") {
      for (const f of ["config.json", "model.safetensors"]) Deno.copyFileSync(dir + "/" + name + "/" + f, fresh + "/" + f);
      Deno.renameSync(dir + "/" + name, old);
    }
    console.log(JSON.stringify({ fresh, old }));
    setInterval(() => {}, 1000);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code, dir, name, between ? "yes" : "no"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the child writer exited before it was ready");
    text += value;
  }
  reader.releaseLock();
  return { child, ...JSON.parse(text) };
}

async function kill(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await child.status;
  await child.stdout.cancel().catch(() => {});
}

Deno.test("F18: loading a checkpoint while another process writes it leaves that writer's directory alone; the next write removes it once the writer is dead", () =>
  withTempDir(async (dir) => {
    await saveTiny(`${dir}/ckpt`);
    const { child, fresh } = await spawnLiveWriter(dir, "ckpt", false);
    try {
      disposeGPT2(await loadGPT2Weights(`${dir}/ckpt`));
      await recoverInterruptedSwap(`${dir}/ckpt`);
      assert.ok(await exists(`${fresh}/model.safetensors`), "a reader removed the live writer's half-built directory");
    } finally {
      await kill(child);
    }
    disposeGPT2(await loadGPT2Weights(`${dir}/ckpt`));
    assert.ok(await exists(fresh), "a reader removed a dead writer's leftovers: only a writer cleans up");
    await saveTiny(`${dir}/ckpt`, 2);
    assert.ok(!(await exists(fresh)), "the next write removes the dead writer's leftovers");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ckpt"]);
  }));

Deno.test("F18: a reader does not put back the old directory of a live writer between its two renames; once that writer is dead it does", () =>
  withTempDir(async (dir) => {
    await saveTiny(`${dir}/ckpt`);
    const { child, fresh, old } = await spawnLiveWriter(dir, "ckpt", true);
    try {
      await recoverInterruptedSwap(`${dir}/ckpt`);
      assert.ok(await exists(old), "a reader moved the live writer's .old directory");
      assert.ok(!(await exists(`${dir}/ckpt`)), "a reader put the old directory back under a live writer");
      assert.ok(await exists(fresh));
    } finally {
      await kill(child);
    }
    // The writer died between its renames: the finished old checkpoint is put back, nothing else is touched.
    disposeGPT2(await loadGPT2Weights(`${dir}/ckpt`));
    assert.ok(!(await exists(old)));
    assert.ok(await exists(fresh));
  }));

// ---------------------------------------------------------------------------------------------------------------
// F8: a non-finite weight loaded silently, and chat failed much later with an index outside the vocabulary.

/** Overwrites element `index` of tensor `name` in a model.safetensors file with `value` (float32). */
async function pokeWeight(path: string, name: string, index: number, value: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  const view = new DataView(bytes.buffer);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  view.setFloat32(8 + headerLength + header[name].data_offsets[0] + 4 * index, value, true);
  await Deno.writeFile(path, bytes);
}

Deno.test("F8: a NaN or infinite weight is refused on load, naming the file, the tensor and the index of the first bad value", () =>
  withTempDir(async (dir) => {
    for (const [value, shown] of [[NaN, "NaN"], [-Infinity, "-Infinity"]] as const) {
      await saveTiny(`${dir}/ckpt`);
      await pokeWeight(`${dir}/ckpt/model.safetensors`, "transformer.h.1.mlp.c_fc.weight", 37, value);
      await pokeWeight(`${dir}/ckpt/model.safetensors`, "transformer.h.1.mlp.c_fc.weight", 90, value); // only the first is named
      await assert.rejects(
        () => loadGPT2Weights(`${dir}/ckpt`),
        (err: Error) =>
          err.message ===
            `${dir}/ckpt/model.safetensors: tensor "h.1.mlp.c_fc.weight": ${shown} at index 37 ([1, 5] of shape [8, 32]); ` +
              `the checkpoint is damaged or its training diverged`,
      );
    }
  }));

// ---------------------------------------------------------------------------------------------------------------
// F6: sizes declared by config.json or a safetensors header are checked before anything is allocated.

const MB = 2 ** 20;

/** This process's peak resident memory so far, in bytes (Linux); undefined elsewhere. */
function peakRss(): number | undefined {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))![1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Runs `body`, which must throw, and returns the error, the time it took and how far this process's resident
 * memory rose: the peak (Linux's VmHWM, reset to the current size first) or, elsewhere, the size after.
 */
async function measureRefusal(body: () => Promise<unknown>): Promise<{ error: Error; ms: number; growthMB: number }> {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5"); // resets VmHWM to the current resident size
  } catch { /* not Linux: the size after is measured instead */ }
  const before = Deno.memoryUsage().rss;
  const start = performance.now();
  let error: Error | undefined;
  try {
    await body();
  } catch (err) {
    error = err as Error;
  }
  const ms = performance.now() - start;
  const growthMB = ((peakRss() ?? Deno.memoryUsage().rss) - before) / MB;
  if (!error) throw new assert.AssertionError({ message: "expected a refusal, the load succeeded" });
  return { error, ms, growthMB };
}

Deno.test("F6: a config.json with an absurd size is refused from the config alone: fast, small, naming the file, field and limit", () =>
  withTempDir(async (dir) => {
    await saveTiny(`${dir}/ckpt`);
    const good = gpt2ConfigToHF(TINY);
    const cases: [Record<string, unknown>, string, number][] = [
      [{ vocab_size: 2_000_000_000 }, "vocab_size", 1_000_000],
      [{ n_embd: 2 ** 20, n_head: 2 }, "n_embd", 16384],
      [{ n_positions: 1e9, n_ctx: 1e9 }, "n_positions", 131072],
      [{ n_positions: undefined, n_ctx: 1e9 }, "n_ctx", 131072],
      [{ n_head: 512, n_embd: 1024 }, "n_head", 256],
      [{ n_layer: 50_000_000 }, "n_layer", 256], // last: before the fix this one alone took 30 s and 2.7 GB
    ];
    for (const [change, field, limit] of cases) {
      await Deno.writeTextFile(`${dir}/ckpt/config.json`, JSON.stringify({ ...good, ...change }));
      const { error, ms, growthMB } = await measureRefusal(() => loadGPT2Weights(`${dir}/ckpt`));
      const value = (change as Record<string, number>)[field];
      assert.match(
        error.message,
        new RegExp(`^${dir}/ckpt/config\\.json: field "${field}" is ${value}, more than ${limit}[^\\n]*$`),
        field,
      );
      assert.ok(ms < 2000, `${field}: refused after ${ms.toFixed(0)} ms`);
      assert.ok(growthMB < 100, `${field}: memory rose by ${growthMB.toFixed(0)} MB before the refusal`);
    }
  }));

/** A model.safetensors whose header declares `tensors` (all F32) over a sparse file of that size: no disk, no memory. */
async function writeSparseSafetensors(path: string, tensors: Record<string, number[]>, fileBytes?: number): Promise<number> {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of Object.entries(tensors)) {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = new Uint8Array(8 + json.length);
  new DataView(start.buffer).setBigUint64(0, BigInt(json.length), true);
  start.set(json, 8);
  await Deno.writeFile(path, start);
  const size = fileBytes ?? start.length + offset;
  await Deno.truncate(path, size); // extends with a hole
  return size;
}

Deno.test("F6: a safetensors header whose shapes do not fit config.json, or whose sizes pass the end of the file, is refused before any tensor data is read", () =>
  withTempDir(async (dir) => {
    await saveTiny(`${dir}/ckpt`);
    const weights = `${dir}/ckpt/model.safetensors`;
    // 400 MB of declared data that the config does not ask for.
    const size = await writeSparseSafetensors(weights, { "transformer.wte.weight": [100_000, 1024] });
    assert.ok(size > 400e6);
    const misfit = await measureRefusal(() => loadGPT2Weights(`${dir}/ckpt`));
    assert.equal(misfit.error.message, `${weights}: tensor "wte.weight": expected shape [30, 8], found [100000, 1024]`);
    assert.ok(misfit.ms < 2000, `refused after ${misfit.ms.toFixed(0)} ms`);
    assert.ok(misfit.growthMB < 100, `memory rose by ${misfit.growthMB.toFixed(0)} MB before the refusal`);
    // A header that declares 400 MB in a 1 kB file.
    await writeSparseSafetensors(weights, { "transformer.wte.weight": [100_000, 1024] }, 1024);
    const short = await measureRefusal(() => loadGPT2Weights(`${dir}/ckpt`));
    assert.match(
      short.error.message,
      new RegExp(`^${weights}: tensor "transformer\\.wte\\.weight": data_offsets \\[0, 409600000\\] run past the end`),
    );
    assert.ok(short.ms < 2000 && short.growthMB < 100);
  }));

/**
 * Faults around loading checkpoints, found by a fault pass: a reader that
 * removed a live writer's files (F18), a NaN weight that loaded silently (F8),
 * and config.json / weights files whose declared sizes made the loader
 * allocate gigabytes before refusing (F6, F7).
 */
import { initBackend } from "../lib/backend.ts";
import { loadGPT2Weights, recoverInterruptedSwap, saveGPT2Weights } from "../lib/checkpoint/pretrained.ts";
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

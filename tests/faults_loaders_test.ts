/**
 * Faults around loading checkpoints, found by a fault pass: a reader that
 * removed a live writer's files (F18), a NaN weight that loaded silently (F8),
 * and config.json / weights files whose declared sizes made the loader
 * allocate gigabytes before refusing (F6, F7).
 */
import { zipSync } from "fflate";
import { initBackend } from "../lib/backend.ts";
import { loadGPT2Weights, recoverInterruptedSwap, saveGPT2Weights } from "../lib/checkpoint/pretrained.ts";
import { gpt2ConfigToHF } from "../lib/checkpoint/hf_config.ts";
import { readTorchStateDict } from "../lib/checkpoint/torch_pickle.ts";
import { gpt2ParamShapes, resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { assert, withTempDir } from "./helpers.ts";

await initBackend({ quiet: true });
const ROOT = new URL("..", import.meta.url).pathname;
const TINY = resolveGPT2Config({ vocab_size: 30, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 });

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

// ---------------------------------------------------------------------------------------------------------------
// F7: pytorch_model.bin whose pickle or zip declares (or inflates to) far more than the file holds.

/** One tensor of a hand-made state dict: a view (offset, shape, stride) into float storage `key` of `numel` elements. */
interface ViewSpec {
  readonly name: string;
  readonly key: string;
  readonly numel: number;
  readonly shape: readonly number[];
  readonly stride?: readonly number[];
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const rowMajorStride = (shape: readonly number[]) => shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));

/** data.pkl as torch.save(state_dict) writes it (protocol 2): an OrderedDict of _rebuild_tensor_v2(storage, offset, size, stride, …). */
function statePickle(views: readonly ViewSpec[]): Uint8Array {
  const out: number[] = [];
  const text = (s: string) => out.push(0x58, ...le32(utf8(s).length), ...utf8(s)); // BINUNICODE
  const int = (n: number) => out.push(0x4a, ...le32(n)); // BININT
  const global = (module: string, name: string) => out.push(0x63, ...utf8(`${module}\n${name}\n`)); // GLOBAL
  const tuple = (items: () => void) => (out.push(0x28), items(), out.push(0x74)); // MARK … TUPLE
  const orderedDict = () => (global("collections", "OrderedDict"), out.push(0x29, 0x52)); // OrderedDict()
  out.push(0x80, 2); // PROTO 2
  orderedDict();
  out.push(0x28); // MARK for SETITEMS
  for (const v of views) {
    text(v.name);
    global("torch._utils", "_rebuild_tensor_v2");
    tuple(() => {
      tuple(() => (text("storage"), global("torch", "FloatStorage"), text(v.key), text("cpu"), int(v.numel)));
      out.push(0x51); // BINPERSID: the storage
      int(0); // storage offset
      tuple(() => v.shape.forEach(int));
      tuple(() => (v.stride ?? rowMajorStride(v.shape)).forEach(int));
      out.push(0x89); // requires_grad = False
      orderedDict(); // backward hooks
    });
    out.push(0x52); // REDUCE
  }
  out.push(0x75, 0x2e); // SETITEMS, STOP
  return Uint8Array.from(out);
}

/** A torch.save zip: archive/data.pkl, archive/data/<key> per storage, archive/version; entries stored, as torch writes them. */
function torchZip(views: readonly ViewSpec[], storages: Readonly<Record<string, Uint8Array>>): Uint8Array {
  const files: Record<string, [Uint8Array, { level: 0 }]> = {
    "archive/data.pkl": [statePickle(views), { level: 0 }],
    "archive/version": [utf8("3\n"), { level: 0 }],
  };
  for (const [key, data] of Object.entries(storages)) files[`archive/data/${key}`] = [data, { level: 0 }];
  return zipSync(files);
}

/**
 * Marks zip entry `name` (stored, holding a raw deflate stream) as deflated and sets the uncompressed size its
 * central directory and local header declare: a hand-made zip bomb, or one that lies about its size.
 */
function markDeflated(zip: Uint8Array, name: string, declaredSize: number): Uint8Array {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  let at = view.getUint32(eocd + 16, true);
  for (let i = 0; i < view.getUint16(eocd + 10, true); i++) {
    const nameLength = view.getUint16(at + 28, true);
    if (new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength)) === name) {
      const local = view.getUint32(at + 42, true);
      for (const [method, size] of [[at + 10, at + 24], [local + 8, local + 22]]) {
        view.setUint16(method, 8, true);
        view.setUint32(size, declaredSize, true);
      }
      return zip;
    }
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  throw new Error(`markDeflated: no entry ${name}`);
}

/**
 * A raw deflate stream of 1 + 258·copies zero bytes: a literal 0, then `copies` times "258 bytes from distance 1",
 * in fixed Huffman codes (13 bits a copy, so 1.6 MB inflate to 258 MB).
 */
function deflatedZeros(copies: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((3 + 8 + 13 * copies + 7) / 8));
  let bit = 0;
  const put = (code: number, length: number) => { // Huffman codes go most significant bit first
    for (let i = length - 1; i >= 0; i--, bit++) if ((code >> i) & 1) out[bit >> 3] |= 1 << (bit & 7);
  };
  put(0b110, 3); // BFINAL = 1, then BTYPE = 01 (fixed Huffman), written as bits 1, 1, 0
  put(0b00110000, 8); // literal 0
  for (let k = 0; k < copies; k++) put(0b11000101_00000, 13); // length code 285 (258 bytes), distance code 0 (distance 1)
  put(0, 7); // end of block
  return out;
}

const floats = (n: number) => new Uint8Array(Float32Array.from({ length: n }, (_, i) => Math.sin(i)).buffer);

Deno.test("F7: a tiny pytorch_model.bin whose tensor repeats one stored float 10,000 × 10,000 times (stride 0) is refused from the pickle, before any copy", () =>
  withTempDir(async (dir) => {
    const bomb = torchZip([{ name: "transformer.wte.weight", key: "0", numel: 1, shape: [10000, 10000], stride: [0, 0] }], {
      "0": floats(1),
    });
    assert.ok(bomb.length < 1000, `${bomb.length} bytes`);
    const alone = await measureRefusal(() => Promise.resolve().then(() => readTorchStateDict(bomb, "bomb.bin")));
    assert.equal(
      alone.error.message,
      `bomb.bin: tensor "transformer.wte.weight": shape [10000, 10000] has 100000000 elements, more than its storage archive/data/0 holds (1); ` +
        `a view that repeats elements is not a saved weight`,
    );
    assert.ok(alone.ms < 2000 && alone.growthMB < 200, `${alone.ms.toFixed(0)} ms, ${alone.growthMB.toFixed(0)} MB`);
    // Through the loader (deno task chat on such a file), the same refusal.
    await Deno.mkdir(`${dir}/ckpt`);
    await Deno.writeTextFile(`${dir}/ckpt/config.json`, JSON.stringify(gpt2ConfigToHF(TINY)));
    await Deno.writeFile(`${dir}/ckpt/pytorch_model.bin`, bomb);
    const loaded = await measureRefusal(() => loadGPT2Weights(`${dir}/ckpt`));
    assert.equal(loaded.error.message, alone.error.message.replace("bomb.bin", `${dir}/ckpt/pytorch_model.bin`));
    assert.ok(loaded.ms < 2000 && loaded.growthMB < 200, `${loaded.ms.toFixed(0)} ms, ${loaded.growthMB.toFixed(0)} MB`);
  }));

Deno.test("F7: a zip entry that declares, or inflates to, more than its storage holds is refused before it costs memory", async () => {
  const copies = 2_000_000; // 3.3 MB of deflate stream, 516 MB of zeros
  const honest = markDeflated(
    torchZip([{ name: "w", key: "0", numel: 1, shape: [1] }], { "0": deflatedZeros(copies) }),
    "archive/data/0",
    1 + 258 * copies,
  );
  const declared = await measureRefusal(() => Promise.resolve().then(() => readTorchStateDict(honest, "bomb.bin")));
  assert.equal(
    declared.error.message,
    `bomb.bin: archive/data/0 declares ${1 + 258 * copies} bytes, but storage 0 holds 1 F32 element (4 bytes)`,
  );
  assert.ok(declared.ms < 2000 && declared.growthMB < 200, `${declared.ms.toFixed(0)} ms, ${declared.growthMB.toFixed(0)} MB`);

  const lying = markDeflated(
    torchZip([{ name: "w", key: "0", numel: 1, shape: [1] }], { "0": deflatedZeros(copies) }),
    "archive/data/0",
    4,
  );
  const actual = await measureRefusal(() => Promise.resolve().then(() => readTorchStateDict(lying, "bomb.bin")));
  assert.equal(actual.error.message, `bomb.bin: archive/data/0 inflates to more than the 4 bytes it declares`);
  assert.ok(actual.ms < 2000 && actual.growthMB < 200, `${actual.ms.toFixed(0)} ms, ${actual.growthMB.toFixed(0)} MB`);

  const pickleBomb = markDeflated(
    zipSync({ "archive/data.pkl": [deflatedZeros(copies), { level: 0 }] }),
    "archive/data.pkl",
    1 + 258 * copies,
  );
  const pickle = await measureRefusal(() => Promise.resolve().then(() => readTorchStateDict(pickleBomb, "bomb.bin")));
  assert.match(
    pickle.error.message,
    /^bomb\.bin: archive\/data\.pkl declares 516000001 bytes, more than the \d+ accepted for a pickle[^\n]*$/,
  );
  assert.ok(pickle.ms < 2000 && pickle.growthMB < 200, `${pickle.ms.toFixed(0)} ms, ${pickle.growthMB.toFixed(0)} MB`);

  // A pickle within the size limit that builds an object with every byte: 4 MiB of EMPTY_DICT, a 4 kB zip.
  const dicts = new Uint8Array(4 * 2 ** 20 - 64).fill(0x7d);
  dicts.set([0x80, 2]);
  const objectBomb = zipSync({ "archive/data.pkl": [dicts, { level: 9 }] });
  assert.ok(objectBomb.length < 10_000, `${objectBomb.length} bytes`);
  const objects = await measureRefusal(() => Promise.resolve().then(() => readTorchStateDict(objectBomb, "bomb.bin")));
  assert.match(
    objects.error.message,
    /^bomb\.bin:archive\/data\.pkl: builds more than 250000 objects; a state dict needs about 10 a tensor \(at byte \d+\)$/,
  );
  assert.ok(objects.ms < 2000 && objects.growthMB < 200, `${objects.ms.toFixed(0)} ms, ${objects.growthMB.toFixed(0)} MB`);
});

Deno.test("F7: the loader inflates only the storages of the weights config.json asks for, and none larger than they need", () =>
  withTempDir(async (dir) => {
    const copies = 2_000_000;
    const bombBytes = 1 + 258 * copies;
    const views: ViewSpec[] = [];
    const storages: Record<string, Uint8Array> = {};
    for (const [name, shape] of gpt2ParamShapes(TINY)) {
      const numel = shape.reduce((a, b) => a * b, 1);
      views.push({ name: `transformer.${name}`, key: String(views.length), numel, shape });
      storages[String(views.length - 1)] = floats(numel);
    }
    await Deno.mkdir(`${dir}/ckpt`);
    await Deno.writeTextFile(`${dir}/ckpt/config.json`, JSON.stringify(gpt2ConfigToHF(TINY)));
    // wte.weight is a view into a 516 MB storage (a deflated run of zeros): the right shape, a storage far too big.
    const wte = views.findIndex((v) => v.name === "transformer.wte.weight");
    views[wte] = { ...views[wte], numel: bombBytes >> 2 };
    storages[String(wte)] = deflatedZeros(copies);
    await Deno.writeFile(
      `${dir}/ckpt/pytorch_model.bin`,
      markDeflated(torchZip(views, storages), `archive/data/${wte}`, (bombBytes >> 2) * 4),
    );
    const big = await measureRefusal(() => loadGPT2Weights(`${dir}/ckpt`));
    assert.match(
      big.error.message,
      new RegExp(
        `^${dir}/ckpt/pytorch_model\\.bin: the tensors asked for need storages of \\d+ bytes, ` +
          `more than the 16512 accepted \\(8 bytes for each of the 2064 weights config\\.json declares\\)$`,
      ),
    );
    assert.ok(big.ms < 2000 && big.growthMB < 200, `${big.ms.toFixed(0)} ms, ${big.growthMB.toFixed(0)} MB`);

    // The same bomb behind a causal-mask buffer, which the loader skips: never inflated, and the load succeeds.
    views[wte] = { ...views[wte], numel: 240 };
    storages[String(wte)] = floats(240);
    views.push({ name: "transformer.h.0.attn.bias", key: "mask", numel: bombBytes >> 2, shape: [1, 1, 8, 8] });
    storages.mask = deflatedZeros(copies);
    await Deno.writeFile(
      `${dir}/ckpt/pytorch_model.bin`,
      markDeflated(torchZip(views, storages), "archive/data/mask", (bombBytes >> 2) * 4),
    );
    try {
      Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    } catch { /* not Linux */ }
    const before = Deno.memoryUsage().rss;
    const start = performance.now();
    const model = await loadGPT2Weights(`${dir}/ckpt`);
    const growthMB = ((peakRss() ?? Deno.memoryUsage().rss) - before) / MB;
    assert.deepEqual(Array.from(await model.params["wte.weight"].data()), Array.from(new Float32Array(floats(240).buffer)));
    disposeGPT2(model);
    assert.ok(
      performance.now() - start < 2000 && growthMB < 200,
      `${(performance.now() - start).toFixed(0)} ms, ${growthMB.toFixed(0)} MB`,
    );
  }));

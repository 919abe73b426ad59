/**
 * HF-layout checkpoints: save → load round trips, both key spellings, the
 * buffers old files carry, sharded files, clear errors for misfit tensors and
 * configs, atomic saves, and no leaked tensors.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { loadGPT2Weights, saveGPT2Weights, writeDirectoryAtomic } from "../lib/checkpoint/pretrained.ts";
import { gpt2ConfigFromHF, gpt2ConfigToHF } from "../lib/checkpoint/hf_config.ts";
import { readSafetensorsFile, serializeSafetensors, type TensorToWrite } from "../lib/checkpoint/safetensors.ts";
import { type GPT2Config, gpt2ParamShapes, resolveGPT2Config } from "../lib/gpt2/config.ts";
import type { GPT2Model, GPT2Params } from "../lib/gpt2/model_types.ts";
import { loadPretrained, savePretrained } from "../lib/pretrained.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { assert, withTempDir } from "./helpers.ts";

await initBackend({ quiet: true });
const config = resolveGPT2Config({ vocab_size: 30, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 });
const FIXTURE = new URL("./fixtures/gpt2-tiny/", import.meta.url).pathname;

/** Random weights for every name of gpt2ParamShapes (a seeded LCG: no dependence on lib/gpt2/init.ts). */
function randomArrays(cfg: GPT2Config, seed: number): Map<string, { shape: number[]; data: Float32Array }> {
  let state = seed >>> 0 || 1;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  return new Map(
    [...gpt2ParamShapes(cfg)].map(([name, shape]) => [name, {
      shape,
      data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, next),
    }]),
  );
}

function randomModel(cfg: GPT2Config, seed: number): GPT2Model {
  const params: GPT2Params = {};
  for (const [name, { shape, data }] of randomArrays(cfg, seed)) params[name] = tf.tidy(() => tf.variable(tf.tensor(data, shape), true));
  return { config: cfg, params };
}

function dispose(...models: GPT2Model[]): void {
  for (const m of models) Object.values(m.params).forEach((v) => v.dispose());
}

async function assertSameWeights(a: GPT2Model, b: GPT2Model): Promise<void> {
  assert.deepEqual(Object.keys(b.params).sort(), Object.keys(a.params).sort());
  for (const name of Object.keys(a.params)) {
    assert.deepEqual(b.params[name].shape, a.params[name].shape, name);
    assert.deepEqual(await b.params[name].data(), await a.params[name].data(), name);
  }
}

/** Writes a checkpoint by hand: config.json + model.safetensors holding `tensors`. */
async function writeRaw(dir: string, tensors: Map<string, TensorToWrite>, hfConfig: Record<string, unknown> = gpt2ConfigToHF(config)) {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(hfConfig));
  await Deno.writeFile(`${dir}/model.safetensors`, serializeSafetensors(tensors));
}

/** The weights of a random model as stored tensors, named with `prefix`. */
function storedWeights(seed: number, prefix: string): Map<string, TensorToWrite> {
  return new Map([...randomArrays(config, seed)].map(([name, t]) => [prefix + name, { dtype: "F32" as const, ...t }]));
}

Deno.test("saveGPT2Weights() → loadGPT2Weights() gives identical weights and config, in HF's save_pretrained layout", () =>
  withTempDir(async (dir) => {
    const model = randomModel(config, 1);
    await saveGPT2Weights(model, `${dir}/ckpt`, { bosTokenId: 3, eosTokenId: 4, metadata: { step: "12" } });
    const loaded = await loadGPT2Weights(`${dir}/ckpt`);
    const again = await loadGPT2Weights(`${dir}/ckpt`); // two live copies: tfjs variable names must not collide
    assert.deepEqual(loaded.config, model.config);
    await assertSameWeights(model, loaded);
    await assertSameWeights(model, again);
    assert.ok(Object.values(loaded.params).every((v) => v.trainable && v.dtype === "float32"));

    const file = await readSafetensorsFile(`${dir}/ckpt/model.safetensors`);
    assert.deepEqual([...file.tensors.keys()].sort(), [...gpt2ParamShapes(config).keys()].map((k) => `transformer.${k}`).sort());
    assert.ok([...file.tensors.values()].every((t) => t.dtype === "F32"));
    assert.deepEqual(file.metadata, { format: "pt", step: "12" });
    const hf = JSON.parse(await Deno.readTextFile(`${dir}/ckpt/config.json`));
    assert.deepEqual(hf.architectures, ["GPT2LMHeadModel"]);
    assert.equal(hf.model_type, "gpt2");
    assert.equal(hf.activation_function, "gelu_new");
    assert.equal(hf.n_ctx, 8);
    assert.equal(hf.n_inner, null);
    assert.deepEqual([hf.resid_pdrop, hf.embd_pdrop, hf.attn_pdrop], [0.1, 0.1, 0.1]);
    assert.deepEqual([hf.bos_token_id, hf.eos_token_id, hf.tie_word_embeddings, hf.scale_attn_weights], [3, 4, true, true]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ckpt"], "no temporary directories left");
    dispose(model, loaded, again);
  }));

Deno.test("savePretrained() → loadPretrained() keeps the tokenizer files in the same directory", () =>
  withTempDir(async (dir) => {
    const tokenizer = buildCharVocab(["床前明月光"]);
    const model = { ...randomModel(resolveGPT2Config({ ...config, vocab_size: tokenizer.vocabSize }), 2), tokenizer };
    await savePretrained(model, `${dir}/ckpt`);
    const loaded = await loadPretrained(`${dir}/ckpt`);
    await assertSameWeights(model, loaded);
    assert.deepEqual(loaded.tokenizer?.encode("明月"), tokenizer.encode("明月"));
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/ckpt/config.json`)).eos_token_id, tokenizer.eosId);
    // A truncated vocab.txt is refused with the file named, not found out later in chat.
    const lines = (await Deno.readTextFile(`${dir}/ckpt/vocab.txt`)).split("\n");
    await Deno.writeTextFile(`${dir}/ckpt/vocab.txt`, lines.slice(0, 7).join("\n") + "\n");
    await assert.rejects(
      () => loadPretrained(`${dir}/ckpt`),
      /ckpt\/vocab\.txt: 7 entries, but config\.json vocab_size is 10 \(a truncated file\?\)/,
    );
    dispose(model, loaded);
  }));

Deno.test("loadGPT2Weights() reads both key spellings, ignoring attn.bias / masked_bias buffers and the tied lm_head", () =>
  withTempDir(async (dir) => {
    const reference = randomModel(config, 5);
    const T = config.n_positions;
    const mask = { dtype: "F32" as const, shape: [1, 1, T, T], data: new Float32Array(T * T).fill(1) };
    const maskedBias = { dtype: "F32" as const, shape: [], data: Float32Array.of(-1e4) };
    const lmHead = {
      dtype: "F32" as const,
      shape: [config.vocab_size, config.n_embd],
      data: new Float32Array(config.vocab_size * config.n_embd),
    };
    for (const prefix of ["", "transformer."]) {
      const tensors = storedWeights(5, prefix);
      for (let i = 0; i < config.n_layer; i++) {
        tensors.set(`${prefix}h.${i}.attn.bias`, mask);
        tensors.set(`${prefix}h.${i}.attn.masked_bias`, maskedBias);
      }
      tensors.set("lm_head.weight", lmHead);
      await writeRaw(`${dir}/${prefix || "plain"}`, tensors);
      const loaded = await loadGPT2Weights(`${dir}/${prefix || "plain"}`);
      await assertSameWeights(reference, loaded);
      dispose(loaded);
    }
    dispose(reference);
  }));

Deno.test("loadGPT2Weights() reads the PyTorch-written fixture (unprefixed keys plus attn.bias buffers)", async () => {
  const keys = [...(await readSafetensorsFile(`${FIXTURE}model.safetensors`)).tensors.keys()];
  assert.ok(keys.includes("h.0.attn.bias") && keys.includes("h.0.attn.masked_bias") && keys.includes("wte.weight"));
  const model = await loadGPT2Weights(FIXTURE);
  assert.deepEqual([model.config.vocab_size, model.config.n_positions, model.config.n_layer, model.config.n_head], [97, 32, 2, 4]);
  assert.equal(Object.keys(model.params).length, 2 + 12 * 2 + 2);
  assert.deepEqual(model.params["h.1.mlp.c_fc.weight"].shape, [32, 128]);
  dispose(model);
});

Deno.test("loadGPT2Weights() reads a sharded checkpoint (model.safetensors.index.json)", () =>
  withTempDir(async (dir) => {
    const all = storedWeights(6, "transformer.");
    const names = [...all.keys()];
    const shards = [names.slice(0, 10), names.slice(10)];
    const weightMap: Record<string, string> = {};
    for (const [k, shard] of shards.entries()) {
      const file = `model-0000${k + 1}-of-00002.safetensors`;
      await Deno.writeFile(`${dir}/${file}`, serializeSafetensors(new Map(shard.map((n) => [n, all.get(n)!]))));
      for (const n of shard) weightMap[n] = file;
    }
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(gpt2ConfigToHF(config)));
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    const reference = randomModel(config, 6);
    const loaded = await loadGPT2Weights(dir);
    await assertSameWeights(reference, loaded);
    dispose(reference, loaded);
    // An index that points a tensor at the wrong shard is an error naming both.
    weightMap[names[0]] = "model-00002-of-00002.safetensors";
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify({ weight_map: weightMap }));
    await assert.rejects(
      () => loadGPT2Weights(dir),
      /index\.json: tensor "transformer\.wte\.weight" is listed in model-00002-of-00002\.safetensors, but that file does not hold it/,
    );
    await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify({ weight_map: { [names[0]]: "../x.safetensors" } }));
    await assert.rejects(() => loadGPT2Weights(dir), /must be a file name in the same directory/);
  }));

Deno.test("loadGPT2Weights() names the file, tensor, expected and found shape of a misfit", () =>
  withTempDir(async (dir) => {
    const tensors = storedWeights(1, "transformer.");
    const w = tensors.get("transformer.h.0.attn.c_attn.weight")!;
    tensors.set("transformer.h.0.attn.c_attn.weight", { ...w, shape: [24, 8] });
    await writeRaw(dir, tensors);
    await assert.rejects(
      () => loadGPT2Weights(dir),
      (err: Error) => err.message === `${dir}/model.safetensors: tensor "h.0.attn.c_attn.weight": expected shape [8, 24], found [24, 8]`,
    );
    tensors.set("transformer.h.0.attn.c_attn.weight", w);
    tensors.set("lm_head.weight", { dtype: "F32", shape: [8, 30], data: new Float32Array(240) });
    await writeRaw(dir, tensors);
    await assert.rejects(
      () => loadGPT2Weights(dir),
      /model\.safetensors: tensor "lm_head\.weight": expected shape \[30, 8\] \(tied to wte\.weight\), found \[8, 30\]/,
    );
  }));

Deno.test("loadGPT2Weights() reports missing, unexpected, duplicated and integer tensors", () =>
  withTempDir(async (dir) => {
    const cases: [(t: Map<string, TensorToWrite>) => void, RegExp][] = [
      [(t) => t.delete("transformer.ln_f.bias"), /model\.safetensors: missing tensor "ln_f\.bias" \(expected shape \[8\]\)/],
      [
        (t) => t.set("transformer.h.5.ln_1.weight", { dtype: "F32", shape: [8], data: new Float32Array(8) }),
        /model\.safetensors: unexpected tensor "transformer\.h\.5\.ln_1\.weight" for a GPT-2 with n_layer = 2/,
      ],
      [(t) => t.set("wpe.weight", t.get("transformer.wpe.weight")!), /model\.safetensors: tensor "wpe\.weight" appears twice/],
      [
        (t) => t.set("transformer.ln_f.bias", { dtype: "I32", shape: [8], data: new Int32Array(8) }),
        /model\.safetensors: tensor "ln_f\.bias": expected a float dtype, found I32/,
      ],
    ];
    for (const [edit, pattern] of cases) {
      const tensors = storedWeights(1, "transformer.");
      edit(tensors);
      await writeRaw(dir, tensors);
      await assert.rejects(() => loadGPT2Weights(dir), pattern);
    }
  }));

Deno.test("loadGPT2Weights() explains missing weights, pytorch_model.bin and bad config.json", () =>
  withTempDir(async (dir) => {
    await assert.rejects(() => loadGPT2Weights(dir), /config\.json: file not found/);
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(gpt2ConfigToHF(config)));
    await assert.rejects(
      () => loadGPT2Weights(dir),
      /no model\.safetensors \(nor model\.safetensors\.index\.json, nor pytorch_model\.bin\)/,
    );
    await Deno.writeFile(`${dir}/pytorch_model.bin`, new Uint8Array(4));
    await assert.rejects(() => loadGPT2Weights(dir), /pytorch_model\.bin: neither a zip archive nor PyTorch's legacy format/);
    await Deno.writeTextFile(`${dir}/config.json`, "{ not json");
    await assert.rejects(() => loadGPT2Weights(dir), /config\.json: not valid JSON/);
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ ...gpt2ConfigToHF(config), activation_function: "relu" }));
    await assert.rejects(() => loadGPT2Weights(dir), /config\.json: field "activation_function" is "relu"/);
  }));

/** A Uint8Array whose bytes cannot be written: stands in for a disk that fills up mid-save. */
class FailingBytes extends Uint8Array {
  override subarray(): never {
    throw new Error("simulated write failure");
  }
}

Deno.test("a save that fails mid-way leaves the previous checkpoint complete and loadable", () =>
  withTempDir(async (dir) => {
    const first = randomModel(config, 1);
    await saveGPT2Weights(first, `${dir}/ckpt`, { extraFiles: { "vocab.txt": "a\nb\n" } });
    const second = randomModel(config, 2);
    // config.json and model.safetensors are written into the temporary directory before this file fails.
    await assert.rejects(
      () => saveGPT2Weights(second, `${dir}/ckpt`, { extraFiles: { "vocab.txt": "c\n", "z.bin": new FailingBytes(16) } }),
      (e: Error) => e.message.startsWith(`${dir}/ckpt: could not write the checkpoint (`) && /simulated write failure/.test(e.message),
    );
    const loaded = await loadGPT2Weights(`${dir}/ckpt`);
    await assertSameWeights(first, loaded);
    assert.equal(await Deno.readTextFile(`${dir}/ckpt/vocab.txt`), "a\nb\n");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ckpt"], "the half-built directory is removed");
    dispose(first, second, loaded);
  }));

Deno.test("a save replaces the directory whole and refuses bad extra file names before touching it", () =>
  withTempDir(async (dir) => {
    const model = randomModel(config, 3);
    await saveGPT2Weights(model, `${dir}/ckpt`, { extraFiles: { "old.txt": "stale" } });
    await saveGPT2Weights(model, `${dir}/ckpt`, { extraFiles: { "new.txt": "fresh" } });
    assert.deepEqual([...Deno.readDirSync(`${dir}/ckpt`)].map((e) => e.name).sort(), ["config.json", "model.safetensors", "new.txt"]);
    await assert.rejects(
      () => saveGPT2Weights(model, `${dir}/ckpt`, { extraFiles: { "sub/x.txt": "x" } }),
      /"sub\/x\.txt" is not a plain file name/,
    );
    await assert.rejects(
      () => saveGPT2Weights(model, `${dir}/ckpt`, { extraFiles: { "config.json": "{}" } }),
      /extraFiles may not replace config\.json/,
    );
    await assert.rejects(
      () => saveGPT2Weights(model, `${dir}/ckpt`, { eosTokenId: 30 }),
      /eosTokenId must be an integer in \[0, vocab_size = 30\)/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/ckpt/new.txt`), "fresh");
    dispose(model);
  }));

Deno.test("a swap interrupted between its two renames is recovered on the next load; the next save removes the dead writer's leftovers", () =>
  withTempDir(async (dir) => {
    const model = randomModel(config, 3);
    await saveGPT2Weights(model, `${dir}/ckpt`);
    // Simulate the crash: the old directory was moved aside, the new one never arrived.
    await Deno.rename(`${dir}/ckpt`, `${dir}/.ckpt.old-999999-deadbeef`);
    await Deno.mkdir(`${dir}/.ckpt.new-999999-deadbeef`);
    await writeDirectoryAtomic(`${dir}/other`, { "b.txt": "x" }); // another checkpoint's swap leaves it alone
    assert.ok([...Deno.readDirSync(dir)].some((e) => e.name.startsWith(".ckpt.old-")));
    const loaded = await loadGPT2Weights(`${dir}/ckpt`);
    await assertSameWeights(model, loaded);
    // A load only puts the finished checkpoint back; it removes nothing (F18: it could be a live writer's).
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [".ckpt.new-999999-deadbeef", "ckpt", "other"]);
    await saveGPT2Weights(model, `${dir}/ckpt`);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["ckpt", "other"]);
    dispose(model, loaded);
  }));

const HUB_GPT2 = {
  activation_function: "gelu_new",
  architectures: ["GPT2LMHeadModel"],
  attn_pdrop: 0.1,
  bos_token_id: 50256,
  embd_pdrop: 0.1,
  eos_token_id: 50256,
  initializer_range: 0.02,
  layer_norm_epsilon: 1e-05,
  model_type: "gpt2",
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  resid_pdrop: 0.1,
  summary_activation: null,
  summary_first_dropout: 0.1,
  summary_proj_to_labels: true,
  summary_type: "cls_index",
  summary_use_proj: true,
  task_specific_params: { "text-generation": { do_sample: true, max_length: 50 } },
  vocab_size: 50257,
};

Deno.test("gpt2ConfigFromHF() reads the hub's gpt2 config.json and round trips through gpt2ConfigToHF()", () => {
  const c = gpt2ConfigFromHF(HUB_GPT2, "gpt2/config.json");
  assert.deepEqual(c, resolveGPT2Config({ preset: "gpt2" }));
  assert.deepEqual(gpt2ConfigFromHF(gpt2ConfigToHF(c, { bosTokenId: 50256 }), "x"), c);
  const tiny = resolveGPT2Config({ ...config, dropout: 0, layer_norm_epsilon: 1e-6, initializer_range: 0.05 });
  assert.deepEqual(gpt2ConfigFromHF(gpt2ConfigToHF(tiny), "x"), tiny);
  // Variants real files use.
  const { n_positions: _, ...onlyNCtx } = HUB_GPT2;
  assert.equal(gpt2ConfigFromHF({ ...onlyNCtx, n_ctx: 512 }, "c.json").n_positions, 512);
  assert.equal(gpt2ConfigFromHF({ ...HUB_GPT2, activation_function: "gelu_pytorch_tanh" }, "c.json").n_embd, 768);
  assert.equal(gpt2ConfigFromHF({ ...HUB_GPT2, n_inner: 3072 }, "c.json").n_embd, 768);
  assert.equal(gpt2ConfigFromHF({ ...HUB_GPT2, n_inner: null, model_type: undefined }, "c.json").n_layer, 12);
  assert.equal(gpt2ConfigFromHF({ ...HUB_GPT2, resid_pdrop: 0.2, embd_pdrop: 0 }, "c.json").dropout, 0.2);
});

Deno.test("gpt2ConfigFromHF() names the file and the field it cannot accept", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ activation_function: "relu" }, /^c\.json: field "activation_function" is "relu", which is not supported/],
    [{ model_type: "llama" }, /^c\.json: field "model_type" is "llama", expected "gpt2"/],
    [{ n_inner: 1000 }, /^c\.json: field "n_inner" is 1000, which is not supported \(expected null or 4·n_embd = 3072\)/],
    [{ scale_attn_by_inverse_layer_idx: true }, /^c\.json: field "scale_attn_by_inverse_layer_idx" is true/],
    [{ scale_attn_weights: false }, /^c\.json: field "scale_attn_weights" is false/],
    [{ tie_word_embeddings: false }, /^c\.json: field "tie_word_embeddings" is false/],
    [{ add_cross_attention: true }, /^c\.json: field "add_cross_attention" is true/],
    [{ n_layer: "12" }, /^c\.json: field "n_layer" must be a number, got "12"/],
    [{ n_head: 7 }, /^c\.json: GPT2Config\.n_head: n_embd \(768\) must be divisible by n_head \(7\)/],
    [{ vocab_size: 0 }, /^c\.json: GPT2Config\.vocab_size: expected a positive integer, got 0/],
  ];
  for (const [change, pattern] of cases) {
    assert.throws(() => gpt2ConfigFromHF({ ...HUB_GPT2, ...change }, "c.json"), (err: Error) => pattern.test(err.message), String(pattern));
  }
  assert.throws(() => gpt2ConfigFromHF([1], "c.json"), /^Error: c\.json: expected a JSON object/);
});

Deno.test("loading and disposing checkpoints leaks no tensors, also when the load fails", () =>
  withTempDir(async (dir) => {
    const before = tf.memory().numTensors;
    dispose(await loadGPT2Weights(FIXTURE));
    const tensors = storedWeights(1, "");
    tensors.set("ln_f.bias", { dtype: "F32", shape: [9], data: new Float32Array(9) }); // the last parameter misfits
    await writeRaw(dir, tensors);
    await assert.rejects(() => loadGPT2Weights(dir), /ln_f\.bias/);
    assert.equal(tf.memory().numTensors, before);
  }));

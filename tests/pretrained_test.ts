/**
 * HF-layout checkpoints: save → load round trips, both key spellings, the
 * buffers old files carry, clear errors for misfit tensors, and atomic saves.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { loadGPT2Weights, saveGPT2Weights, writeDirectoryAtomic } from "../lib/checkpoint/pretrained.ts";
import { gpt2ConfigFromHF, gpt2ConfigToHF } from "../lib/checkpoint/hf_config.ts";
import { readSafetensorsFile, serializeSafetensors } from "../lib/checkpoint/safetensors.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import type { GPT2Model } from "../lib/gpt2/model_types.ts";
import { loadPretrained, savePretrained } from "../lib/pretrained.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });
const config = resolveGPT2Config({ vocab_size: 30, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 });
const FIXTURE = new URL("./fixtures/gpt2-tiny/", import.meta.url).pathname;

async function sameWeights(a: GPT2Model, b: GPT2Model): Promise<void> {
  assert.deepEqual(Object.keys(b.params).sort(), Object.keys(a.params).sort());
  for (const name of Object.keys(a.params)) {
    assert.deepEqual(await b.params[name].data(), await a.params[name].data(), name);
  }
}

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("savePretrained() → loadPretrained() gives the same weights, config and tokenizer", () =>
  withTempDir(async (dir) => {
    const tokenizer = buildCharVocab(["床前明月光"]);
    const model = { ...createGPT2(config, { seed: 4 }), tokenizer };
    await savePretrained(model, `${dir}/ckpt`);
    const loaded = await loadPretrained(`${dir}/ckpt`);
    assert.deepEqual(loaded.config, model.config);
    await sameWeights(model, loaded);
    assert.deepEqual(loaded.tokenizer?.encode("明月"), tokenizer.encode("明月"));
    // Current HF save_pretrained spelling: transformer.-prefixed, tied lm_head omitted.
    const keys = [...(await readSafetensorsFile(`${dir}/ckpt/model.safetensors`)).tensors.keys()];
    assert.ok(keys.every((k) => k.startsWith("transformer.")) && !keys.includes("lm_head.weight"));
    const hf = JSON.parse(await Deno.readTextFile(`${dir}/ckpt/config.json`));
    assert.equal(hf.architectures[0], "GPT2LMHeadModel");
    assert.equal(hf.eos_token_id, tokenizer.eosId);
    disposeGPT2(model);
    disposeGPT2(loaded);
  }));

Deno.test("loadGPT2Weights() reads the PyTorch-written fixture: unprefixed keys plus attn.bias buffers", async () => {
  const keys = [...(await readSafetensorsFile(`${FIXTURE}model.safetensors`)).tensors.keys()];
  assert.ok(keys.includes("h.0.attn.bias") && keys.includes("h.0.attn.masked_bias") && keys.includes("wte.weight"));
  const model = await loadGPT2Weights(FIXTURE);
  assert.equal(model.config.n_layer, 2);
  assert.equal(Object.keys(model.params).length, 2 + 12 * 2 + 2);
  disposeGPT2(model);
});

/** Writes a checkpoint whose safetensors holds `tensors` (edited from a good one). */
async function writeEdited(dir: string, edit: (t: Map<string, { dtype: "F32"; shape: number[]; data: Float32Array }>) => void) {
  const model = createGPT2(config, { seed: 1 });
  await saveGPT2Weights(model, dir);
  disposeGPT2(model);
  const file = await readSafetensorsFile(`${dir}/model.safetensors`);
  const tensors = new Map([...file.tensors].map(([k, v]) => [k, { dtype: "F32" as const, shape: v.shape, data: v.data as Float32Array }]));
  edit(tensors);
  await Deno.writeFile(`${dir}/model.safetensors`, serializeSafetensors(tensors));
}

Deno.test("loadGPT2Weights() names the tensor, expected and found shape of a misfit", () =>
  withTempDir(async (dir) => {
    await writeEdited(dir, (t) => {
      const w = t.get("transformer.h.0.attn.c_attn.weight")!;
      t.set("transformer.h.0.attn.c_attn.weight", { ...w, shape: [24, 8] });
    });
    await assert.rejects(() => loadGPT2Weights(dir), /model\.safetensors: tensor "h\.0\.attn\.c_attn\.weight": expected shape \[8,24\], found \[24,8\]/);
  }));

Deno.test("loadGPT2Weights() reports missing, unexpected and duplicated tensors", () =>
  withTempDir(async (dir) => {
    await writeEdited(dir, (t) => t.delete("transformer.ln_f.bias"));
    await assert.rejects(() => loadGPT2Weights(dir), /missing tensor "ln_f\.bias" \(expected shape \[8\]\)/);
    await writeEdited(dir, (t) => t.set("transformer.h.5.ln_1.weight", { dtype: "F32", shape: [8], data: new Float32Array(8) }));
    await assert.rejects(() => loadGPT2Weights(dir), /unexpected tensor "transformer\.h\.5\.ln_1\.weight"/);
    await writeEdited(dir, (t) => t.set("wpe.weight", t.get("transformer.wpe.weight")!));
    await assert.rejects(() => loadGPT2Weights(dir), /tensor "wpe\.weight" appears twice/);
  }));

Deno.test("a failed save leaves the previous checkpoint complete and loadable", () =>
  withTempDir(async (dir) => {
    const first = createGPT2(config, { seed: 1 });
    await saveGPT2Weights(first, `${dir}/ckpt`);
    const second = createGPT2(config, { seed: 2 });
    // A file name that cannot be created makes the write throw half-way.
    await assert.rejects(() => saveGPT2Weights(second, `${dir}/ckpt`, { extraFiles: { "no/such/dir.txt": "x" } }));
    const loaded = await loadGPT2Weights(`${dir}/ckpt`);
    await sameWeights(first, loaded);
    const leftovers = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(leftovers, ["ckpt"]);
    [first, second, loaded].forEach(disposeGPT2);
  }));

Deno.test("a swap interrupted between its two renames is recovered on the next load", () =>
  withTempDir(async (dir) => {
    const model = createGPT2(config, { seed: 3 });
    await saveGPT2Weights(model, `${dir}/ckpt`);
    // Simulate the crash: the old directory was moved aside, the new one never arrived.
    await Deno.rename(`${dir}/ckpt`, `${dir}/.ckpt.old-999999-deadbeef`);
    await writeDirectoryAtomic(`${dir}/other`, { "b.txt": "x" }); // another checkpoint's swap leaves it alone
    assert.ok([...Deno.readDirSync(dir)].some((e) => e.name.startsWith(".ckpt.old-")));
    const loaded = await loadGPT2Weights(`${dir}/ckpt`);
    await sameWeights(model, loaded);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["ckpt", "other"]);
    [model, loaded].forEach(disposeGPT2);
  }));

Deno.test("gpt2ConfigFromHF() reads hub configs and names unsupported fields", () => {
  const hub = { model_type: "gpt2", n_ctx: 1024, n_embd: 768, n_head: 12, n_layer: 12, vocab_size: 50257, resid_pdrop: 0.1, activation_function: "gelu_new" };
  const c = gpt2ConfigFromHF(hub, "config.json");
  assert.equal(c.n_positions, 1024);
  assert.deepEqual(gpt2ConfigFromHF(gpt2ConfigToHF(c), "x"), c);
  assert.throws(() => gpt2ConfigFromHF({ ...hub, activation_function: "relu" }, "c.json"), /c\.json: activation_function "relu" is not supported/);
  assert.throws(() => gpt2ConfigFromHF({ ...hub, model_type: "llama" }, "c.json"), /model_type is "llama"/);
  assert.throws(() => gpt2ConfigFromHF({ ...hub, n_head: 7 }, "c.json"), /c\.json: GPT2Config\.n_head/);
  assert.throws(() => gpt2ConfigFromHF({ ...hub, n_layer: "12" }, "c.json"), /field "n_layer" must be a number/);
});

Deno.test("loading and disposing a checkpoint leaks no tensors", async () => {
  const before = tf.memory().numTensors;
  disposeGPT2(await loadGPT2Weights(FIXTURE));
  assert.equal(tf.memory().numTensors, before);
});

/**
 * pytorch_model.bin through the restricted unpickler: files written by
 * PyTorch's own torch.save (reference/make_torch_bin_fixtures.py) load to the
 * same weights as the safetensors copy, in the zip and the legacy format;
 * every dtype, a transposed view and shared storages come out right; a pickle
 * that names any other global is refused with its name, and nothing runs.
 */
import { initBackend } from "../lib/backend.ts";
import { loadGPT2Weights } from "../lib/checkpoint/pretrained.ts";
import { readTorchStateDict } from "../lib/checkpoint/torch_pickle.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });
const FIX = new URL("./fixtures/", import.meta.url).pathname;

for (const folder of ["gpt2-tiny-bin", "gpt2-tiny-bin-legacy"]) {
  Deno.test(`loadGPT2Weights() reads ${folder}/pytorch_model.bin to the same weights as the safetensors copy`, async () => {
    const fromBin = await loadGPT2Weights(`${FIX}${folder}`);
    const fromSafetensors = await loadGPT2Weights(`${FIX}gpt2-tiny`);
    try {
      assert.deepEqual(Object.keys(fromBin.params).sort(), Object.keys(fromSafetensors.params).sort());
      for (const [name, v] of Object.entries(fromSafetensors.params)) {
        assert.deepEqual(await fromBin.params[name].data(), await v.data(), name);
      }
    } finally {
      disposeGPT2(fromBin);
      disposeGPT2(fromSafetensors);
    }
  });
}

Deno.test("every supported dtype, a transposed view and two views of one storage come out as torch wrote them", async () => {
  const tensors = readTorchStateDict(await Deno.readFile(`${FIX}torch-mixed.bin`), "torch-mixed.bin");
  const expected = JSON.parse(await Deno.readTextFile(`${FIX}torch-mixed.json`)) as Record<string, { shape: number[]; values: number[] }>;
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(expected).sort());
  const dtypes = Object.fromEntries([...tensors].map(([k, t]) => [k, t.dtype]));
  assert.deepEqual(dtypes, {
    f32: "F32",
    f16: "F16",
    bf16: "BF16",
    f64: "F64",
    i64: "I64",
    transposed: "F32",
    shared_a: "F32",
    shared_b: "F32",
  });
  for (const [name, e] of Object.entries(expected)) {
    const t = tensors.get(name)!;
    assert.deepEqual(t.shape, e.shape, name);
    // torch's float() of f16/bf16/f64 is the value we decode to float32
    assert.deepEqual([...t.data], e.values.map((v) => Math.fround(v)), name);
  }
});

Deno.test("a pickle that names any global outside a state dict's is refused with its name, and nothing runs", async () => {
  for (const file of ["torch-evil.bin", "torch-evil-zip.bin"]) {
    const bytes = await Deno.readFile(`${FIX}${file}`);
    assert.throws(() => readTorchStateDict(bytes, file), new RegExp(`${file.replace(".", "\\.")}.*refuses the global (posix|os)\\.system`));
  }
});

Deno.test("damaged files are errors that name the file", async () => {
  const good = await Deno.readFile(`${FIX}gpt2-tiny-bin/pytorch_model.bin`);
  assert.throws(() => readTorchStateDict(good.subarray(0, 1000), "cut.bin"), /cut\.bin: not a readable zip archive/);
  const legacy = await Deno.readFile(`${FIX}gpt2-tiny-bin-legacy/pytorch_model.bin`);
  assert.throws(
    () => readTorchStateDict(legacy.subarray(0, legacy.length - 100), "cut-legacy.bin"),
    /cut-legacy\.bin: the file ends inside storage/,
  );
  assert.throws(
    () => readTorchStateDict(new TextEncoder().encode("hello world"), "text.bin"),
    /text\.bin: neither a zip archive nor PyTorch's legacy format/,
  );
});

Deno.test("convertTorchWeights() writes model.safetensors beside pytorch_model.bin, the same weights, other files untouched", async () => {
  const { convertTorchWeights } = await import("../lib/checkpoint/pretrained.ts");
  const dir = await Deno.makeTempDir();
  try {
    for (const f of ["config.json", "pytorch_model.bin"]) await Deno.copyFile(`${FIX}gpt2-tiny-bin/${f}`, `${dir}/${f}`);
    assert.equal(await convertTorchWeights(dir), `${dir}/model.safetensors`);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["config.json", "model.safetensors", "pytorch_model.bin"]);
    const converted = await loadGPT2Weights(dir); // reads model.safetensors now
    const original = await loadGPT2Weights(`${FIX}gpt2-tiny`);
    for (const [name, v] of Object.entries(original.params)) assert.deepEqual(await converted.params[name].data(), await v.data(), name);
    disposeGPT2(converted);
    disposeGPT2(original);
    await assert.rejects(() => convertTorchWeights(dir), /model\.safetensors exists already/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

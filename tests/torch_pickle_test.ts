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

/**
 * The same archive with every entry's sizes and offset moved into zip64 extra fields (what torch writes for
 * entries past 4 GiB) and the end of central directory pointing to the zip64 end record only.
 */
function withZip64Extras(zip: Uint8Array): Uint8Array {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = zip.length - 22;
  while (view.getUint32(end, true) !== 0x06054b50) end--;
  const count = view.getUint16(end + 10, true);
  const cdStart = view.getUint32(end + 16, true);
  const parts: Uint8Array[] = [];
  for (let i = 0, at = cdStart; i < count; i++) {
    const nameLength = view.getUint16(at + 28, true);
    const header = zip.slice(at, at + 46 + nameLength);
    const h = new DataView(header.buffer);
    const extra = new DataView(new ArrayBuffer(28));
    extra.setUint16(0, 1, true);
    extra.setUint16(2, 24, true);
    for (const [k, field] of [24, 20, 42].entries()) { // uncompressed size, compressed size, local header offset: that order
      extra.setBigUint64(4 + 8 * k, BigInt(h.getUint32(field, true)), true);
      h.setUint32(field, 0xffffffff, true);
    }
    h.setUint16(30, 28, true);
    h.setUint16(32, 0, true);
    parts.push(header, new Uint8Array(extra.buffer));
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  const cdSize = parts.reduce((n, p) => n + p.length, 0);
  const tail = new DataView(new ArrayBuffer(56 + 20 + 22));
  const end64 = cdStart + cdSize;
  tail.setUint32(0, 0x06064b50, true); // zip64 end of central directory
  tail.setBigUint64(4, 44n, true);
  tail.setBigUint64(24, BigInt(count), true);
  tail.setBigUint64(32, BigInt(count), true);
  tail.setBigUint64(40, BigInt(cdSize), true);
  tail.setBigUint64(48, BigInt(cdStart), true);
  tail.setUint32(56, 0x07064b50, true); // its locator
  tail.setBigUint64(64, BigInt(end64), true);
  tail.setUint32(72, 1, true);
  tail.setUint32(76, 0x06054b50, true); // end of central directory: everything in the zip64 record
  for (const at of [84, 86]) tail.setUint16(at, 0xffff, true);
  for (const at of [88, 92]) tail.setUint32(at, 0xffffffff, true);
  const out = new Uint8Array(end64 + tail.byteLength);
  out.set(zip.subarray(0, cdStart));
  let at = cdStart;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  out.set(new Uint8Array(tail.buffer), end64);
  return out;
}

Deno.test("a zip whose sizes and offsets are in zip64 extra fields (entries past 4 GiB) reads the same", async () => {
  const plain = await Deno.readFile(`${FIX}gpt2-tiny-bin/pytorch_model.bin`);
  const zip64 = withZip64Extras(plain);
  assert.notDeepEqual(zip64, plain);
  const expected = readTorchStateDict(plain, "plain.bin");
  const tensors = readTorchStateDict(zip64, "zip64.bin");
  assert.deepEqual([...tensors.keys()], [...expected.keys()]);
  for (const [name, t] of expected) assert.deepEqual(tensors.get(name), t, name);
});

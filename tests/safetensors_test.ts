import { halfToFloat, parseSafetensors, serializeSafetensors } from "../lib/checkpoint/safetensors.ts";
import { assert } from "./helpers.ts";

/** Builds a safetensors file by hand from a header object and raw data bytes. */
function handMade(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("serializeSafetensors() → parseSafetensors() round trip (F32, I32, scalar, metadata)", () => {
  const tensors = new Map([
    ["b.weight", { dtype: "F32" as const, shape: [2, 3], data: Float32Array.from([1.5, -2, 3.25, 0, 1e-8, -7]) }],
    ["a.ids", { dtype: "I32" as const, shape: [4], data: Int32Array.from([0, -1, 2147483647, 42]) }],
    ["scalar", { dtype: "F32" as const, shape: [], data: Float32Array.from([-1e4]) }],
  ]);
  const bytes = serializeSafetensors(tensors, { format: "pt" });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLength) % 8, 0, "data starts 8-aligned");
  const parsed = parseSafetensors(bytes, "mem");
  assert.deepEqual(parsed.metadata, { format: "pt" });
  for (const [name, t] of tensors) {
    const got = parsed.tensors.get(name)!;
    assert.equal(got.dtype, t.dtype);
    assert.deepEqual(got.shape, t.shape);
    assert.deepEqual(Array.from(got.data), Array.from(t.data));
  }
});

Deno.test("parseSafetensors() decodes F16, BF16, F64 and I64", () => {
  const data = new Uint8Array(2 * 3 + 2 * 2 + 8 + 8);
  const v = new DataView(data.buffer);
  [0x3c00, 0xc000, 0x0001].forEach((h, i) => v.setUint16(2 * i, h, true)); // 1, -2, smallest subnormal
  [0x3f80, 0x4049].forEach((h, i) => v.setUint16(6 + 2 * i, h, true)); // bf16 1.0, 3.140625
  v.setFloat64(10, 0.1, true);
  v.setBigInt64(18, -5n, true);
  const file = handMade({
    h: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
    b: { dtype: "BF16", shape: [2], data_offsets: [6, 10] },
    d: { dtype: "F64", shape: [1], data_offsets: [10, 18] },
    i: { dtype: "I64", shape: [1], data_offsets: [18, 26] },
  }, data);
  const t = parseSafetensors(file, "mem").tensors;
  assert.deepEqual(Array.from(t.get("h")!.data), [1, -2, 2 ** -24]);
  assert.deepEqual(Array.from(t.get("b")!.data), [1, 3.140625]);
  assert.equal(t.get("d")!.data[0], Math.fround(0.1));
  assert.deepEqual(Array.from(t.get("i")!.data), [-5]);
  assert.equal(halfToFloat(0x7c00), Infinity);
});

Deno.test("parseSafetensors() rejects bad files with the source and tensor named", () => {
  const data = new Uint8Array(8);
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(4), /f\.st: not a safetensors file/],
    [handMade({ x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, data).slice(0, 20), /f\.st: header length \d+ is larger than the file/],
    [handMade({ x: { dtype: "Q8", shape: [2], data_offsets: [0, 8] } }, data), /f\.st: tensor "x": unsupported dtype "Q8"/],
    [handMade({ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, data), /tensor "x": shape \[3\] of F32 needs 12 bytes, data_offsets give 8/],
    [handMade({ x: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, data), /tensor "x": data_offsets \[0, 16\] run past the end/],
    [handMade({ x: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, y: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, data), /tensors "x" and "y" overlap/],
  ];
  const bad = new Uint8Array(12);
  new DataView(bad.buffer).setBigUint64(0, 4n, true);
  bad.set(new TextEncoder().encode("{no}"), 8);
  cases.push([bad, /f\.st: header is not valid UTF-8 JSON/]);
  for (const [bytes, pattern] of cases) assert.throws(() => parseSafetensors(bytes, "f.st"), pattern);
});

/**
 * safetensors by hand: round trips, the byte layout the reference writer
 * produces, decoding of every stored dtype from known bit patterns, and one
 * clear error (naming the file and the tensor) for each kind of bad file.
 */
import {
  halfToFloat,
  parseSafetensors,
  readSafetensorsFile,
  readSafetensorsHeader,
  readSafetensorsTensors,
  serializeSafetensors,
  type TensorToWrite,
} from "../lib/checkpoint/safetensors.ts";
import { assert } from "./helpers.ts";

/** Builds a safetensors file by hand from a header object and raw data bytes (no padding). */
function handMade(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function headerOf(
  bytes: Uint8Array,
): { length: number; text: string; json: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + length));
  return { length, text, json: JSON.parse(text) };
}

const TENSORS = new Map<string, TensorToWrite>([
  ["b.weight", { dtype: "F32", shape: [2, 3], data: Float32Array.from([1.5, -2, 3.25, -0, 1e-8, -7]) }],
  ["a.ids", { dtype: "I32", shape: [4], data: Int32Array.from([0, -1, 2147483647, -2147483648]) }],
  ["scalar", { dtype: "F32", shape: [], data: Float32Array.from([-1e4]) }],
  ["odd", { dtype: "F32", shape: [3, 1, 5], data: Float32Array.from({ length: 15 }, (_, i) => i / 7) }],
  ["empty", { dtype: "F32", shape: [0, 4], data: new Float32Array(0) }],
  ["special", { dtype: "F32", shape: [3], data: Float32Array.from([NaN, Infinity, -Infinity]) }],
]);

Deno.test("serializeSafetensors() → parseSafetensors() round trip (F32, I32, scalar, odd and empty shapes, metadata)", () => {
  const parsed = parseSafetensors(serializeSafetensors(TENSORS, { format: "pt", note: "ünïcode ✓" }), "mem");
  assert.deepEqual(parsed.metadata, { format: "pt", note: "ünïcode ✓" });
  assert.deepEqual([...parsed.tensors.keys()].sort(), [...TENSORS.keys()].sort());
  for (const [name, t] of TENSORS) {
    const got = parsed.tensors.get(name)!;
    assert.equal(got.dtype, t.dtype, name);
    assert.deepEqual(got.shape, t.shape, name);
    assert.equal(got.data.constructor, t.data.constructor, name);
    assert.deepEqual(Array.from(got.data), Array.from(t.data), name); // strict: -0 and NaN must survive
  }
});

Deno.test("serializeSafetensors() accepts a plain record and writes no metadata when given none", () => {
  const record = Object.fromEntries(TENSORS);
  const bytes = serializeSafetensors(record);
  assert.deepEqual(bytes, serializeSafetensors(TENSORS));
  assert.ok(!("__metadata__" in headerOf(bytes).json));
  assert.deepEqual(parseSafetensors(bytes, "mem").metadata, {});
});

Deno.test("serializeSafetensors() writes the reference layout: space-padded header, sorted contiguous tensors", () => {
  const bytes = serializeSafetensors(TENSORS, { format: "pt" });
  const { length, text, json } = headerOf(bytes);
  assert.equal(length % 8, 0, "header length is a multiple of 8, so the data starts 8-aligned");
  assert.match(text, /^\{.*\} *$/, "the header is JSON padded with spaces");
  const names = Object.keys(json).filter((k) => k !== "__metadata__");
  const sorted = [...names].sort();
  let offset = 0;
  for (const name of sorted) {
    assert.equal(json[name].data_offsets[0], offset, `${name} starts where the previous one ended`);
    offset = json[name].data_offsets[1];
  }
  assert.equal(8 + length + offset, bytes.length, "no bytes after the last tensor");
  // Little-endian values at the recorded offsets.
  const view = new DataView(bytes.buffer, 8 + length);
  assert.equal(view.getInt32(json["a.ids"].data_offsets[0] + 4, true), -1);
  assert.equal(view.getFloat32(json["b.weight"].data_offsets[0], true), 1.5);
});

Deno.test("parseSafetensors() reads tensors at unaligned offsets and from a subarray", () => {
  // A 3-byte U8 tensor first pushes the F32 and I32 tensors off 4-byte alignment.
  const data = new Uint8Array(3 + 8 + 4);
  data.set([7, 0, 255]);
  const v = new DataView(data.buffer);
  v.setFloat32(3, 0.25, true);
  v.setFloat32(7, -3, true);
  v.setInt32(11, -123456, true);
  const file = handMade({
    u: { dtype: "U8", shape: [3], data_offsets: [0, 3] },
    f: { dtype: "F32", shape: [2], data_offsets: [3, 11] },
    i: { dtype: "I32", shape: [1], data_offsets: [11, 15] },
  }, data);
  const padded = new Uint8Array(file.length + 5);
  padded.set(file, 1); // the file itself starts at byte offset 1 of its buffer
  const t = parseSafetensors(padded.subarray(1, 1 + file.length), "mem").tensors;
  assert.deepEqual(Array.from(t.get("u")!.data), [7, 0, 255]);
  assert.deepEqual(Array.from(t.get("f")!.data), [0.25, -3]);
  assert.deepEqual(Array.from(t.get("i")!.data), [-123456]);
  assert.ok(t.get("f")!.data instanceof Float32Array && t.get("i")!.data instanceof Int32Array);
});

Deno.test("parseSafetensors() decodes F16 and BF16 from known bit patterns", () => {
  const f16: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504], // largest half
    [0x0400, 2 ** -14], // smallest normal
    [0x0001, 2 ** -24], // smallest subnormal
    [0x8000, -0],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x7e00, NaN],
  ];
  const bf16: [number, number][] = [
    [0x3f80, 1],
    [0x4049, 3.140625],
    [0xc2f7, -123.5],
    [0x0001, 2 ** -133], // smallest subnormal, exact in f32
    [0x7f80, Infinity],
    [0x7fc0, NaN],
  ];
  const data = new Uint8Array(2 * (f16.length + bf16.length));
  const v = new DataView(data.buffer);
  [...f16, ...bf16].forEach(([bits], i) => v.setUint16(2 * i, bits, true));
  const file = handMade({
    h: { dtype: "F16", shape: [f16.length], data_offsets: [0, 2 * f16.length] },
    b: { dtype: "BF16", shape: [bf16.length], data_offsets: [2 * f16.length, data.length] },
  }, data);
  const t = parseSafetensors(file, "mem").tensors;
  assert.ok(t.get("h")!.data instanceof Float32Array && t.get("b")!.data instanceof Float32Array);
  assert.deepEqual(Array.from(t.get("h")!.data), f16.map(([, x]) => x));
  assert.deepEqual(Array.from(t.get("b")!.data), bf16.map(([, x]) => x));
  assert.equal(t.get("h")!.dtype, "F16");
  assert.equal(halfToFloat(0x3c01), 1 + 2 ** -10);
});

Deno.test("parseSafetensors() converts F64 to float32 and the integer dtypes to int32", () => {
  const data = new Uint8Array(8 + 16 + 2 + 2 + 4 + 4);
  const v = new DataView(data.buffer);
  v.setFloat64(0, 0.1, true);
  v.setBigInt64(8, -5n, true);
  v.setBigInt64(16, 2147483647n, true);
  v.setInt8(24, -128);
  v.setUint8(25, 1); // BOOL
  v.setInt16(26, -300, true);
  v.setUint16(28, 65535, true);
  v.setUint16(30, 0, true);
  v.setUint32(32, 4000, true);
  const file = handMade({
    d: { dtype: "F64", shape: [1], data_offsets: [0, 8] },
    l: { dtype: "I64", shape: [2], data_offsets: [8, 24] },
    c: { dtype: "I8", shape: [1], data_offsets: [24, 25] },
    z: { dtype: "BOOL", shape: [1], data_offsets: [25, 26] },
    s: { dtype: "I16", shape: [1], data_offsets: [26, 28] },
    w: { dtype: "U16", shape: [2], data_offsets: [28, 32] },
    u: { dtype: "U32", shape: [1], data_offsets: [32, 36] },
  }, data);
  const t = parseSafetensors(file, "mem").tensors;
  assert.deepEqual(Array.from(t.get("d")!.data), [Math.fround(0.1)]);
  assert.ok(t.get("d")!.data instanceof Float32Array);
  const ints = Object.fromEntries(["l", "c", "z", "s", "w", "u"].map((k) => [k, Array.from(t.get(k)!.data)]));
  assert.deepEqual(ints, { l: [-5, 2147483647], c: [-128], z: [1], s: [-300], w: [65535, 0], u: [4000] });
  assert.ok(t.get("l")!.data instanceof Int32Array);
});

Deno.test("parseSafetensors() rejects integers that do not fit in int32, naming the tensor", () => {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigInt64(0, 2147483648n, true);
  assert.throws(
    () => parseSafetensors(handMade({ ids: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, data), "f.st"),
    /^Error: f\.st: tensor "ids": I64 value 2147483648 at index 0 does not fit in int32$/,
  );
  const u32 = new Uint8Array(4).fill(255);
  assert.throws(
    () => parseSafetensors(handMade({ big: { dtype: "U32", shape: [1], data_offsets: [0, 4] } }, u32), "f.st"),
    /f\.st: tensor "big": U32 value 4294967295/,
  );
});

Deno.test("parseSafetensors() rejects each kind of bad file with the source (and tensor) named", () => {
  const eight = new Uint8Array(8);
  const ok = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
  const rawHeader = (text: string) => {
    const json = new TextEncoder().encode(text);
    const out = new Uint8Array(8 + json.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
  const cases: [string, Uint8Array, RegExp][] = [
    ["too short", new Uint8Array(4), /^f\.st: not a safetensors file \(4 bytes/],
    ["truncated header", handMade({ x: ok }, eight).slice(0, 20), /^f\.st: header length \d+ is larger than the file \(20 bytes\)/],
    ["absurd header length", huge, /^f\.st: header length 9223372036854775808 is larger than the file/],
    ["invalid JSON", rawHeader("{no}"), /^f\.st: header is not valid UTF-8 JSON/],
    ["invalid UTF-8", Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe]), /^f\.st: header is not valid UTF-8 JSON/],
    ["JSON array", rawHeader("[1, 2]"), /^f\.st: header is not a JSON object/],
    [
      "unknown dtype",
      handMade({ x: { ...ok, dtype: "F8_E4M3" } }, eight),
      /^f\.st: tensor "x": unsupported dtype "F8_E4M3" \(expected one of F64, F32/,
    ],
    ["entry not an object", handMade({ x: 5 }, eight), /^f\.st: tensor "x": unsupported dtype undefined/],
    [
      "negative dim",
      handMade({ x: { ...ok, shape: [-2] } }, eight),
      /^f\.st: tensor "x": shape must be a list of integers ≥ 0, got \[-2\]/,
    ],
    ["bad offsets", handMade({ x: { ...ok, data_offsets: [8, 0] } }, eight), /^f\.st: tensor "x": data_offsets must be \[begin, end\]/],
    [
      "size mismatch",
      handMade({ x: { ...ok, shape: [3] } }, eight),
      /^f\.st: tensor "x": shape \[3\] of F32 needs 12 bytes, data_offsets \[0, 8\] give 8$/,
    ],
    [
      "past the end",
      handMade({ x: { ...ok, shape: [4], data_offsets: [0, 16] } }, eight),
      /^f\.st: tensor "x": data_offsets \[0, 16\] run past the end of the data \(8 bytes\)/,
    ],
    [
      "overlap",
      handMade({ x: ok, y: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, eight),
      /^f\.st: tensors "x" and "y" overlap/,
    ],
    [
      "gap",
      handMade({ x: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, y: { dtype: "U8", shape: [2], data_offsets: [6, 8] } }, eight),
      /^f\.st: bytes 4\.\.6 of the data belong to no tensor \(gap before tensor "y"\)/,
    ],
    [
      "trailing garbage",
      handMade({ x: ok }, new Uint8Array(11)),
      /^f\.st: 3 trailing bytes after the last tensor "x" \(the data has 11 bytes, tensors cover 8\)/,
    ],
    ["data but no tensors", handMade({}, eight), /^f\.st: 8 trailing bytes but the header lists no tensors/],
    [
      "metadata not strings",
      handMade({ __metadata__: { step: 3 }, x: ok }, eight),
      /^f\.st: "__metadata__"\."step" must be a string, got 3/,
    ],
  ];
  for (const [what, bytes, pattern] of cases) {
    assert.throws(() => parseSafetensors(bytes, "f.st"), (err: Error) => pattern.test(err.message), `${what}: expected ${pattern}`);
  }
  // And a well-formed file with no tensors at all is fine.
  assert.equal(parseSafetensors(handMade({}, new Uint8Array(0)), "f.st").tensors.size, 0);
});

Deno.test("serializeSafetensors() rejects tensors it cannot write, naming them", () => {
  const f32 = (shape: number[], n: number): TensorToWrite => ({ dtype: "F32", shape, data: new Float32Array(n) });
  assert.throws(() => serializeSafetensors({ w: f32([2, 2], 3) }), /tensor "w": has 3 values, shape \[2,2\] needs 4/);
  assert.throws(
    () => serializeSafetensors({ w: { dtype: "I32", shape: [1], data: new Float32Array(1) } }),
    /tensor "w": dtype I32 does not match its Float32Array/,
  );
  assert.throws(() => serializeSafetensors({ __metadata__: f32([1], 1) }), /tensor "__metadata__": the name is reserved/);
  assert.throws(() => serializeSafetensors({ w: f32([1.5], 1) }), /tensor "w": shape must be integers/);
});

Deno.test("serializeSafetensors() → readSafetensorsFile() round trip on disk; a missing file is named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/x.safetensors`;
    await Deno.writeFile(path, serializeSafetensors(TENSORS, { format: "pt" }));
    const back = await readSafetensorsFile(path);
    assert.deepEqual(Array.from(back.tensors.get("odd")!.data), Array.from(TENSORS.get("odd")!.data));
    await assert.rejects(() => readSafetensorsFile(`${dir}/nope.safetensors`), /nope\.safetensors: file not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readSafetensorsHeader() refuses a header longer than 100 MB before reading it; readSafetensorsTensors() reads only the tensors asked for", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/x.safetensors`;
    // A 150 MB "header" (a hole in a sparse file): refused from its length alone, not read and parsed.
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, 150_000_000n, true);
    await Deno.writeFile(path, length);
    await Deno.truncate(path, 8 + 150_000_000);
    const start = performance.now();
    await assert.rejects(
      () => readSafetensorsHeader(path),
      (e: Error) => e.message === `${path}: header length 150000000 is more than the 100000000 bytes accepted; not safetensors`,
    );
    assert.ok(performance.now() - start < 1000, "refused from the length alone");
    await Deno.writeFile(path, serializeSafetensors(TENSORS));
    const header = await readSafetensorsHeader(path);
    assert.deepEqual([...header.tensors.keys()].sort(), [...TENSORS.keys()].sort());
    assert.deepEqual(header.tensors.get("b.weight")!.shape, [2, 3]);
    const some = await readSafetensorsTensors(header, ["odd", "a.ids"]);
    assert.deepEqual([...some.keys()], ["odd", "a.ids"]);
    assert.deepEqual(Array.from(some.get("a.ids")!.data), Array.from(TENSORS.get("a.ids")!.data));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The safetensors format, read and written by hand (it is small):
 *
 *   8 bytes   little-endian u64 N, the header length
 *   N bytes   UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { str: str } }
 *   …         the tensors' bytes, little-endian, offsets relative to here
 *
 * Floats of any stored width are read as Float32Array; integers as Int32Array.
 */
import { writeFileAtomic } from "./atomic.ts";

export type StoredDtype = "F32" | "F16" | "BF16" | "F64" | "I32" | "I64";
export type TensorData = Float32Array | Int32Array;

/** A tensor as read from or written to a file. */
export interface StoredTensor {
  readonly dtype: StoredDtype;
  readonly shape: number[];
  readonly data: TensorData;
}

export interface SafetensorsFile {
  readonly tensors: Map<string, StoredTensor>;
  readonly metadata: Record<string, string>;
}

const BYTES: Record<StoredDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8 };

/** Parses safetensors bytes; `source` (a path) names the file in errors. */
export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  if (bytes.length < 8) throw new Error(`${source}: not a safetensors file (${bytes.length} bytes, no header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) {
    throw new Error(`${source}: header length ${headerLength} is larger than the file (${bytes.length} bytes); truncated or not safetensors`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (err) {
    throw new Error(`${source}: header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new Error(`${source}: header is not a JSON object`);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, StoredTensor>();
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: string; shape?: unknown; data_offsets?: unknown };
    const where = `${source}: tensor "${name}"`;
    if (!dtype || !(dtype in BYTES)) throw new Error(`${where}: unsupported dtype ${JSON.stringify(dtype)} (expected one of ${Object.keys(BYTES).join(", ")})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${where}: shape must be a list of integers ≥ 0, got ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new Error(`${where}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) throw new Error(`${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes)`);
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    const expectedBytes = count * BYTES[dtype as StoredDtype];
    if (end - begin !== expectedBytes) {
      throw new Error(`${where}: shape [${shape}] of ${dtype} needs ${expectedBytes} bytes, data_offsets give ${end - begin}`);
    }
    ranges.push([begin, end, name]);
    tensors.set(name, { dtype: dtype as StoredDtype, shape: [...shape], data: decode(bytes.subarray(dataStart + begin, dataStart + end), dtype as StoredDtype, count, where) });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) throw new Error(`${source}: tensors "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap`);
  }
  return { tensors, metadata };
}

function decode(raw: Uint8Array, dtype: StoredDtype, count: number, where: string): TensorData {
  // Copy into an aligned buffer: tensors may start at any byte offset.
  const view = new DataView(raw.slice().buffer);
  switch (dtype) {
    case "F32": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case "F64": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case "BF16": {
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16; // bf16 is the top half of an f32
      return out;
    }
    case "I32": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case "I64": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) throw new Error(`${where}: I64 value ${v} at index ${i} does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    }
  }
}

/** IEEE half → float. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Serialises F32/I32 tensors (sorted by name, contiguous) with optional string metadata. */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, { dtype: "F32" | "I32"; shape: readonly number[]; data: TensorData }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) throw new Error(`serializeSafetensors: tensor "${name}" has ${t.data.length} values, shape [${t.shape}] needs ${count}`);
    if ((t.dtype === "F32") !== (t.data instanceof Float32Array)) throw new Error(`serializeSafetensors: tensor "${name}": dtype ${t.dtype} does not match its ${t.data.constructor.name}`);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8; // pad with spaces so the data starts 8-aligned
  if (padded !== json.length) json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(padded - json.length));
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    for (let i = 0; i < t.data.length; i++, at += 4) {
      if (t.dtype === "F32") view.setFloat32(at, t.data[i], true);
      else view.setInt32(at, t.data[i], true);
    }
  }
  return out;
}

/** Reads and parses a .safetensors file. */
export async function readSafetensorsFile(path: string): Promise<SafetensorsFile> {
  return parseSafetensors(await Deno.readFile(path), path);
}

/** Writes a .safetensors file atomically. */
export async function writeSafetensorsFile(
  path: string,
  tensors: ReadonlyMap<string, { dtype: "F32" | "I32"; shape: readonly number[]; data: TensorData }>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

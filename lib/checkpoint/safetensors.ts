/**
 * The safetensors format, read and written by hand (it is small):
 *
 *   8 bytes   little-endian u64 N, the header length
 *   N bytes   UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { str: str } }
 *   …         the tensors' bytes, little-endian, offsets relative to here
 *
 * Floats of any stored width are read as Float32Array; integers as Int32Array
 * (an error if a value does not fit). Parsing is as strict as the reference
 * Rust implementation: the tensors must tile the data exactly (no overlap,
 * gap or trailing bytes), so a truncated or corrupted file fails loudly.
 */
import { type OpenFile, platform } from "../platform/platform.ts";

/** Float dtypes (read as Float32Array) and integer dtypes (read as Int32Array). */
export type StoredDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "U64" | "I32" | "U32" | "I16" | "U16" | "I8" | "U8" | "BOOL";
export type TensorData = Float32Array | Int32Array;

/** A tensor as read from a file: `dtype` is the stored one, `data` already converted. */
export interface StoredTensor {
  readonly dtype: StoredDtype;
  readonly shape: number[];
  readonly data: TensorData;
}

/** A tensor to write: float32 or int32, row-major. */
export interface TensorToWrite {
  readonly dtype: "F32" | "I32";
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** Tensors to write, by name: a Map or a plain record. */
export type TensorsToWrite = ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>;

export interface SafetensorsFile {
  readonly tensors: Map<string, StoredTensor>;
  readonly metadata: Record<string, string>;
}

export const STORED_DTYPE_BYTES: Record<StoredDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
const FLOAT_DTYPES = new Set<StoredDtype>(["F64", "F32", "F16", "BF16"]);

/** Whether a stored dtype is read as Float32Array (the float ones) rather than Int32Array. */
export function isFloatDtype(dtype: StoredDtype): boolean {
  return FLOAT_DTYPES.has(dtype);
}
/** Whether this machine stores typed arrays little-endian (all common ones do): then F32/I32 are one memcpy. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const METADATA_KEY = "__metadata__";

/** Where one tensor's bytes are, as a safetensors header declares them (offsets relative to the data's start). */
export interface TensorLayout {
  readonly dtype: StoredDtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/** A safetensors file's header, checked against the file's size before any tensor data is read. */
export interface SafetensorsHeader {
  readonly path: string;
  /** Byte offset of the tensors' data in the file. */
  readonly dataStart: number;
  readonly tensors: Map<string, TensorLayout>;
  readonly metadata: Record<string, string>;
}

/** The reference implementation's limit on the header: a longer one is refused before it is read. */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Parses safetensors bytes; `source` (a path) names the file in errors.
 *
 * @example
 * ```ts
 * import { parseSafetensors } from "rlhf";
 * const path = "models/gpt2-poetry-zh/model.safetensors";
 * const { tensors } = parseSafetensors(await Deno.readFile(path), path);
 * tensors.get("transformer.wte.weight")!.shape; // [5676, 128]: the token embeddings, named as HF writes them
 * ```
 */
export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  const dataStart = 8 + headerLengthOf(bytes, bytes.length, source);
  const { tensors: layouts, metadata } = layoutOf(bytes.subarray(8, dataStart), bytes.length - dataStart, source);
  const tensors = new Map<string, StoredTensor>();
  for (const [name, { dtype, shape, begin, end }] of layouts) {
    const data = decodeStored(bytes.subarray(dataStart + begin, dataStart + end), dtype, `${source}: tensor "${name}"`);
    tensors.set(name, { dtype, shape: [...shape], data });
  }
  return { tensors, metadata };
}

/** The header length that the file's first 8 bytes declare, checked against the file's length and the limit. */
function headerLengthOf(first8: Uint8Array, fileLength: number, source: string): number {
  if (fileLength < 8) {
    throw new Error(`${source}: not a safetensors file (${fileLength} bytes, too short for the 8-byte header length)`);
  }
  const headerLength = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (8n + headerLength > BigInt(fileLength)) {
    throw new Error(
      `${source}: header length ${headerLength} is larger than the file (${fileLength} bytes); truncated or not safetensors`,
    );
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new Error(`${source}: header length ${headerLength} is more than the ${MAX_HEADER_BYTES} bytes accepted; not safetensors`);
  }
  return Number(headerLength);
}

/**
 * Every tensor's dtype, shape and place from the header bytes, checked against the data's length (`dataLength`
 * bytes follow the header): this is where a file that declares more than it holds is refused, before any data
 * is read.
 */
function layoutOf(raw: Uint8Array, dataLength: number, source: string): Omit<SafetensorsHeader, "path" | "dataStart"> {
  const header = parseHeader(raw, source);
  const metadata = readMetadata(header[METADATA_KEY], source);
  const tensors = new Map<string, TensorLayout>();
  for (const [name, entry] of Object.entries(header)) {
    if (name !== METADATA_KEY) tensors.set(name, tensorLayout(name, entry, dataLength, source));
  }
  checkTiling([...tensors].map(([name, { begin, end }]) => ({ name, begin, end })), dataLength, source);
  return { tensors, metadata };
}

function tensorLayout(name: string, entry: unknown, dataLength: number, source: string): TensorLayout {
  const where = `${source}: tensor "${name}"`;
  const { dtype, shape, data_offsets: offsets } = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
  if (typeof dtype !== "string" || !(dtype in STORED_DTYPE_BYTES)) {
    throw new Error(
      `${where}: unsupported dtype ${JSON.stringify(dtype)} (expected one of ${Object.keys(STORED_DTYPE_BYTES).join(", ")})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`${where}: shape must be a list of integers ≥ 0, got ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
  ) {
    throw new Error(`${where}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) throw new Error(`${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes)`);
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const expectedBytes = count * STORED_DTYPE_BYTES[dtype as StoredDtype];
  if (end - begin !== expectedBytes) {
    throw new Error(
      `${where}: shape [${shape}] of ${dtype} needs ${expectedBytes} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`,
    );
  }
  return { dtype: dtype as StoredDtype, shape: [...shape], begin, end };
}

function parseHeader(raw: Uint8Array, source: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (err) {
    throw new Error(`${source}: header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new Error(`${source}: header is not a JSON object`);
  return header as Record<string, unknown>;
}

function readMetadata(value: unknown, source: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new Error(`${source}: "${METADATA_KEY}" must be an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") throw new Error(`${source}: "${METADATA_KEY}"."${key}" must be a string, got ${JSON.stringify(v)}`);
  }
  return { ...(value as Record<string, string>) };
}

/** The tensors must cover the data exactly once, in some order: no overlap, no hole, nothing after the last. */
function checkTiling(ranges: { begin: number; end: number; name: string }[], dataLength: number, source: string): void {
  const sorted = [...ranges].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let last = "";
  for (const r of sorted) {
    if (r.begin < covered) {
      throw new Error(`${source}: tensors "${last}" and "${r.name}" overlap (bytes ${r.begin}..${covered} of the data)`);
    }
    if (r.begin > covered) {
      throw new Error(`${source}: bytes ${covered}..${r.begin} of the data belong to no tensor (gap before tensor "${r.name}")`);
    }
    covered = r.end;
    last = r.name;
  }
  if (covered !== dataLength) {
    const after = last ? `after the last tensor "${last}"` : "but the header lists no tensors";
    throw new Error(
      `${source}: ${dataLength - covered} trailing bytes ${after} (the data has ${dataLength} bytes, tensors cover ${covered})`,
    );
  }
}

/** Converts one tensor's bytes; the result is a fresh, aligned array (a tensor may start at any byte offset). */
export function decodeStored(raw: Uint8Array, dtype: StoredDtype, where: string): TensorData {
  const count = raw.length / STORED_DTYPE_BYTES[dtype];
  if (HOST_LITTLE_ENDIAN && dtype === "F32") return new Float32Array(raw.slice().buffer);
  if (HOST_LITTLE_ENDIAN && dtype === "I32") return new Int32Array(raw.slice().buffer);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (FLOAT_DTYPES.has(dtype)) {
    const out = new Float32Array(count);
    if (dtype === "BF16") {
      const bits = new Uint32Array(out.buffer); // bf16 is the top half of an f32
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
    } else {
      const get = dtype === "F64"
        ? (i: number) => view.getFloat64(8 * i, true)
        : dtype === "F32"
        ? (i: number) => view.getFloat32(4 * i, true)
        : (i: number) => halfTable()[view.getUint16(2 * i, true)];
      for (let i = 0; i < count; i++) out[i] = get(i);
    }
    return out;
  }
  const get = intReader(view, dtype);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const v = get(i);
    if (v > 2147483647n || v < -2147483648n) throw new Error(`${where}: ${dtype} value ${v} at index ${i} does not fit in int32`);
    if (dtype === "BOOL" && v > 1n) throw new Error(`${where}: BOOL byte ${v} at index ${i} is neither 0 nor 1`);
    out[i] = Number(v);
  }
  return out;
}

function intReader(view: DataView, dtype: StoredDtype): (i: number) => bigint {
  switch (dtype) {
    case "I64":
      return (i) => view.getBigInt64(8 * i, true);
    case "U64":
      return (i) => view.getBigUint64(8 * i, true);
    case "I32":
      return (i) => BigInt(view.getInt32(4 * i, true));
    case "U32":
      return (i) => BigInt(view.getUint32(4 * i, true));
    case "I16":
      return (i) => BigInt(view.getInt16(2 * i, true));
    case "U16":
      return (i) => BigInt(view.getUint16(2 * i, true));
    case "I8":
      return (i) => BigInt(view.getInt8(i));
    default: // U8, BOOL
      return (i) => BigInt(view.getUint8(i));
  }
}

let halfValues: Float32Array | undefined;
/** All 65536 half values, built once (256 KB): a lookup per element instead of arithmetic. */
function halfTable(): Float32Array {
  halfValues ??= Float32Array.from({ length: 65536 }, (_, h) => halfToFloat(h));
  return halfValues;
}

/** IEEE 754 half (binary16) bits → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024); // zero and subnormals
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * Serialises F32/I32 tensors with optional string metadata: tensors sorted by
 * name and contiguous, the header padded with spaces so the data starts at a
 * multiple of 8 bytes (as the reference writer does).
 *
 * @example
 * ```ts
 * import { parseSafetensors, serializeSafetensors } from "rlhf";
 * const bytes = serializeSafetensors({ w: { dtype: "F32", shape: [2], data: Float32Array.of(1, 2) } }, { format: "pt" });
 * parseSafetensors(bytes, "w.safetensors").tensors.get("w")!.data; // Float32Array [1, 2]
 * ```
 */
export function serializeSafetensors(tensors: TensorsToWrite, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const entries: [string, TensorToWrite][] = tensors instanceof Map
    ? [...tensors]
    : Object.entries(tensors as Record<string, TensorToWrite>);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") {
      throw new Error(`serializeSafetensors: metadata "${key}" must be a string, got ${JSON.stringify(value)}`);
    }
  }
  if (Object.keys(metadata).length) header[METADATA_KEY] = { ...metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    const where = `serializeSafetensors: tensor "${name}"`;
    if (name === METADATA_KEY) throw new Error(`${where}: the name is reserved for metadata`);
    if (t.dtype !== "F32" && t.dtype !== "I32") {
      throw new Error(`${where}: dtype ${JSON.stringify(t.dtype)} cannot be written (expected F32 or I32)`);
    }
    if ((t.dtype === "F32" && !(t.data instanceof Float32Array)) || (t.dtype === "I32" && !(t.data instanceof Int32Array))) {
      throw new Error(`${where}: dtype ${t.dtype} does not match its ${t.data.constructor.name}`);
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${where}: shape must be integers ≥ 0, got [${t.shape}]`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) throw new Error(`${where}: has ${t.data.length} values, shape [${t.shape}] needs ${count}`);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  const text = JSON.stringify(header);
  const unpadded = new TextEncoder().encode(text).length;
  const json = new TextEncoder().encode(text + " ".repeat(Math.ceil(unpadded / 8) * 8 - unpadded));
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of entries) {
    if (HOST_LITTLE_ENDIAN) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
      at += t.data.byteLength;
    } else {
      for (let i = 0; i < t.data.length; i++, at += 4) {
        if (t.dtype === "F32") view.setFloat32(at, t.data[i], true);
        else view.setInt32(at, t.data[i], true);
      }
    }
  }
  return out;
}

/**
 * Reads only the header of a .safetensors file and checks it against the file's size: a caller can refuse
 * misfit shapes before any tensor data is read. Errors name `path`.
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const file = await openForReading(path);
  try {
    const fileLength = (await file.stat()).size;
    const first8 = await readAt(file, 0, Math.min(8, fileLength), path);
    const dataStart = 8 + headerLengthOf(first8, fileLength, path);
    const raw = await readAt(file, 8, dataStart - 8, path);
    return { path, dataStart, ...layoutOf(raw, fileLength - dataStart, path) };
  } finally {
    file.close();
  }
}

/** Reads and converts the named tensors of a file whose header was read by readSafetensorsHeader(); nothing else is read. */
export async function readSafetensorsTensors(header: SafetensorsHeader, names: Iterable<string>): Promise<Map<string, StoredTensor>> {
  const file = await openForReading(header.path);
  try {
    const tensors = new Map<string, StoredTensor>();
    for (const name of names) {
      const layout = header.tensors.get(name);
      if (!layout) throw new Error(`${header.path}: no tensor "${name}"`);
      const raw = await readAt(file, header.dataStart + layout.begin, layout.end - layout.begin, header.path);
      tensors.set(name, {
        dtype: layout.dtype,
        shape: [...layout.shape],
        data: decodeStored(raw, layout.dtype, `${header.path}: tensor "${name}"`),
      });
    }
    return tensors;
  } finally {
    file.close();
  }
}

/** Reads and parses a .safetensors file (the header first, checked against the file's size); errors name `path`. */
export async function readSafetensorsFile(path: string): Promise<SafetensorsFile> {
  const header = await readSafetensorsHeader(path);
  return { tensors: await readSafetensorsTensors(header, header.tensors.keys()), metadata: header.metadata };
}

async function openForReading(path: string): Promise<OpenFile> {
  try {
    return await platform().open(path, { read: true });
  } catch (err) {
    if (platform().isNotFound(err)) throw new Error(`${path}: file not found`);
    throw err;
  }
}

/** Exactly `length` bytes from `position` of `file`; an error naming `path` if the file ends first (it changed under us). */
async function readAt(file: OpenFile, position: number, length: number, path: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await file.seekTo(position);
  for (let filled = 0; filled < length;) {
    const n = await file.read(out.subarray(filled));
    if (n === null) {
      throw new Error(`${path}: the file ends at byte ${position + filled}, before the ${length} bytes its header declares there`);
    }
    filled += n;
  }
  return out;
}

/**
 * Reads `pytorch_model.bin` — PyTorch's `torch.save` of a state dict — without
 * running code from the file. Such a file is a Python pickle, and a pickle is
 * a small program: loading one naively (Python's `pickle.load`) calls whatever
 * functions it names, so a malicious file runs code. This reader interprets
 * only the opcodes a state dict needs and knows only the globals it needs
 * (an ordered dict, `torch._utils._rebuild_tensor_v2`, the storage types of
 * float32 / float16 / bfloat16 / float64 / int64 / int32); any other global
 * is refused with its name, before anything is called.
 *
 * Two layouts: the zip format of PyTorch ≥ 1.6 (`<name>/data.pkl` and one
 * file `<name>/data/<key>` per storage) and the legacy format (a sequence of
 * pickles followed by the raw storages).
 */
import { unzipSync } from "fflate";
import { decodeStored, STORED_DTYPE_BYTES, type StoredDtype, type StoredTensor } from "./safetensors.ts";

/** Storage types and the dtype of their elements. */
const STORAGES: Readonly<Record<string, StoredDtype>> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
};

/** A storage named by a persistent id: its dtype, its key (file name or legacy key) and element count. */
interface StorageRef {
  readonly kind: "storage";
  readonly dtype: StoredDtype;
  readonly key: string;
  readonly numel: number;
}

/** A tensor as the pickle describes it: a strided view into a storage. */
interface TensorRef {
  readonly kind: "tensor";
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: number[];
  readonly stride: number[];
}

/** The objects the restricted unpickler builds. */
type Value = null | boolean | number | bigint | string | Value[] | { tuple: Value[] } | Map<Value, Value> | StorageRef | TensorRef | Global;
interface Global {
  readonly kind: "global";
  readonly name: string;
}

const ALLOWED_GLOBALS = new Set([
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
  ...Object.keys(STORAGES).map((s) => `torch.${s}`),
]);

const isTuple = (v: Value): v is { tuple: Value[] } => typeof v === "object" && v !== null && "tuple" in v;
const isGlobal = (v: Value, name?: string): v is Global =>
  typeof v === "object" && v !== null && (v as Global).kind === "global" && (name === undefined || (v as Global).name === name);

/**
 * Interprets one pickle. `persistentLoad` turns a persistent id (PyTorch's
 * storage descriptors) into a storage. Returns the unpickled value and where it ended.
 */
export function restrictedUnpickle(
  bytes: Uint8Array,
  source: string,
  persistentLoad: (pid: Value) => Value,
  start = 0,
): { value: Value; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Value[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Value>();
  let at = start;
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what} (at byte ${at})`);
  };
  const need = (n: number) => {
    if (at + n > bytes.length) fail("the pickle ends early");
  };
  const u8 = () => (need(1), bytes[at++]);
  const u32 = () => (need(4), at += 4, view.getUint32(at - 4, true));
  const text = (n: number) => (need(n), at += n, new TextDecoder().decode(bytes.subarray(at - n, at)));
  const line = () => {
    const end = bytes.indexOf(10, at);
    if (end < 0) fail("a GLOBAL without its newline");
    const s = new TextDecoder().decode(bytes.subarray(at, end));
    at = end + 1;
    return s;
  };
  const pop = () => (stack.length ? stack.pop()! : fail("the stack is empty"));
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) fail("no MARK");
    return stack.splice(m!);
  };
  const call = (fn: Value, args: Value): Value => {
    if (!isGlobal(fn) || !isTuple(args)) return fail("REDUCE of something that is not a known global");
    const a = args.tuple;
    switch (fn.name) {
      case "collections.OrderedDict":
        return new Map();
      case "torch._utils._rebuild_tensor_v2": {
        const [storage, offset, size, stride] = a;
        if (!(typeof storage === "object" && storage !== null && (storage as StorageRef).kind === "storage")) {
          fail("_rebuild_tensor_v2 without a storage");
        }
        if (!isTuple(size) || !isTuple(stride)) fail("_rebuild_tensor_v2 with a size or stride that is not a tuple");
        return {
          kind: "tensor",
          storage: storage as StorageRef,
          offset: Number(offset),
          shape: (size as { tuple: Value[] }).tuple.map(Number),
          stride: (stride as { tuple: Value[] }).tuple.map(Number),
        };
      }
      case "torch._utils._rebuild_parameter":
        return a[0];
      default:
        return fail(`${fn.name} cannot be called`);
    }
  };
  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        need(8);
        at += 8;
        break;
      case 0x2e: // STOP
        return { value: pop(), end: at };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push({ tuple: [] });
        break;
      case 0x74: // TUPLE
        stack.push({ tuple: popMark() });
        break;
      case 0x85: // TUPLE1
        stack.push({ tuple: [pop()] });
        break;
      case 0x86: { // TUPLE2
        const b = pop(), a = pop();
        stack.push({ tuple: [a, b] });
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop(), b = pop(), a = pop();
        stack.push({ tuple: [a, b, c] });
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        need(2);
        stack.push(view.getUint16(at, true));
        at += 2;
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(at, true));
        at += 4;
        break;
      case 0x8a: { // LONG1
        const n = u8();
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
        if (n > 0 && bytes[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        at += n;
        stack.push(Number.isSafeInteger(Number(v)) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(at, false));
        at += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(text(u8()));
        break;
      case 0x54: // BINSTRING
        stack.push(text(u32()));
        break;
      case 0x63: { // GLOBAL
        const name = `${line()}.${line()}`;
        if (!ALLOWED_GLOBALS.has(name)) {
          fail(
            `refuses the global ${name}: only a state dict's ${
              [...ALLOWED_GLOBALS].join(", ")
            } are allowed (loading this file in Python would run it)`,
          );
        }
        stack.push({ kind: "global", name });
        break;
      }
      case 0x93: // STACK_GLOBAL
        fail("refuses STACK_GLOBAL (a global named at run time)");
        break;
      case 0x71: // BINPUT
        memo.set(u8(), stack.at(-1) ?? fail("BINPUT on an empty stack"));
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), stack.at(-1) ?? fail("LONG_BINPUT on an empty stack"));
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, stack.at(-1) ?? fail("MEMOIZE on an empty stack"));
        break;
      case 0x68: { // BINGET
        const k = u8();
        stack.push(memo.has(k) ? memo.get(k)! : fail(`BINGET of unknown memo ${k}`));
        break;
      }
      case 0x6a: { // LONG_BINGET
        const k = u32();
        stack.push(memo.has(k) ? memo.get(k)! : fail(`LONG_BINGET of unknown memo ${k}`));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      case 0x52: { // REDUCE
        const args = pop(), fn = pop();
        stack.push(call(fn, args));
        break;
      }
      case 0x62: // BUILD: the state of an object (OrderedDict's _metadata, a Parameter's hooks): kept out
        pop();
        break;
      case 0x73: { // SETITEM
        const v = pop(), k = pop(), d = stack.at(-1);
        if (!(d instanceof Map)) fail("SETITEM on something that is not a dict");
        (d as Map<Value, Value>).set(k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = stack.at(-1);
        if (!(d instanceof Map)) fail("SETITEMS on something that is not a dict");
        for (let i = 0; i + 1 < items.length; i += 2) (d as Map<Value, Value>).set(items[i], items[i + 1]);
        break;
      }
      case 0x61: { // APPEND
        const v = pop(), l = stack.at(-1);
        if (!Array.isArray(l)) fail("APPEND on something that is not a list");
        (l as Value[]).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark(), l = stack.at(-1);
        if (!Array.isArray(l)) fail("APPENDS on something that is not a list");
        (l as Value[]).push(...items);
        break;
      }
      default:
        fail(`refuses pickle opcode 0x${op.toString(16)} (not needed by a state dict)`);
    }
  }
}

/** A persistent id ('storage', <storage type>, key, location, numel[, view metadata]) as a storage reference. */
function storageOf(pid: Value, source: string): StorageRef {
  const t = isTuple(pid) ? pid.tuple : [];
  const [tag, type, key, , numel] = t;
  if (tag !== "storage" || !isGlobal(type) || (typeof key !== "string" && typeof key !== "number")) {
    throw new Error(`${source}: a persistent id that is not a PyTorch storage`);
  }
  const dtype = STORAGES[type.name.replace(/^torch\./, "")];
  if (!dtype) throw new Error(`${source}: storage type ${type.name} is not supported`);
  return { kind: "storage", dtype, key: String(key), numel: Number(numel) };
}

/** A strided view copied out as a contiguous row-major tensor. */
function materialise(t: TensorRef, storage: Uint8Array, where: string): StoredTensor {
  const size = STORED_DTYPE_BYTES[t.storage.dtype];
  if (storage.length < t.storage.numel * size) {
    throw new Error(`${where}: storage ${t.storage.key} has ${storage.length} bytes, fewer than ${t.storage.numel} elements`);
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  // A row-major view (what a state dict almost always holds) is one slice of its storage; any other is gathered element by element.
  const rowMajor = t.stride.every((st, d) => t.shape[d] === 1 || st === t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
  if (rowMajor) {
    if (t.offset < 0 || t.offset + count > t.storage.numel) throw new Error(`${where}: a view reaches outside its storage`);
    const bytes = storage.subarray(t.offset * size, (t.offset + count) * size);
    return { dtype: t.storage.dtype, shape: t.shape, data: decodeStored(bytes, t.storage.dtype, where) };
  }
  const out = new Uint8Array(count * size);
  const index = new Array(t.shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let element = t.offset;
    for (let d = 0; d < index.length; d++) element += index[d] * t.stride[d];
    if (element < 0 || element >= t.storage.numel) throw new Error(`${where}: a view reaches outside its storage`);
    out.set(storage.subarray(element * size, (element + 1) * size), i * size);
    for (let d = index.length - 1; d >= 0; d--) {
      if (++index[d] < t.shape[d]) break;
      index[d] = 0;
    }
  }
  return { dtype: t.storage.dtype, shape: t.shape, data: decodeStored(out, t.storage.dtype, where) };
}

/** The tensors of a state dict pickle, by name. */
function stateDictTensors(root: Value, storageBytes: (ref: StorageRef) => Uint8Array, source: string): Map<string, StoredTensor> {
  if (!(root instanceof Map)) throw new Error(`${source}: the pickle holds no state dict (a dict of tensors)`);
  const tensors = new Map<string, StoredTensor>();
  for (const [name, value] of root) {
    if (typeof name !== "string") throw new Error(`${source}: a state-dict key that is not a string`);
    if (!(typeof value === "object" && value !== null && (value as TensorRef).kind === "tensor")) continue; // e.g. a version number
    const t = value as TensorRef;
    tensors.set(name, materialise(t, storageBytes(t.storage), `${source}: tensor "${name}"`));
  }
  return tensors;
}

/** Reads a `torch.save`d state dict (zip or legacy format) into tensors by name; never runs code from the file. */
export function readTorchStateDict(bytes: Uint8Array, source: string): Map<string, StoredTensor> {
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  return isZip ? readZip(bytes, source) : readLegacy(bytes, source);
}

function readZip(bytes: Uint8Array, source: string): Map<string, StoredTensor> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (err) {
    throw new Error(`${source}: not a readable zip archive (${(err as Error).message})`);
  }
  const pkl = Object.keys(files).find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) throw new Error(`${source}: no <name>/data.pkl in the archive (not a torch.save file)`);
  const prefix = pkl.slice(0, -"data.pkl".length);
  const byteorder = files[`${prefix}byteorder`];
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== "little") {
    throw new Error(`${source}: big-endian storages are not supported`);
  }
  const { value } = restrictedUnpickle(files[pkl], `${source}:${pkl}`, (pid) => storageOf(pid, source));
  return stateDictTensors(value, (ref) => {
    const data = files[`${prefix}data/${ref.key}`];
    if (!data) throw new Error(`${source}: storage file ${prefix}data/${ref.key} is missing`);
    return data;
  }, source);
}

function readLegacy(bytes: Uint8Array, source: string): Map<string, StoredTensor> {
  const noPid = () => {
    throw new Error(`${source}: a persistent id outside the state dict`);
  };
  let at = 0;
  const next = (load: (pid: Value) => Value = noPid) => {
    const r = restrictedUnpickle(bytes, source, load, at);
    at = r.end;
    return r.value;
  };
  const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn; // what torch.save writes first in its legacy format
  let magic: Value;
  try {
    magic = next();
  } catch (err) {
    if ((err as Error).message.includes("refuses the global")) throw err; // a pickle that names code to run: say so
    throw new Error(`${source}: neither a zip archive nor PyTorch's legacy format`);
  }
  if (magic !== LEGACY_MAGIC) throw new Error(`${source}: neither a zip archive nor PyTorch's legacy format (wrong magic number)`);
  next(); // protocol version
  next(); // sys info
  const refs = new Map<string, StorageRef>();
  const root = next((pid) => {
    const ref = storageOf(pid, source);
    refs.set(ref.key, refs.get(ref.key) ?? ref);
    return refs.get(ref.key)!;
  });
  const keys = next();
  if (!Array.isArray(keys)) throw new Error(`${source}: the list of storage keys is missing`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Map<string, Uint8Array>();
  for (const key of keys.map(String)) {
    const ref = refs.get(key);
    if (!ref) throw new Error(`${source}: storage ${key} is listed but not used`);
    if (at + 8 > bytes.length) throw new Error(`${source}: the file ends before storage ${key}`);
    const numel = Number(view.getBigInt64(at, true));
    at += 8;
    const length = numel * STORED_DTYPE_BYTES[ref.dtype];
    if (at + length > bytes.length) throw new Error(`${source}: the file ends inside storage ${key}`);
    data.set(key, bytes.subarray(at, at + length));
    at += length;
  }
  return stateDictTensors(root, (ref) =>
    data.get(ref.key) ?? (() => {
      throw new Error(`${source}: storage ${ref.key} has no data`);
    })(), source);
}

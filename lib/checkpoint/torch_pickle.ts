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
 *
 * Sizes are checked before they cost memory: the pickle's size and object
 * count, each view against its storage (no view with more elements than its
 * storage holds), each zip entry's declared size against its storage, and the
 * total of the storages asked for against a limit; only the entries asked for
 * are inflated, and an entry that inflates past its declared size is stopped.
 */
import { Inflate } from "fflate";
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

/**
 * Opcodes that build an object (a dict, list, tuple, mark, storage or call result): a state dict's pickle uses
 * about 10 a tensor. One byte each, so a few kB of zip can hold millions (4 MiB of EMPTY_DICT took 860 MB);
 * more than MAX_PICKLE_OBJECTS (~25,000 tensors, ~50 MB at worst) is refused.
 */
const BUILDS_OBJECT = new Set([0x7d, 0x5d, 0x29, 0x74, 0x85, 0x86, 0x87, 0x28, 0x51, 0x52]);
const MAX_PICKLE_OBJECTS = 250_000;

const isTuple = (v: Value): v is { tuple: Value[] } => typeof v === "object" && v !== null && "tuple" in v;
const isGlobal = (v: Value, name?: string): v is Global =>
  typeof v === "object" && v !== null && (v as Global).kind === "global" && (name === undefined || (v as Global).name === name);

/**
 * Interprets one pickle. `persistentLoad` turns a persistent id (PyTorch's
 * storage descriptors) into a storage. Returns the unpickled value and where it ended.
 */
function restrictedUnpickle(
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
  let built = 0;
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
    if (BUILDS_OBJECT.has(op) && ++built > MAX_PICKLE_OBJECTS) {
      fail(`builds more than ${MAX_PICKLE_OBJECTS} objects; a state dict needs about 10 a tensor`);
    }
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

/** A tensor's dtype and shape as the pickle declares them. */
export interface DeclaredTensor {
  readonly dtype: StoredDtype;
  readonly shape: readonly number[];
}

/** How many bytes of storage one read() may inflate and copy, and why that many (for the error). */
export interface StorageLimit {
  readonly bytes: number;
  readonly why: string;
}

/**
 * A state dict as its pickle declares it: every tensor's dtype and shape, checked against its storage's element
 * count, and nothing inflated or copied yet. A caller that knows the shapes it expects checks them here first.
 */
export interface TorchStateDict {
  readonly declared: ReadonlyMap<string, DeclaredTensor>;
  /** Copies out the named tensors, inflating only their storages, which together may not pass `limit`. */
  read(names: Iterable<string>, limit?: StorageLimit): Map<string, StoredTensor>;
}

/** When no expected size is known: a billion float32 weights (GPT-2 large's file is 3.1 GB). */
const HARD_LIMIT: StorageLimit = { bytes: 4 * 2 ** 30, why: "the cap when no expected size is known" };
/**
 * A state dict's pickle is about 100 bytes a tensor (GPT-2 XL's is under 100 kB); 4 MiB is ~40,000 tensors. A
 * larger one is refused before it is inflated (the objects it builds are capped too: MAX_PICKLE_OBJECTS).
 */
const MAX_PICKLE_BYTES = 4 * 2 ** 20;
/** Deflated entries are inflated this many compressed bytes at a time, so a bomb is stopped within ~16 MB of output. */
const INFLATE_SLICE = 16 * 1024;

/**
 * Reads a `torch.save`d state dict (zip or legacy format) into tensors by name; never runs code from the file.
 * Storages together may not pass 4 GiB; use openTorchStateDict() to check shapes first and set the limit.
 */
export function readTorchStateDict(bytes: Uint8Array, source: string): Map<string, StoredTensor> {
  const dict = openTorchStateDict(bytes, source);
  return dict.read(dict.declared.keys());
}

/**
 * Reads a `torch.save`d state dict's pickle (zip or legacy format) without copying any tensor data: the shapes
 * can be checked before read() inflates and copies what is asked for. Never runs code from the file.
 *
 * @example
 * ```ts
 * const dict = openTorchStateDict(await Deno.readFile("pytorch_model.bin"), "pytorch_model.bin");
 * dict.declared.get("wte.weight")!.shape; // [50257, 768], nothing read yet
 * const tensors = dict.read(["wte.weight"], { bytes: 200e6, why: "the size config.json declares" });
 * ```
 */
export function openTorchStateDict(bytes: Uint8Array, source: string): TorchStateDict {
  const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  return isZip ? openZip(bytes, source) : openLegacy(bytes, source);
}

/**
 * The tensor views of a state dict pickle, by name, each checked against its storage: sizes, strides and offset
 * integers ≥ 0, every element inside the storage, and no more elements than the storage holds. The last refuses
 * a view that repeats elements (stride 0: one stored float shown 10,000 × 10,000 times), which torch.save of a
 * model's weights never writes, before its copy costs memory. `label` names a storage in errors.
 */
function stateDictViews(root: Value, label: (ref: StorageRef) => string, source: string): Map<string, TensorRef> {
  if (!(root instanceof Map)) throw new Error(`${source}: the pickle holds no state dict (a dict of tensors)`);
  const views = new Map<string, TensorRef>();
  for (const [name, value] of root) {
    if (typeof name !== "string") throw new Error(`${source}: a state-dict key that is not a string`);
    if (!(typeof value === "object" && value !== null && (value as TensorRef).kind === "tensor")) continue; // e.g. a version number
    const t = value as TensorRef;
    checkView(t, label(t.storage), `${source}: tensor "${name}"`);
    views.set(name, t);
  }
  return views;
}

function checkView(t: TensorRef, storage: string, where: string): void {
  const whole = (v: number) => Number.isSafeInteger(v) && v >= 0;
  if (!t.shape.every(whole) || !t.stride.every(whole) || !whole(t.offset) || t.shape.length !== t.stride.length) {
    throw new Error(
      `${where}: size [${t.shape}], stride [${t.stride}] and offset ${t.offset} must be integers ≥ 0, one stride a dimension`,
    );
  }
  if (!whole(t.storage.numel)) throw new Error(`${where}: storage ${storage} declares ${t.storage.numel} elements`);
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (count > t.storage.numel) {
    throw new Error(
      `${where}: shape [${t.shape.join(", ")}] has ${count} elements, more than its storage ${storage} holds (${t.storage.numel}); ` +
        `a view that repeats elements is not a saved weight`,
    );
  }
  const last = t.shape.reduce((at, size, d) => at + (size - 1) * t.stride[d], t.offset);
  if (count > 0 && last >= t.storage.numel) {
    throw new Error(`${where}: its view reaches element ${last} of storage ${storage}, which holds ${t.storage.numel}`);
  }
}

/**
 * A TorchStateDict over checked views. `storageBytes` returns one storage's bytes (inflating it if need be); it is
 * called once a storage, only for the storages of the tensors asked for, once their total passed the limit.
 */
function stateDict(views: Map<string, TensorRef>, storageBytes: (ref: StorageRef) => Uint8Array, source: string): TorchStateDict {
  const declared = new Map([...views].map(([name, t]) => [name, { dtype: t.storage.dtype, shape: t.shape }]));
  const read = (names: Iterable<string>, limit: StorageLimit = HARD_LIMIT) => {
    const wanted = [...names].map((name) => [name, views.get(name) ?? missingTensor(name, source)] as const);
    const storages = new Map(wanted.map(([, t]) => [t.storage.key, t.storage]));
    const total = [...storages.values()].reduce((sum, ref) => sum + ref.numel * STORED_DTYPE_BYTES[ref.dtype], 0);
    if (total > limit.bytes) {
      throw new Error(
        `${source}: the tensors asked for need storages of ${total} bytes, more than the ${limit.bytes} accepted (${limit.why})`,
      );
    }
    const bytes = new Map([...storages].map(([key, ref]) => [key, storageBytes(ref)]));
    return new Map(wanted.map(([name, t]) => [name, materialise(t, bytes.get(t.storage.key)!, `${source}: tensor "${name}"`)]));
  };
  return { declared, read };
}

function missingTensor(name: string, source: string): never {
  throw new Error(`${source}: no tensor "${name}" in the state dict`);
}

/** A checked view (checkView) copied out as a contiguous row-major tensor; `storage` holds at least its numel elements. */
function materialise(t: TensorRef, storage: Uint8Array, where: string): StoredTensor {
  const size = STORED_DTYPE_BYTES[t.storage.dtype];
  const count = t.shape.reduce((a, b) => a * b, 1);
  // A row-major view (what a state dict almost always holds) is one slice of its storage; any other is gathered element by element.
  const rowMajor = t.stride.every((st, d) => t.shape[d] === 1 || st === t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
  if (rowMajor) {
    const bytes = storage.subarray(t.offset * size, (t.offset + count) * size);
    return { dtype: t.storage.dtype, shape: t.shape, data: decodeStored(bytes, t.storage.dtype, where) };
  }
  const out = new Uint8Array(count * size);
  const index = new Array(t.shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let element = t.offset;
    for (let d = 0; d < index.length; d++) element += index[d] * t.stride[d];
    out.set(storage.subarray(element * size, (element + 1) * size), i * size);
    for (let d = index.length - 1; d >= 0; d--) {
      if (++index[d] < t.shape[d]) break;
      index[d] = 0;
    }
  }
  return { dtype: t.storage.dtype, shape: t.shape, data: decodeStored(out, t.storage.dtype, where) };
}

function openZip(bytes: Uint8Array, source: string): TorchStateDict {
  const entries = zipEntries(bytes, source);
  const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) throw new Error(`${source}: no <name>/data.pkl in the archive (not a torch.save file)`);
  const prefix = pkl.slice(0, -"data.pkl".length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(entryBytes(bytes, byteorder, 16, "", source)).trim() !== "little") {
    throw new Error(`${source}: big-endian storages are not supported`);
  }
  const pickle = entryBytes(
    bytes,
    entries.get(pkl)!,
    MAX_PICKLE_BYTES,
    "accepted for a pickle (a state dict's is ~100 bytes a tensor)",
    source,
  );
  const { value } = restrictedUnpickle(pickle, `${source}:${pkl}`, (pid) => storageOf(pid, source));
  const entryName = (ref: StorageRef) => `${prefix}data/${ref.key}`;
  return stateDict(stateDictViews(value, entryName, source), (ref) => {
    const entry = entries.get(entryName(ref));
    if (!entry) throw new Error(`${source}: storage file ${entryName(ref)} is missing`);
    const need = ref.numel * STORED_DTYPE_BYTES[ref.dtype];
    if (entry.declaredSize !== need) {
      throw new Error(
        `${source}: ${entry.name} declares ${entry.declaredSize} bytes, but storage ${ref.key} holds ${ref.numel} ${ref.dtype} ` +
          `element${ref.numel === 1 ? "" : "s"} (${need} bytes)`,
      );
    }
    return entryBytes(bytes, entry, need, "its storage holds", source);
  }, source);
}

/** One file of a zip archive, from its central directory: how it is stored and the size it declares. */
interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly compressedSize: number;
  readonly declaredSize: number;
  readonly localHeader: number;
}

/**
 * The entries of a zip archive, read from its central directory (zip64 too) without inflating anything, so that
 * declared sizes can be checked first and only the entries needed are ever inflated. Every read is bounds-checked.
 */
function zipEntries(bytes: Uint8Array, source: string): Map<string, ZipEntry> {
  const bad = (why: string): never => {
    throw new Error(`${source}: not a readable zip archive (${why})`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const within = (at: number, n: number) => (at >= 0 && at + n <= bytes.length ? at : bad(`it ends before byte ${at + n}`));
  const u16 = (at: number) => view.getUint16(within(at, 2), true);
  const u32 = (at: number) => view.getUint32(within(at, 4), true);
  const u64 = (at: number) => Number(view.getBigUint64(within(at, 8), true));
  const lowest = Math.max(0, bytes.length - 22 - 0xffff); // the end record is within the last 64 kB (its comment is at most that)
  let end = bytes.length - 22;
  while (end >= lowest && u32(end) !== 0x06054b50) end--;
  if (end < lowest) bad("no end of central directory");
  let count = u16(end + 10);
  let at = u32(end + 16);
  if (end >= 20 && u32(end - 20) === 0x07064b50) { // a zip64 locator: the real count and offset are in the zip64 end record
    const end64 = u64(end - 12);
    if (u32(end64) !== 0x06064b50) bad("a broken zip64 end record");
    count = u64(end64 + 32);
    at = u64(end64 + 48);
  }
  const entries = new Map<string, ZipEntry>();
  for (let i = 0; i < count; i++) {
    if (u32(at) !== 0x02014b50) bad(`a broken central directory entry at byte ${at}`);
    const nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32);
    const name = new TextDecoder().decode(bytes.subarray(within(at + 46, nameLength), at + 46 + nameLength));
    const sizes = { declaredSize: u32(at + 24), compressedSize: u32(at + 20), localHeader: u32(at + 42) };
    readZip64Sizes(sizes, at + 46 + nameLength, extraLength, u16, u64);
    entries.set(name, { name, method: u16(at + 10), ...sizes });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Sizes and offsets too large for 32 bits are 0xffffffff in the entry and follow, in this order, in extra field 0x0001. */
function readZip64Sizes(
  sizes: { declaredSize: number; compressedSize: number; localHeader: number },
  extra: number,
  length: number,
  u16: (at: number) => number,
  u64: (at: number) => number,
): void {
  for (let at = extra; at + 4 <= extra + length; at += 4 + u16(at + 2)) {
    if (u16(at) !== 0x0001) continue;
    let field = at + 4;
    for (const key of ["declaredSize", "compressedSize", "localHeader"] as const) {
      if (sizes[key] !== 0xffffffff) continue;
      sizes[key] = u64(field);
      field += 8;
    }
  }
}

/**
 * An entry's bytes: stored ones are a view of the archive, deflated ones are inflated. An entry that declares
 * more than `limit` bytes is refused before anything is inflated (`why` says where the limit comes from), and one
 * that inflates to more than it declares is stopped as soon as it does.
 */
function entryBytes(bytes: Uint8Array, entry: ZipEntry, limit: number, why: string, source: string): Uint8Array {
  if (entry.declaredSize > limit) {
    throw new Error(`${source}: ${entry.name} declares ${entry.declaredSize} bytes, more than the ${limit} ${why}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const local = entry.localHeader;
  if (local + 30 > bytes.length || view.getUint32(local, true) !== 0x04034b50) {
    throw new Error(`${source}: not a readable zip archive (no local header for ${entry.name})`);
  }
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  if (start + entry.compressedSize > bytes.length) {
    throw new Error(`${source}: not a readable zip archive (${entry.name} runs past its end)`);
  }
  const raw = bytes.subarray(start, start + entry.compressedSize);
  if (entry.method === 8) return inflateCapped(raw, entry.declaredSize, `${source}: ${entry.name}`);
  if (entry.method !== 0) {
    throw new Error(`${source}: ${entry.name} uses zip compression method ${entry.method} (expected stored or deflated)`);
  }
  if (raw.length !== entry.declaredSize) {
    throw new Error(`${source}: ${entry.name} is stored with ${raw.length} bytes but declares ${entry.declaredSize}`);
  }
  return raw;
}

/** Inflates a raw deflate stream that must give exactly `declared` bytes, a slice at a time, stopping once it gives more. */
function inflateCapped(compressed: Uint8Array, declared: number, where: string): Uint8Array {
  const out = new Uint8Array(declared);
  let filled = 0;
  let overflow = false;
  const inflater = new Inflate((chunk) => {
    if (filled + chunk.length > declared) {
      overflow = true;
      throw new Error("overflow");
    }
    out.set(chunk, filled);
    filled += chunk.length;
  });
  try {
    for (let at = 0; at < compressed.length || at === 0; at += INFLATE_SLICE) {
      inflater.push(compressed.subarray(at, at + INFLATE_SLICE), at + INFLATE_SLICE >= compressed.length);
    }
  } catch (err) {
    if (overflow) throw new Error(`${where} inflates to more than the ${declared} bytes it declares`);
    throw new Error(`${where}: not a valid deflate stream (${(err as Error).message})`);
  }
  if (filled !== declared) throw new Error(`${where} inflates to ${filled} bytes, fewer than the ${declared} it declares`);
  return out;
}

function openLegacy(bytes: Uint8Array, source: string): TorchStateDict {
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
  // The storages follow the pickles in the file itself: views of it, nothing inflated or copied here.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Map<string, Uint8Array>();
  for (const key of keys.map(String)) {
    const ref = refs.get(key);
    if (!ref) throw new Error(`${source}: storage ${key} is listed but not used`);
    if (at + 8 > bytes.length) throw new Error(`${source}: the file ends before storage ${key}`);
    const numel = Number(view.getBigInt64(at, true));
    at += 8;
    const length = numel * STORED_DTYPE_BYTES[ref.dtype];
    if (!(length >= 0) || at + length > bytes.length) throw new Error(`${source}: the file ends inside storage ${key}`);
    data.set(key, bytes.subarray(at, at + length));
    at += length;
  }
  return stateDict(stateDictViews(root, (ref) => ref.key, source), (ref) => {
    const stored = data.get(ref.key) ?? missingStorage(ref.key, source);
    const need = ref.numel * STORED_DTYPE_BYTES[ref.dtype];
    if (stored.length < need) {
      throw new Error(`${source}: storage ${ref.key} has ${stored.length} bytes, fewer than its ${ref.numel} ${ref.dtype} elements`);
    }
    return stored;
  }, source);
}

function missingStorage(key: string, source: string): never {
  throw new Error(`${source}: storage ${key} has no data`);
}

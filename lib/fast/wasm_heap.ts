/**
 * Direct access to tensors of the tfjs wasm backend, and the two ways this
 * project plugs kernels into it. Every tensor's data sits in the wasm
 * module's heap at a known offset, so a kernel can hand a view of it to
 * native code (BLAS, lib/fast/native/kernels.c) without copying.
 *
 * Rule: create every output first, then take the views. An allocation may
 * grow the heap, which replaces the underlying ArrayBuffer and detaches
 * views taken earlier.
 */
import { tf } from "../tf.ts";

export interface WasmBackendInternals {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  incRef(dataId: unknown): void;
}

type KernelResult = tf.TensorInfo | tf.TensorInfo[];
type Inputs = Record<string, tf.TensorInfo>;
type Attrs = Record<string, unknown>;

/** Where a tensor's data starts in the heap, in 4-byte elements. */
export function heapOffset(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset / 4;
}

/** A float32 view of a tensor's data in the wasm heap. */
export function f32View(backend: WasmBackendInternals, t: tf.TensorInfo): Float32Array {
  const start = heapOffset(backend, t);
  return backend.wasm.HEAPF32.subarray(start, start + sizeOf(t.shape));
}

/** An int32 view of a tensor's data in the wasm heap. */
export function i32View(backend: WasmBackendInternals, t: tf.TensorInfo): Int32Array {
  const heap = backend.wasm.HEAPF32;
  return new Int32Array(heap.buffer, heap.byteOffset + 4 * heapOffset(backend, t), sizeOf(t.shape));
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Registers a new kernel on wasm. Every input must be float32 except those
 * named in `int32Inputs`; a wrong dtype is an error naming the input.
 */
export function registerWasmKernel(
  kernelName: string,
  fn: (inputs: Inputs, backend: WasmBackendInternals, attrs: Attrs) => KernelResult,
  int32Inputs: readonly string[] = [],
): void {
  tf.registerKernel({
    kernelName,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      for (const [name, t] of Object.entries(inputs as Inputs)) {
        const want = int32Inputs.includes(name) ? "int32" : "float32";
        if (t.dtype !== want) throw new Error(`${kernelName}: input "${name}" must be ${want}, got ${t.dtype}`);
      }
      return fn(inputs as Inputs, backend as unknown as WasmBackendInternals, (attrs ?? {}) as Attrs);
    },
  });
}

/**
 * Puts `fn` in place of wasm's own kernel `kernelName`; `fn` may hand a call
 * back to the stock kernel (`stock()`) for cases it does not cover. Returns
 * false when wasm has no such kernel.
 */
export function replaceWasmKernel(
  kernelName: string,
  fn: (inputs: Inputs, backend: WasmBackendInternals, attrs: Attrs, stock: () => KernelResult) => KernelResult,
): boolean {
  const stock = tf.getKernel(kernelName, "wasm");
  if (!stock) return false;
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({
    ...stock,
    kernelFunc: (args) =>
      fn(args.inputs as Inputs, args.backend as unknown as WasmBackendInternals, (args.attrs ?? {}) as Attrs, () => stock.kernelFunc(args)),
  });
  return true;
}

/**
 * A float32 tensor's values without copying them: a view of its place in the
 * heap of the active backend, which must be wasm (the `float32View` row of
 * lib/ops/fast_path.ts checks). Valid only until the next tfjs allocation or
 * the tensor's disposal: read it at once. A read-back (`data()`) copies
 * through a fresh ArrayBuffer, ~170 µs for 8 × 2048 logits on a 2-core VM, a
 * third of a small model's generation step; sampling straight from the heap
 * skips it.
 */
export function float32HeapView(t: tf.Tensor): Float32Array {
  return f32View(tf.backend() as unknown as WasmBackendInternals, t);
}

/**
 * Direct access to tensors of the tfjs wasm backend: every tensor's data sits
 * in the wasm module's heap at a known offset, so a kernel can hand a view of
 * it to native code (BLAS, lib/fast/native/kernels.c) without copying.
 *
 * Rule: create every output first, then take the views. An allocation may
 * grow the heap, which replaces the underlying ArrayBuffer and detaches
 * views taken earlier.
 */
import type { tf } from "../tf.ts";

export interface WasmBackendInternals {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

export function asWasmBackend(backend: unknown): WasmBackendInternals {
  return backend as WasmBackendInternals;
}

/** A float32 view of a tensor's data in the wasm heap. */
export function f32View(backend: WasmBackendInternals, t: tf.TensorInfo): Float32Array {
  const start = backend.dataIdMap.get(t.dataId).memoryOffset / 4;
  return backend.wasm.HEAPF32.subarray(start, start + sizeOf(t.shape));
}

/** An int32 view of a tensor's data in the wasm heap. */
export function i32View(backend: WasmBackendInternals, t: tf.TensorInfo): Int32Array {
  const heap = backend.wasm.HEAPF32;
  return new Int32Array(heap.buffer, heap.byteOffset + backend.dataIdMap.get(t.dataId).memoryOffset, sizeOf(t.shape));
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

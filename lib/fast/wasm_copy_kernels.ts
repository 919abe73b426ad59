/**
 * Copy-only kernels for the tfjs wasm backend, done with one `copyWithin`
 * (memmove) per contiguous block of the heap instead of wasm's generic
 * element loops: `GatherV2` along axis 0 (embedding lookups) and `Unpack`
 * (splitting q, k, v). Other cases go to the stock kernels.
 */
import { tf } from "../tf.ts";
import { asWasmBackend, sizeOf, type WasmBackendInternals } from "./wasm_heap.ts";

let installed = false;

export function installWasmCopyKernels(): boolean {
  if (installed || !tf.getKernel(tf.GatherV2, "wasm")) return false;
  replace(tf.GatherV2, (args, backend, stock) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
    const fourBytes = x.dtype === "float32" || x.dtype === "int32";
    if (!fourBytes || indices.dtype !== "int32" || (axis !== 0 && axis !== -x.shape.length) || batchDims !== 0 || x.shape.length < 1) {
      return stock();
    }
    const rowSize = sizeOf(x.shape.slice(1));
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    const heap = backend.wasm.HEAPF32;
    const xStart = offset(backend, x), outStart = offset(backend, out), idStart = offset(backend, indices);
    const ids = new Int32Array(heap.buffer, idStart * 4, sizeOf(indices.shape));
    for (let i = 0; i < ids.length; i++) {
      const row = ids[i];
      if (!(row >= 0 && row < x.shape[0])) {
        throw new Error(`gather: index ${row} at position ${i} is outside [0, ${x.shape[0]})`);
      }
      heap.copyWithin(outStart + i * rowSize, xStart + row * rowSize, xStart + (row + 1) * rowSize);
    }
    return out;
  });
  replace(tf.Unpack, (args, backend, stock) => {
    const { value } = args.inputs as { value: tf.TensorInfo };
    const rank = value.shape.length;
    const axis = ((args.attrs as unknown as { axis: number }).axis + rank) % rank;
    if (value.dtype !== "float32" && value.dtype !== "int32") return stock();
    const count = value.shape[axis];
    const outer = sizeOf(value.shape.slice(0, axis));
    const inner = sizeOf(value.shape.slice(axis + 1));
    const outShape = value.shape.filter((_, i) => i !== axis);
    const outs = Array.from({ length: count }, () => backend.makeOutput(outShape, value.dtype));
    const heap = backend.wasm.HEAPF32;
    const src = offset(backend, value);
    outs.forEach((out, k) => {
      const dst = offset(backend, out);
      for (let o = 0; o < outer; o++) {
        const from = src + (o * count + k) * inner;
        heap.copyWithin(dst + o * inner, from, from + inner);
      }
    });
    return outs;
  });
  installed = true;
  return true;
}

/** Element offset of a tensor's data in the heap (in 4-byte units). */
function offset(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset / 4;
}

function replace(
  kernelName: string,
  fn: (args: Parameters<tf.KernelFunc>[0], backend: WasmBackendInternals, stock: () => tf.TensorInfo | tf.TensorInfo[]) => tf.TensorInfo | tf.TensorInfo[],
): void {
  const stock = tf.getKernel(kernelName, "wasm")!;
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({ ...stock, kernelFunc: (args) => fn(args, asWasmBackend(args.backend), () => stock.kernelFunc(args)) });
}

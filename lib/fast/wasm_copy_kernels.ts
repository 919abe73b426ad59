/**
 * Copy-only kernels for the tfjs wasm backend, done with one `copyWithin`
 * (memmove) per contiguous block of the heap instead of wasm's generic
 * element loops: `GatherV2` along axis 0 (embedding lookups) and `Unpack`
 * (splitting q, k, v). Other cases go to the stock kernels.
 */
import { tf } from "../tf.ts";
import { heapOffset, replaceWasmKernel, sizeOf } from "./wasm_heap.ts";

let installed = false;

export function installWasmCopyKernels(): boolean {
  if (installed || !tf.getKernel(tf.GatherV2, "wasm")) return false;
  replaceWasmKernel(tf.GatherV2, ({ x, indices }, backend, attrs, stock) => {
    const { axis, batchDims } = attrs as { axis: number; batchDims: number };
    const fourBytes = x.dtype === "float32" || x.dtype === "int32";
    if (!fourBytes || indices.dtype !== "int32" || (axis !== 0 && axis !== -x.shape.length) || batchDims !== 0 || x.shape.length < 1) {
      return stock();
    }
    const rowSize = sizeOf(x.shape.slice(1));
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    const heap = backend.wasm.HEAPF32;
    const xStart = heapOffset(backend, x), outStart = heapOffset(backend, out), idStart = heapOffset(backend, indices);
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
  replaceWasmKernel(tf.Unpack, ({ value }, backend, attrs, stock) => {
    const rank = value.shape.length;
    const axis = ((attrs.axis as number) + rank) % rank;
    if (value.dtype !== "float32" && value.dtype !== "int32") return stock();
    const count = value.shape[axis];
    const outer = sizeOf(value.shape.slice(0, axis));
    const inner = sizeOf(value.shape.slice(axis + 1));
    const outShape = value.shape.filter((_, i) => i !== axis);
    const outs = Array.from({ length: count }, () => backend.makeOutput(outShape, value.dtype));
    const heap = backend.wasm.HEAPF32;
    const src = heapOffset(backend, value);
    outs.forEach((out, k) => {
      const dst = heapOffset(backend, out);
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

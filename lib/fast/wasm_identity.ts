/**
 * A copy-free `Identity` for the tfjs wasm backend.
 *
 * tfjs clones every tensor it saves for the backward pass (and `tf.clone`,
 * `customGrad` outputs…) through the Identity kernel; wasm's stock kernel
 * copies the data each time — about 10 % of a training step of the small
 * models here. Tensors are immutable, so like the cpu backend's Identity we
 * share the data and count one more reference (the same thing wasm's own
 * Reshape does).
 */
import { tf } from "../tf.ts";
import { replaceWasmKernel } from "./wasm_heap.ts";

let installed = false;

export function installSharedIdentity(): boolean {
  if (installed) return false;
  installed = replaceWasmKernel(tf.Identity, ({ x }, backend, _attrs, stock) => {
    if (x.dtype === "string") return stock();
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
  return installed;
}

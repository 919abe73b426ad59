/**
 * tfjs kernels for the wasm backend that run the project's C kernels
 * (lib/fast/native/kernels.c) on tensors in the wasm heap:
 *
 * - drop-in replacements of four stock kernels the profile found slow:
 *   `Transpose` (float32 and int32, rank ≤ 6), `Sum` over a block of
 *   adjacent axes (the bias gradients, LayerNorm-style row sums),
 *   same-shape float32 `Add` and `ScatterNd` of whole rows (an embedding's
 *   gradient); other cases go to the stock kernel;
 * - the fused kernels named in kernel_names.ts (GELU, LayerNorm,
 *   softmax cross-entropy, attention softmax, causal attention for training
 *   and its gradient, AdamW), with their gradients in fused_ops.ts.
 */
import { tf } from "../tf.ts";
import * as names from "./kernel_names.ts";
import type { NativeKernels } from "./native_kernels.ts";
import { BLOCK_WEIGHT_ORDER } from "./fused_ops.ts";
import { f32View, i32View, registerWasmKernel as register, replaceWasmKernel, sizeOf, type WasmBackendInternals } from "./wasm_heap.ts";

let installed = false;

/**
 * Registers every kernel on the wasm backend; the training attention splits its (batch, head) pairs over up to
 * `threads` of the kernels' pool. The decoder block for inference needs the BLAS products on that pool
 * (`productsOnPool`: pooled_blas.ts bound the library), as the linear kernel then computes them.
 * Returns false if already done or wasm is absent.
 */
export function installNativeWasmKernels(k: NativeKernels, threads = 1, productsOnPool = false): boolean {
  if (installed || !tf.getKernel(tf.Transpose, "wasm")) return false;
  replaceWasmKernel(tf.Transpose, (inputs, backend, attrs, stock) => {
    const x = inputs.x;
    const perm = attrs.perm as number[];
    if ((x.dtype !== "float32" && x.dtype !== "int32") || perm.length > 6 || perm.every((p, i) => p === i)) return stock();
    const out = backend.makeOutput(perm.map((p) => x.shape[p]), x.dtype);
    k.transpose_4byte(i32View(backend, x), i32View(backend, out), perm.length, new Int32Array(x.shape), new Int32Array(perm));
    return out;
  });
  // Same-shape float32 Add (the residual connections and their gradients): wasm's broadcasting loop takes ~2 ns
  // per element, ~4 ms of a gpt2-micro training step; broadcasting and other dtypes go to the stock kernel.
  replaceWasmKernel(tf.Add, (inputs, backend, _attrs, stock) => {
    const { a, b } = inputs;
    if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.join() !== b.shape.join()) return stock();
    const out = backend.makeOutput(a.shape, "float32");
    k.add_arrays(f32View(backend, a), f32View(backend, b), sizeOf(a.shape), f32View(backend, out));
    return out;
  });
  // ScatterNd of whole rows (indices [N, 1]: an embedding's gradient) in C, the sums in tfjs-wasm's order.
  replaceWasmKernel(tf.ScatterNd, (inputs, backend, attrs, stock) => {
    const { indices, updates } = inputs;
    const shape = attrs.shape as number[];
    const [N, W] = [indices.shape[0], sizeOf(shape.slice(1))];
    const wholeRows = indices.dtype === "int32" && indices.shape.length === 2 && indices.shape[1] === 1 &&
      updates.dtype === "float32" && updates.shape.join() === [N, ...shape.slice(1)].join();
    const ids = wholeRows ? i32View(backend, indices) : undefined;
    if (!ids || ids.some((i) => !(i >= 0 && i < shape[0]))) return stock();
    const out = backend.makeOutput(shape, "float32");
    k.scatter_add_rows(i32View(backend, indices), f32View(backend, updates), N, W, shape[0], f32View(backend, out));
    return out;
  });
  replaceWasmKernel(tf.Sum, (inputs, backend, attrs, stock) => {
    const x = inputs.x;
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
    const adjacent = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
    if (x.dtype !== "float32" || axes.length === 0 || !adjacent) return stock();
    const first = axes[0], last = axes[axes.length - 1];
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const out = backend.makeOutput(outShape, "float32");
    const outer = sizeOf(x.shape.slice(0, first));
    const reduce = sizeOf(x.shape.slice(first, last + 1));
    const inner = sizeOf(x.shape.slice(last + 1));
    if (k.sum_middle_axes(f32View(backend, x), outer, reduce, inner, f32View(backend, out)) !== 0) {
      throw new Error(`Sum: out of memory for the partial sums of [${x.shape}]`);
    }
    return out;
  });

  register(names.GELU_NEW, ({ x }, backend) => {
    const y = backend.makeOutput(x.shape, "float32");
    k.gelu_new_forward(f32View(backend, x), f32View(backend, y), sizeOf(x.shape));
    return y;
  });
  register(names.GELU_NEW_GRAD, ({ x, dy }, backend) => {
    const dx = backend.makeOutput(x.shape, "float32");
    k.gelu_new_backward(f32View(backend, x), f32View(backend, dy), f32View(backend, dx), sizeOf(x.shape));
    return dx;
  });

  register(names.LAYER_NORM, ({ x, weight, bias }, backend, attrs) => {
    const { rows, C } = rowsOf(x.shape);
    const y = backend.makeOutput(x.shape, "float32");
    const mean = backend.makeOutput([rows], "float32");
    const rstd = backend.makeOutput([rows], "float32");
    const v = (t: tf.TensorInfo) => f32View(backend, t);
    k.layer_norm_forward(v(x), v(weight), v(bias), rows, C, attrs.epsilon as number, v(y), v(mean), v(rstd));
    return [y, mean, rstd];
  });
  register(names.LAYER_NORM_GRAD, ({ x, weight, mean, rstd, dy }, backend) => {
    const { rows, C } = rowsOf(x.shape);
    const dx = backend.makeOutput(x.shape, "float32");
    const dw = backend.makeOutput([C], "float32");
    const db = backend.makeOutput([C], "float32");
    const v = (t: tf.TensorInfo) => f32View(backend, t);
    if (k.layer_norm_backward(v(x), v(weight), v(mean), v(rstd), v(dy), rows, C, v(dx), v(dw), v(db)) !== 0) {
      throw new Error(`${names.LAYER_NORM_GRAD}: out of memory for the partial sums of ${rows} rows × ${C}`);
    }
    return [dx, dw, db];
  });

  register(names.CROSS_ENTROPY, ({ logits, targets }, backend) => {
    const [rows, V] = logits.shape;
    const lse = backend.makeOutput([rows], "float32");
    const loss = backend.makeOutput([rows], "float32");
    k.cross_entropy_forward(f32View(backend, logits), i32View(backend, targets), rows, V, f32View(backend, lse), f32View(backend, loss));
    return [lse, loss];
  }, ["targets"]);
  register(names.ROW_ENTROPY, ({ logits }, backend, attrs) => {
    const [rows, V] = logits.shape;
    const out = backend.makeOutput([rows], "float32");
    k.row_entropy(f32View(backend, logits), rows, V, attrs.scale as number, f32View(backend, out));
    return out;
  });
  register(names.CROSS_ENTROPY_GRAD, ({ logits, targets, lse, dLse, dLoss }, backend) => {
    const [rows, V] = logits.shape;
    const dz = backend.makeOutput(logits.shape, "float32");
    const v = (t: tf.TensorInfo) => f32View(backend, t);
    k.cross_entropy_backward(v(logits), i32View(backend, targets), v(lse), v(dLse), v(dLoss), rows, V, v(dz));
    return dz;
  }, ["targets"]);

  register(names.MASKED_SOFTMAX, ({ scores, mask }, backend, attrs) => {
    const [B, H, T, S] = scores.shape;
    const maskBatch = maskBatchOf(names.MASKED_SOFTMAX, mask, B, T, S);
    const p = backend.makeOutput(scores.shape, "float32");
    k.masked_softmax_forward(
      f32View(backend, scores),
      f32View(backend, mask),
      B,
      H,
      T,
      S,
      maskBatch,
      attrs.scale as number,
      f32View(backend, p),
    );
    return p;
  });
  register(names.MASKED_SOFTMAX_GRAD, ({ p, dp }, backend, attrs) => {
    const { rows, C: S } = rowsOf(p.shape);
    const ds = backend.makeOutput(p.shape, "float32");
    k.masked_softmax_backward(f32View(backend, p), f32View(backend, dp), rows, S, attrs.scale as number, f32View(backend, ds));
    return ds;
  });

  // Inference attention: attrs scale, and for a cache with room: length (positions filled, default all) and
  // capacity (positions the extended cache holds). With attrs.inPlace and room for this step, the new keys and
  // values are written into pastKey/pastValue themselves and only out is returned (generation: no copy of the
  // past per token); with attrs.keepCache false and no past, out alone; otherwise out and a new cache
  // [B, H, max(capacity, S), hs].
  register(names.ATTENTION_INFERENCE, ({ qkv, pastKey, pastValue, mask }, backend, attrs) => {
    const T = qkv.shape[0] / pastKey.shape[0];
    const cache = inferenceCache(names.ATTENTION_INFERENCE, backend, pastKey, pastValue, attrs, T);
    const { B, H, hs, P } = cache;
    const maskBatch = maskBatchOf(names.ATTENTION_INFERENCE, mask, B, T, P + T);
    if (qkv.shape[1] !== 3 * H * hs) {
      throw new Error(`${names.ATTENTION_INFERENCE}: shapes do not fit: qkv [${qkv.shape}], cache keys [${pastKey.shape}]`);
    }
    const out = backend.makeOutput([B * T, H * hs], "float32");
    const v = (t: tf.TensorInfo) => f32View(backend, t);
    k.attention_inference(
      v(qkv),
      v(pastKey),
      v(pastValue),
      cache.pastCap,
      v(mask),
      B,
      T,
      P,
      H,
      hs,
      maskBatch,
      attrs.scale as number,
      v(cache.newKey),
      v(cache.newValue),
      cache.capacity,
      cache.keep,
      v(out),
    );
    return cache.outputs(out);
  });

  // A whole decoder block for inference: inputs x [B, T, C], the block's weights (BlockWeights' names), the
  // layer's cache and the mask; attrs as the inference attention's, and nHead, eps. Outputs as that kernel's,
  // the block's output [B, T, C] first.
  if (productsOnPool) {
    register(names.BLOCK_INFERENCE, (inputs, backend, attrs) => {
      const { x, pastKey, pastValue, mask } = inputs;
      const [, T, C] = x.shape;
      const cache = inferenceCache(names.BLOCK_INFERENCE, backend, pastKey, pastValue, attrs, T);
      const { B, H, hs, P } = cache;
      const maskBatch = maskBatchOf(names.BLOCK_INFERENCE, mask, B, T, P + T);
      if (H * hs !== C || H !== attrs.nHead || x.shape[0] !== B) {
        throw new Error(`${names.BLOCK_INFERENCE}: shapes do not fit: x [${x.shape}], cache keys [${pastKey.shape}]`);
      }
      const y = backend.makeOutput([B, T, C], "float32");
      const weights = BLOCK_WEIGHT_ORDER.map((name) => inputs[name]);
      const tensors = [x, ...weights, pastKey, pastValue, mask, cache.newKey, cache.newValue, y];
      const F = inputs.fcWeight.shape[1];
      const sizes = [cache.pastCap, B, T, P, H, hs, F, maskBatch, cache.capacity, cache.keep, threads];
      const status = k.block_inference(
        addresses(backend, tensors),
        Int32Array.from(sizes),
        attrs.scale as number,
        attrs.eps as number,
      );
      if (status !== 0) throw new Error(`${names.BLOCK_INFERENCE}: out of memory for the scratch of ${B * T} rows`);
      return cache.outputs(y);
    });
  }

  // Training attention (no cache): attrs nHead, scale; out [B·T, C]. The mask tells T (qkv has B·T rows).
  register(names.ATTENTION, ({ qkv, mask }, backend, attrs) => {
    const { B, T, H, hs } = attentionShape(names.ATTENTION, qkv, mask, attrs);
    const maskBatch = maskBatchOf(names.ATTENTION, mask, B, T, T);
    const out = backend.makeOutput([B * T, H * hs], "float32");
    const v = (t: tf.TensorInfo) => f32View(backend, t);
    const status = k.attention_train_forward(v(qkv), v(mask), B, T, H, hs, maskBatch, attrs.scale as number, threads, v(out));
    if (status !== 0) throw new Error(`${names.ATTENTION}: out of memory for the scratch of heads of ${T}×${hs}`);
    return out;
  });
  register(names.ATTENTION_GRAD, ({ qkv, mask, dOut }, backend, attrs) => {
    const { B, T, H, hs } = attentionShape(names.ATTENTION_GRAD, qkv, mask, attrs);
    const maskBatch = maskBatchOf(names.ATTENTION_GRAD, mask, B, T, T);
    const dqkv = backend.makeOutput(qkv.shape, "float32");
    const v = (t: tf.TensorInfo) => f32View(backend, t);
    const status = k.attention_train_backward(
      v(qkv),
      v(mask),
      v(dOut),
      B,
      T,
      H,
      hs,
      maskBatch,
      attrs.scale as number,
      threads,
      v(dqkv),
    );
    if (status !== 0) throw new Error(`${names.ATTENTION_GRAD}: out of memory for the scratch of heads of ${T}×${hs}`);
    return dqkv;
  });

  // √(Σ over every input of Σ x²): the global gradient norm in one call instead of a square, a sum and an add per weight.
  register(names.GLOBAL_NORM, (inputs, backend) => {
    let total = 0;
    for (const t of Object.values(inputs)) total += k.sum_of_squares(f32View(backend, t), sizeOf(t.shape));
    const out = backend.makeOutput([], "float32");
    f32View(backend, out)[0] = Math.sqrt(total);
    return out;
  });

  // Every weight in one call (inputs p0, g0, m0, v0, p1, …; attrs decay and stepSize per weight): outputs each
  // weight's new value, and writes the new moments over m and v IN PLACE (the optimiser's own variables, which
  // nothing else references: see fusedAdamWUpdates). One pool job for all of them instead of a call (and a pool
  // wake-up) per weight, and no new moment tensors to allocate, write and swap in each step.
  register(names.ADAMW_UPDATE, (inputs, backend, a) => {
    const decay = a.decay as number[], stepSize = a.stepSize as number[], count = decay.length;
    const pointers: tf.TensorInfo[] = [], outs: tf.TensorInfo[] = [];
    const sizes = new Int32Array(count), rates = new Float32Array(2 * count); // rates: decay, step size per weight
    for (let i = 0; i < count; i++) {
      const [p, m, v] = [inputs[`p${i}`], inputs[`m${i}`], inputs[`v${i}`]];
      const newP = backend.makeOutput(p.shape, "float32");
      pointers.push(p, inputs[`g${i}`], m, v, newP, m, v);
      outs.push(newP);
      sizes[i] = sizeOf(p.shape);
      rates.set([decay[i], stepSize[i]], 2 * i);
    }
    k.adamw_update(
      addresses(backend, pointers),
      sizes,
      rates,
      count,
      a.beta1 as number,
      a.beta2 as number,
      a.eps as number,
      a.sqrtBias2 as number,
    );
    return outs;
  });
  installed = true;
  return true;
}

/** Where each tensor's data starts in memory, for a C kernel that takes a list of pointers. */
function addresses(backend: WasmBackendInternals, tensors: readonly tf.TensorInfo[]): BigUint64Array {
  return BigUint64Array.from(tensors, (t) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(f32View(backend, t)))));
}

/** A shape seen as rows of its last axis. */
function rowsOf(shape: readonly number[]): { rows: number; C: number } {
  const C = shape[shape.length - 1];
  return { rows: sizeOf(shape) / C, C };
}

/**
 * Where an inference kernel puts this step's keys and values (attrs: length = positions of the past filled,
 * default all; capacity; inPlace; keepCache). Nothing to keep (no past, keepCache false: scoring): no cache, the
 * kernel reads keys and values from qkv. inPlace with room for the T new positions: the past's own tensors
 * (generation: no copy of the past per token). Otherwise a new cache of max(capacity, P + T) positions.
 * `outputs(first)` is what the kernel returns: its first output alone when no new cache was made.
 */
function inferenceCache(
  kernelName: string,
  backend: WasmBackendInternals,
  pastKey: tf.TensorInfo,
  pastValue: tf.TensorInfo,
  attrs: Record<string, unknown>,
  T: number,
) {
  const [B, H, pastCap, hs] = pastKey.shape;
  const P = (attrs.length as number | undefined) ?? pastCap;
  if (pastValue.shape.join() !== pastKey.shape.join() || P > pastCap) {
    throw new Error(`${kernelName}: cache keys [${pastKey.shape}] (${P} filled) and values [${pastValue.shape}] do not fit`);
  }
  const discard = attrs.keepCache === false && P === 0;
  const inPlace = !discard && attrs.inPlace === true && P + T <= pastCap;
  const newCap = inPlace ? pastCap : Math.max((attrs.capacity as number | undefined) ?? 0, P + T);
  const fresh = !inPlace && !discard;
  const newKey = fresh ? backend.makeOutput([B, H, newCap, hs], "float32") : pastKey;
  const newValue = fresh ? backend.makeOutput([B, H, newCap, hs], "float32") : pastValue;
  return {
    B,
    H,
    hs,
    P,
    pastCap,
    newKey,
    newValue,
    capacity: discard ? 0 : newCap,
    keep: discard ? 0 : 1,
    outputs: (first: tf.TensorInfo) => (fresh ? [first, newKey, newValue] : [first]),
  };
}

/** B, T, heads and head size of a training attention call: qkv [B·T, 3C], mask [T, T] or [B, 1, T, T]. */
function attentionShape(kernelName: string, qkv: tf.TensorInfo, mask: tf.TensorInfo, attrs: Record<string, unknown>) {
  const H = attrs.nHead as number;
  const T = mask.shape[mask.shape.length - 1];
  const B = qkv.shape[0] / T;
  const hs = qkv.shape[1] / (3 * H);
  if (!Number.isInteger(B) || !Number.isInteger(hs) || qkv.shape.length !== 2) {
    throw new Error(`${kernelName}: qkv [${qkv.shape}] is not [B·${T}, 3·${H}·head size]`);
  }
  return { B, T, H, hs };
}

/** Checks an additive attention mask ([T, S], or [B, 1, T, S]) and returns how many batch rows it has. */
function maskBatchOf(kernelName: string, mask: tf.TensorInfo, B: number, T: number, S: number): number {
  const expected = mask.shape.length === 4 ? [B, 1, T, S] : [T, S];
  if (mask.shape.join() !== expected.join()) {
    throw new Error(`${kernelName}: mask shape [${mask.shape}] does not fit ${B} rows × ${T} queries × ${S} keys`);
  }
  return mask.shape.length === 4 ? B : 1;
}

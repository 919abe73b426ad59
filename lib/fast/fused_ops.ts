/**
 * Fused operations with their gradients: each one runs as a single kernel
 * where the current backend registers one (wasm with the native kernels,
 * see wasm_native_kernels.ts), and callers fall back to the plain tfjs
 * composite elsewhere (`fusedKernelAvailable`). The formulas are the same;
 * tests/native_kernels_test.ts checks values and gradients against the
 * composites.
 */
import { tf } from "../tf.ts";
import * as names from "./kernel_names.ts";
import { MIN_MACS } from "./blas_matmul_kernel.ts";

/** True when the active backend has the fused kernel `kernelName`. */
export function fusedKernelAvailable(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

function run(kernelName: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown> = {}) {
  // deno-lint-ignore no-explicit-any
  return tf.engine().runKernel(kernelName, inputs, attrs as any) as tf.Tensor | tf.Tensor[];
}

/** HF "gelu_new" in one pass (and one pass for its gradient). */
export function fusedGeluNew(x: tf.Tensor): tf.Tensor {
  return run(names.GELU_NEW, { x }) as tf.Tensor;
}

/** LayerNorm over the last axis in one pass; saves the per-row mean and 1/std for the gradient. */
export function fusedLayerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, epsilon: number): tf.Tensor {
  const [y, mean, rstd] = run(names.LAYER_NORM, { x, weight, bias }, { epsilon }) as tf.Tensor[];
  // mean and rstd are kept by the tape for the backward pass; the caller only sees y.
  tf.dispose([mean, rstd]);
  return y;
}

/** Per-row cross-entropy lse(z) − z[target] of logits [N, V] against int32 targets [N] → [N]. */
export function fusedCrossEntropyRows(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const [lse, loss] = run(names.CROSS_ENTROPY, { logits, targets }) as tf.Tensor[];
  lse.dispose();
  return loss as tf.Tensor1D;
}

/** Entropy of softmax(scale · logits) of each row of logits [N, V] → [N], in one kernel (no gradient: a statistic). */
export function fusedRowEntropy(logits: tf.Tensor2D, scale: number): tf.Tensor1D {
  return run(names.ROW_ENTROPY, { logits }, { scale }) as tf.Tensor1D;
}

/** √(Σ_i Σ x_i²) over float32 tensors, in one kernel (no gradient: for clipping and logging). */
export function fusedGlobalNorm(tensors: readonly tf.Tensor[]): tf.Scalar {
  return run(names.GLOBAL_NORM, Object.fromEntries(tensors.map((t, i) => [`t${i}`, t]))) as tf.Scalar;
}

/** y = x·W + b for x [N, K], W [K, M], b [M], in one kernel. */
export function fusedLinear(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  return run(names.LINEAR, { x, weight, bias }) as tf.Tensor2D;
}

/** y = x·Wᵀ for x [N, K], W [M, K] (the LM head on the tied embeddings), with its two gradients in one kernel. */
export function fusedMatMulTransposeB(x: tf.Tensor2D, weight: tf.Tensor2D): tf.Tensor2D {
  return run(names.MATMUL_TRANSPOSE_B, { x, weight }) as tf.Tensor2D;
}

/**
 * True when the gradients of a linear layer with x [rows, K] go through one kernel: where it is registered, and
 * for products large enough that tfjs' own gradients would have run them on the BLAS too (blas_matmul_kernel.ts).
 */
function linearGradFused(x: tf.Tensor, weight: tf.Tensor): boolean {
  return fusedKernelAvailable(names.LINEAR_GRAD) && x.shape[0] * weight.size >= MIN_MACS;
}

/** Attention weights softmax(scale·scores + mask) for scores [B, H, T, S], mask [T, S] or [B, 1, T, S]. */
export function fusedMaskedSoftmax(scores: tf.Tensor4D, mask: tf.Tensor, scale: number): tf.Tensor4D {
  return run(names.MASKED_SOFTMAX, { scores, mask }, { scale }) as tf.Tensor4D;
}

/**
 * Causal self-attention of one layer after the qkv projection, with a
 * gradient (training: no cache, no dropout): qkv [B·T, 3C] and an additive
 * mask [T, T] or [B, 1, T, T] → heads-merged output [B·T, C]. The gradient
 * recomputes the attention weights from qkv; the mask gets no gradient.
 */
export function fusedAttention(qkv: tf.Tensor2D, mask: tf.Tensor, nHead: number, scale: number): tf.Tensor2D {
  return run(names.ATTENTION, { qkv, mask }, { nHead, scale }) as tf.Tensor2D;
}

/**
 * Attention of one layer after the qkv projection, for inference only (no
 * gradient): qkv [B·T, 3C] and the cache [B, H, cap, hs] with its first
 * `length` positions filled (default: all; none for no cache) → heads-merged
 * output [B·T, C] and the extended cache: with `inPlace` and room for this
 * step, the same tensors, written in place; else a new cache of
 * max(`capacity`, length + T) positions.
 */
export function fusedAttentionInference(
  qkv: tf.Tensor2D,
  pastKey: tf.Tensor4D,
  pastValue: tf.Tensor4D,
  mask: tf.Tensor,
  scale: number,
  cache: { length?: number; capacity?: number; inPlace?: boolean; keepCache?: boolean } = {},
): { out: tf.Tensor2D; key: tf.Tensor4D; value: tf.Tensor4D } {
  const outputs = [run(names.ATTENTION_INFERENCE, { qkv, pastKey, pastValue, mask }, { scale, ...cache })].flat();
  // One output: this step went into pastKey/pastValue themselves, or no cache was asked for.
  if (outputs.length === 1) return { out: outputs[0] as tf.Tensor2D, key: pastKey, value: pastValue };
  return { out: outputs[0] as tf.Tensor2D, key: outputs[1] as tf.Tensor4D, value: outputs[2] as tf.Tensor4D };
}

/** The weights of one decoder block (HF names: ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj). */
export interface BlockWeights {
  readonly ln1Weight: tf.Tensor;
  readonly ln1Bias: tf.Tensor;
  readonly attnWeight: tf.Tensor;
  readonly attnBias: tf.Tensor;
  readonly projWeight: tf.Tensor;
  readonly projBias: tf.Tensor;
  readonly ln2Weight: tf.Tensor;
  readonly ln2Bias: tf.Tensor;
  readonly fcWeight: tf.Tensor2D;
  readonly fcBias: tf.Tensor1D;
  readonly fcProjWeight: tf.Tensor2D;
  readonly fcProjBias: tf.Tensor1D;
}

/** The block's weights in the order the native kernel takes them (lib/fast/native/kernels.c: block_inference). */
export const BLOCK_WEIGHT_ORDER: readonly (keyof BlockWeights)[] = [
  "ln1Weight",
  "ln1Bias",
  "attnWeight",
  "attnBias",
  "projWeight",
  "projBias",
  "ln2Weight",
  "ln2Bias",
  "fcWeight",
  "fcBias",
  "fcProjWeight",
  "fcProjBias",
];

/**
 * One decoder block for inference (no gradient): x [B, T, C] → the block's output, with the layer's cache
 * extended as in fusedAttentionInference (the same `cache` settings).
 */
export function fusedBlockInference(
  x: tf.Tensor3D,
  w: BlockWeights,
  pastKey: tf.Tensor4D,
  pastValue: tf.Tensor4D,
  mask: tf.Tensor,
  settings: { nHead: number; eps: number; length?: number; capacity?: number; inPlace?: boolean; keepCache?: boolean },
): { out: tf.Tensor3D; key: tf.Tensor4D; value: tf.Tensor4D } {
  const inputs = { x, ...w, pastKey, pastValue, mask } as unknown as tf.NamedTensorMap;
  const outputs = [run(names.BLOCK_INFERENCE, inputs, { scale: 1 / Math.sqrt(x.shape[2] / settings.nHead), ...settings })].flat();
  if (outputs.length === 1) return { out: outputs[0] as tf.Tensor3D, key: pastKey, value: pastValue };
  return { out: outputs[0] as tf.Tensor3D, key: outputs[1] as tf.Tensor4D, value: outputs[2] as tf.Tensor4D };
}

/** True while tfjs records operations for a gradient (inside tf.grad, variableGrads, …). */
export function recordingGradients(): boolean {
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

/** What one AdamW step shares across the weights. */
export interface AdamWScalars {
  beta1: number;
  beta2: number;
  eps: number;
  /** √(1 − β2ᵗ). */
  sqrtBias2: number;
}

/** One weight of an AdamW step: its tensors and its own rates. */
export interface AdamWWeight {
  param: tf.Tensor;
  grad: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
  /** Multiplier of the weight before the update: 1 − lr·weight_decay (or 1). */
  decay: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
}

/**
 * One AdamW step of every weight in one kernel → per weight [new weight, m, v], where m and v are the tensors
 * passed in, their values overwritten with the new moments: the caller must own them alone (an optimiser's
 * moment variables; not a tensor that shares its data with a clone).
 */
export function fusedAdamWUpdates(weights: readonly AdamWWeight[], s: AdamWScalars): tf.Tensor[][] {
  const inputs: tf.NamedTensorMap = {};
  weights.forEach((w, i) => Object.assign(inputs, { [`p${i}`]: w.param, [`g${i}`]: w.grad, [`m${i}`]: w.m, [`v${i}`]: w.v }));
  const rates = { decay: weights.map((w) => w.decay), stepSize: weights.map((w) => w.stepSize) };
  const params = run(names.ADAMW_UPDATE, inputs, { ...s, ...rates }) as tf.Tensor[];
  return weights.map((w, i) => [params[i], w.m, w.v]);
}

// --- gradients (registered once for every backend; used only where the forward kernel ran) ---

/** The upstream gradient of output `i` (tfjs passes an array for multi-output kernels). */
function upstream(dy: tf.Tensor | tf.Tensor[], i: number): tf.Tensor {
  return Array.isArray(dy) ? dy[i] : dy;
}

tf.registerGradient({
  kernelName: names.GELU_NEW,
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => ({ x: () => run(names.GELU_NEW_GRAD, { x: saved[0], dy: upstream(dy, 0) }) as tf.Tensor }),
});

tf.registerGradient({
  kernelName: names.LAYER_NORM,
  inputsToSave: ["x", "weight"],
  outputsToSave: [false, true, true],
  gradFunc: (dy, saved) => {
    const [x, weight, mean, rstd] = saved;
    // One kernel computes all three gradients; computed here, not inside the
    // per-input closures, because tfjs runs each closure in its own tidy.
    const [dx, dWeight, dBias] = run(names.LAYER_NORM_GRAD, { x, weight, mean, rstd, dy: upstream(dy, 0) }) as tf.Tensor[];
    return { x: () => dx, weight: () => dWeight, bias: () => dBias };
  },
});

tf.registerGradient({
  kernelName: names.CROSS_ENTROPY,
  inputsToSave: ["logits", "targets"],
  outputsToSave: [true, false],
  gradFunc: (dy, saved) => {
    const [logits, targets, lse] = saved;
    const dLogits = run(names.CROSS_ENTROPY_GRAD, { logits, targets, lse, dLse: upstream(dy, 0), dLoss: upstream(dy, 1) });
    return { logits: () => dLogits as tf.Tensor, targets: () => tf.zerosLike(targets) };
  },
});

tf.registerGradient({
  kernelName: names.MASKED_SOFTMAX,
  inputsToSave: ["mask"],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [mask, p] = saved;
    const scale = (attrs as { scale: number }).scale;
    const dp = upstream(dy, 0);
    return {
      scores: () => run(names.MASKED_SOFTMAX_GRAD, { p, dp }, { scale }) as tf.Tensor,
      // The mask enters unscaled; sum over the axes it was broadcast along ([T, S]: batch and heads; [B, 1, T, S]: heads).
      mask: () => {
        const dMask = run(names.MASKED_SOFTMAX_GRAD, { p, dp }, { scale: 1 }) as tf.Tensor;
        return mask.rank === 2 ? tf.sum(dMask, [0, 1]) : tf.sum(dMask, 1, true);
      },
    };
  },
});

tf.registerGradient({
  kernelName: names.ATTENTION,
  inputsToSave: ["qkv", "mask"],
  gradFunc: (dy, saved, attrs) => {
    const [qkv, mask] = saved;
    return {
      qkv: () => run(names.ATTENTION_GRAD, { qkv, mask, dOut: upstream(dy, 0) }, attrs as Record<string, unknown>) as tf.Tensor,
      mask: () => {
        throw new Error(`${names.ATTENTION}: no gradient with respect to the attention mask (the tfjs composite has one)`);
      },
    };
  },
});

/**
 * The gradients of x·W + b (`LINEAR`) and of x·Wᵀ (`MATMUL_TRANSPOSE_B`: W stored transposed, no bias): one kernel where it runs (see
 * linearGradFused), else tfjs' own gradients of the product (and the bias' row sum).
 */
function registerLinearGradient(kernelName: string, wTransposed: boolean): void {
  tf.registerGradient({
    kernelName,
    inputsToSave: ["x", "weight"],
    gradFunc: (dy, saved) => {
      const [x, weight] = saved;
      const g = upstream(dy, 0);
      const bias = !wTransposed;
      if (linearGradFused(x, weight)) {
        const [dx, dWeight, dBias] = run(names.LINEAR_GRAD, { x, weight, dy: g }, { bias, wTransposed }) as tf.Tensor[];
        return { x: () => dx, weight: () => dWeight, ...(bias ? { bias: () => dBias } : {}) };
      }
      return wTransposed
        ? { x: () => tf.matMul(g, weight), weight: () => tf.matMul(g, x, true, false) }
        : { x: () => tf.matMul(g, weight, false, true), weight: () => tf.matMul(x, g, true, false), bias: () => tf.sum(g, 0) };
    },
  });
}
registerLinearGradient(names.LINEAR, false);
registerLinearGradient(names.MATMUL_TRANSPOSE_B, true);

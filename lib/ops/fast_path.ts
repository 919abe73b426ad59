/**
 * The one place that maps an op of the model to its fast implementation.
 *
 * lib/gpt2 writes each op as the math, in tfjs ops (the reference, which runs
 * on every backend), and wraps it with `withFastPath(name, reference)`. At
 * each call the wrapper takes the first fast implementation listed here that
 * is available on the active backend and applies to the arguments, or else
 * runs the reference. The fast implementations are the project's native
 * kernels (lib/fast, registered on the wasm backend by `initBackend`) and
 * matmul arrangements that suit a backend; tests/native_kernels_test.ts checks
 * each against its reference (values and gradients).
 */
import { tf } from "../tf.ts";
import { blasMatMulActive } from "../fast/blas_matmul_kernel.ts";
import {
  type AdamWScalars,
  fusedAdamWUpdate,
  fusedAttention,
  fusedAttentionInference,
  fusedCrossEntropyRows,
  fusedGeluNew,
  fusedGlobalNorm,
  fusedKernelAvailable,
  fusedLayerNorm,
  fusedLinear,
  fusedMaskedSoftmax,
  recordingGradients,
} from "../fast/fused_ops.ts";
import * as kernels from "../fast/kernel_names.ts";
import type { LayerCache } from "./kv_cache.ts";

/** What causal self-attention after the qkv projection takes. */
export interface AttendInputs {
  /** The qkv projection of the block input, [B·T, 3C]. */
  readonly qkv: tf.Tensor2D;
  readonly batch: number;
  readonly nHead: number;
  /** Keys/values of earlier positions (generation), or undefined. */
  readonly past?: LayerCache;
  /** Additive mask [T, S] or [B, 1, T, S] (0 = attend, a large negative number = do not), S = past + T. */
  readonly mask: tf.Tensor;
  /** Dropout rate on the attention weights (0 when not training). */
  readonly dropoutRate: number;
  readonly seed?: number;
  /** Return this layer's keys and values. */
  readonly keepCache: boolean;
}

/** The heads' outputs merged, [B·T, C], and (when kept) the keys and values including the new positions. */
export interface AttendOutput {
  readonly heads: tf.Tensor2D;
  readonly present?: LayerCache;
}

/** The signature of every op that has a fast path. */
export interface FastPathOps {
  layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor;
  geluNew(x: tf.Tensor): tf.Tensor;
  /** y = x·W + b, x [N, K], W [K, M] (HF Conv1D). */
  linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D;
  /** a·bᵀ, a [M, K], b [N, K] (the tied LM head). */
  matMulTransposeB(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D;
  attend(inp: AttendInputs): AttendOutput;
  /** softmax(scale·scores + mask) over the keys, [B, H, T, S]. */
  maskedSoftmax(scores: tf.Tensor4D, mask: tf.Tensor, scale: number): tf.Tensor4D;
  /** Per-row cross-entropy lse(z) − z[target] of logits [N, V] against int32 targets [N] → [N]. */
  crossEntropyRows(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D;
  /** One AdamW step of one weight → [new weight, new first moment, new second moment]. */
  adamWUpdate(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: AdamWScalars): tf.Tensor[];
  /** √(Σ_i Σ x_i²) over tensors (the global gradient norm). */
  globalNorm(tensors: readonly tf.Tensor[]): tf.Scalar;
}

export type OpName = keyof FastPathOps;

interface FastImplementation<F extends (...args: never[]) => unknown> {
  /** What it is, for readers and profiles. */
  readonly what: string;
  readonly applies: (...args: Parameters<F>) => boolean;
  readonly run: F;
}

type FastPathTable = { readonly [K in OpName]: readonly FastImplementation<FastPathOps[K]>[] };

const has = (kernel: string) => () => fusedKernelAvailable(kernel);

/**
 * a·b for 2-D operands with a gradient made of non-transposed products (da = dy·bᵀ, db = aᵀ·dy with explicit
 * transposes): tfjs' own matMul gradient uses transposed products, which the stock wasm backend runs ~10×
 * slower than plain ones (they miss its XNNPACK path); an explicit transpose is cheap by comparison.
 */
function matMulPlainGradient(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const product = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w] = args as [tf.Tensor2D, tf.Tensor2D];
    (args[2] as tf.GradSaveFunc)([x, w]);
    return {
      value: tf.matMul(x, w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sw)), tf.matMul(tf.transpose(sx), dy as tf.Tensor2D)];
      },
    };
  });
  return product(a, b) as tf.Tensor2D;
}

/** Width of one attention head: the qkv projection is [B·T, 3 · heads · head size]. */
const headSize = (inp: AttendInputs) => inp.qkv.shape[1] / 3 / inp.nHead;

/** Without BLAS behind matMul (where transposed products are slow), products keep to the plain arrangement. */
const withoutBlas = () => !blasMatMulActive();

export const FAST_PATHS: FastPathTable = {
  layerNorm: [{ what: "native LayerNorm (one pass, and one for the gradient)", applies: has(kernels.LAYER_NORM), run: fusedLayerNorm }],
  geluNew: [{ what: "native gelu_new", applies: has(kernels.GELU_NEW), run: fusedGeluNew }],
  linear: [
    { what: "native linear: BLAS accumulates onto the copied bias", applies: has(kernels.LINEAR), run: fusedLinear },
    {
      what: "matmul with a plain-product gradient",
      applies: withoutBlas,
      run: (x, weight, bias) => tf.tidy(() => tf.add(matMulPlainGradient(x, weight), bias)),
    },
  ],
  matMulTransposeB: [
    { what: "an explicit transpose, then a plain product", applies: withoutBlas, run: (a, b) => matMulPlainGradient(a, tf.transpose(b)) },
  ],
  attend: [
    {
      what: "native inference attention: cache append, masked softmax and p·v in one kernel",
      applies: (inp) => inp.dropoutRate === 0 && !recordingGradients() && fusedKernelAvailable(kernels.ATTENTION_INFERENCE),
      run: (inp) => {
        const hs = headSize(inp);
        const empty = () => tf.zeros([inp.batch, inp.nHead, 0, hs]) as tf.Tensor4D;
        const past = inp.past ?? { key: empty(), value: empty() };
        const fused = fusedAttentionInference(inp.qkv, past.key, past.value, inp.mask, 1 / Math.sqrt(hs));
        return { heads: fused.out, present: { key: fused.key, value: fused.value } };
      },
    },
    {
      what: "native training attention (and its gradient), skipping the keys a causal row cannot see",
      applies: (inp) => inp.dropoutRate === 0 && !inp.past && !inp.keepCache && fusedKernelAvailable(kernels.ATTENTION),
      run: (inp) => ({ heads: fusedAttention(inp.qkv, inp.mask, inp.nHead, 1 / Math.sqrt(headSize(inp))) }),
    },
  ],
  maskedSoftmax: [{ what: "native masked softmax", applies: has(kernels.MASKED_SOFTMAX), run: fusedMaskedSoftmax }],
  crossEntropyRows: [
    {
      what: "native cross-entropy (one pass per row, and one for the gradient)",
      applies: has(kernels.CROSS_ENTROPY),
      run: fusedCrossEntropyRows,
    },
  ],
  adamWUpdate: [{ what: "native AdamW (one pass per weight)", applies: has(kernels.ADAMW_UPDATE), run: fusedAdamWUpdate }],
  globalNorm: [
    {
      what: "native sum of squares over every tensor in one call",
      applies: (tensors) => fusedKernelAvailable(kernels.GLOBAL_NORM) && tensors.every((t) => t.dtype === "float32"),
      run: fusedGlobalNorm,
    },
  ],
};

/** An op that runs its fast path where one applies; `reference` is the math itself (for tests and readers). */
export type WithFastPath<K extends OpName> = FastPathOps[K] & { readonly reference: FastPathOps[K] };

/** Wraps the reference implementation of `op` so that each call takes the first fast path that applies. */
export function withFastPath<K extends OpName>(op: K, reference: FastPathOps[K]): WithFastPath<K> {
  const paths = FAST_PATHS[op] as readonly FastImplementation<(...args: unknown[]) => unknown>[];
  const dispatch = (...args: unknown[]) => {
    for (const path of paths) if (path.applies(...args)) return path.run(...args);
    return (reference as (...args: unknown[]) => unknown)(...args);
  };
  return Object.assign(dispatch, { reference }) as WithFastPath<K>;
}

/**
 * The one place that maps an op to its fast implementation.
 *
 * The code that owns an op (lib/gpt2, lib/train, lib/generate) writes it as
 * the math, in tfjs ops or plain JavaScript (the reference, which runs
 * everywhere), and wraps it with `withFastPath(name, reference)`. At each call
 * the wrapper takes the first fast implementation listed here that is
 * available in this process and accepts the arguments, or else runs the
 * reference. The fast implementations are the project's native kernels
 * (lib/fast), matmul arrangements that suit a backend, and the wasm heap read
 * in place. tests/native_kernels_test.ts walks this table and checks every row
 * against its op's reference (values, and gradients where the row is taken
 * while they are recorded); a row it has no case for fails it.
 * tests/parity_paths_test.ts runs that test on every compute path (BLAS off,
 * C kernels off, cpu, …), so rows this process does not use are checked too.
 *
 * Only one other module reaches lib/fast: `initBackend` (lib/backend.ts) at
 * start-up, which loads BLAS and the C kernels and registers tfjs kernels on
 * the wasm backend: the fused ones this table calls, and drop-in replacements
 * of stock kernels (BatchMatMul on BLAS, Transpose, Sum, Add, GatherV2,
 * Unpack, Identity) that every tfjs op then uses without asking.
 * tests/architecture_test.ts keeps it so.
 */
import { tf } from "../tf.ts";
import { blasMatMulActive, MIN_MACS as BLAS_MIN_MACS } from "../fast/blas_matmul_kernel.ts";
import { nativeSampleSoftmaxRows, nativeSamplingAvailable } from "../fast/native_sampling.ts";
import { float32HeapView } from "../fast/wasm_heap.ts";
import {
  type AdamWScalars,
  type AdamWWeight,
  type BlockWeights,
  fusedAdamWUpdates,
  fusedAttention,
  fusedAttentionInference,
  fusedBlockInference,
  fusedCrossEntropyRows,
  fusedGeluNew,
  fusedGlobalNorm,
  fusedKernelAvailable,
  fusedLayerNorm,
  fusedLinear,
  fusedMaskedSoftmax,
  fusedMatMulTransposeB,
  fusedRowEntropy,
  recordingGradients,
} from "../fast/fused_ops.ts";
import * as kernels from "../fast/kernel_names.ts";
import { cacheLength, type LayerCache } from "./kv_cache.ts";

/** The attention's cache, mask and dropout: what `attend` and `decoderBlock` both take. */
export interface AttentionSettings {
  /** Keys/values of earlier positions (generation), or undefined. */
  readonly past?: LayerCache;
  /** Additive mask [T, S] or [B, 1, T, S] (0 = attend, a large negative number = do not), S = past + T. */
  readonly mask: tf.Tensor;
  /** Dropout rate on the attention weights (0 when not training). */
  readonly dropoutRate: number;
  readonly seed?: number;
  /** Return this layer's keys and values. */
  readonly keepCache: boolean;
  /**
   * Positions the returned cache should hold (generation: prompt + new tokens). Set, the cache gets that room
   * once and later steps append to it in place, without copying the past; a cache so extended must not be
   * extended twice from the same point. Unset, every step returns a new cache of exactly its length.
   */
  readonly cacheCapacity?: number;
}

/** What causal self-attention after the qkv projection takes. */
export interface AttendInputs extends AttentionSettings {
  /** The qkv projection of the block input, [B·T, 3C]. */
  readonly qkv: tf.Tensor2D;
  readonly batch: number;
  readonly nHead: number;
}

/** The heads' outputs merged, [B·T, C], and (when kept) the keys and values including the new positions. */
export interface AttendOutput {
  readonly heads: tf.Tensor2D;
  readonly present?: LayerCache;
}

export type { BlockWeights };

/**
 * What one decoder block takes: its input [B, T, C], its weights, and the attention's settings (`seed` is the
 * attention weights' dropout seed; its output takes seed + 1, the MLP output seed + 2).
 */
export interface BlockInputs extends AttentionSettings {
  readonly x: tf.Tensor3D;
  readonly weights: BlockWeights;
  readonly nHead: number;
  /** LayerNorm's epsilon. */
  readonly eps: number;
}

/** The block's output [B, T, C] and (when kept) the layer's keys and values including the new positions. */
export interface BlockOutput {
  readonly x: tf.Tensor3D;
  readonly present?: LayerCache;
}

/** A token drawn from a row of logits, with its log-probability under the distribution it was drawn from. */
export interface SampledToken {
  readonly token: number;
  readonly logprob: number;
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
  decoderBlock(inp: BlockInputs): BlockOutput;
  /** softmax(scale·scores + mask) over the keys, [B, H, T, S]. */
  maskedSoftmax(scores: tf.Tensor4D, mask: tf.Tensor, scale: number): tf.Tensor4D;
  /** Per-row cross-entropy lse(z) − z[target] of logits [N, V] against int32 targets [N] → [N]. */
  crossEntropyRows(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D;
  /** Entropy of softmax(scale · logits) per row of logits [N, V] → [N]. */
  rowEntropy(logits: tf.Tensor2D, scale: number): tf.Tensor1D;
  /**
   * One AdamW step of each weight → per weight [new weight, new first moment, new second moment]. A fast
   * implementation may return the moment tensors it was given, updated in place (so pass moments nothing else holds).
   */
  adamWUpdates(weights: readonly AdamWWeight[], s: AdamWScalars): tf.Tensor[][];
  /** √(Σ_i Σ x_i²) over tensors (the global gradient norm). */
  globalNorm(tensors: readonly tf.Tensor[]): tf.Scalar;
  /**
   * Plain sampling, softmax(logits / temperature) with nothing truncated, of each row of a [n, V] block of
   * logits (row i at logits[i·V …]) with the uniform number uniforms[i] in [0, 1); a row whose uniform is
   * undefined is skipped. Plain arrays, not tensors: `logits` may be a view of the wasm heap (see float32View).
   */
  sampleSoftmaxRows(
    logits: Float32Array,
    vocabSize: number,
    uniforms: readonly (number | undefined)[],
    temperature: number,
  ): (SampledToken | undefined)[];
  /**
   * A float32 tensor's values read where they lie, without a copy, valid only until the next tfjs call (which
   * may move or free them); undefined where there is no such view (tfjs itself has none: read a copy with `data()`).
   */
  float32View(t: tf.Tensor): Float32Array | undefined;
}

export type OpName = keyof FastPathOps;

/** One row of the table: a fast implementation of an op, and when it is taken. */
export interface FastImplementation<F extends (...args: never[]) => unknown> {
  /** What it is, for readers and profiles. */
  readonly what: string;
  /** Whether this process uses it: its kernel is registered on the active backend, BLAS is loaded or not, … */
  readonly available: () => boolean;
  /** Whether it handles these arguments (dtypes, dropout, a cache, a gradient being recorded, …). */
  readonly accepts: (...args: Parameters<F>) => boolean;
  readonly run: F;
}

type FastPathTable = { readonly [K in OpName]: readonly FastImplementation<FastPathOps[K]>[] };

const has = (kernel: string) => () => fusedKernelAvailable(kernel);
const always = () => true;

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

/**
 * An inference kernel's call with the layer's cache (RlhfAttentionInference, RlhfBlockInference): an empty past
 * of the right shape when there is none, the cache settings `inp` asks for, and of what comes back only the
 * keys and values asked for are kept (the caller's past stays the caller's; an empty stand-in or a cache nobody
 * asked for is disposed here).
 */
function withInferenceCache<T extends tf.Tensor>(
  inp: AttentionSettings & { readonly nHead: number },
  batch: number,
  newPositions: number,
  hs: number,
  call: (
    past: { key: tf.Tensor4D; value: tf.Tensor4D },
    cache: { length: number; capacity?: number; inPlace: boolean; keepCache: boolean },
  ) => { out: T; key: tf.Tensor4D; value: tf.Tensor4D },
): { out: T; present?: LayerCache } {
  const empty = () => tf.zeros([batch, inp.nHead, 0, hs]) as tf.Tensor4D;
  const past = inp.past ?? { key: empty(), value: empty() };
  const length = cacheLength(inp.past ? [inp.past] : undefined);
  const inPlace = inp.keepCache && inp.cacheCapacity !== undefined;
  const fused = call(past, { length, capacity: inp.cacheCapacity, inPlace, keepCache: inp.keepCache });
  const present = inp.keepCache ? { key: fused.key, value: fused.value, length: length + newPositions } : undefined;
  const kept = new Set<tf.Tensor>([inp.past?.key, inp.past?.value, present?.key, present?.value].filter((t) => t !== undefined));
  tf.dispose([...new Set([past.key, past.value, fused.key, fused.value])].filter((t) => !kept.has(t)));
  return { out: fused.out, present };
}

/** Without BLAS behind matMul (where transposed products are slow), products keep to the plain arrangement. */
const withoutBlas = () => !blasMatMulActive();

export const FAST_PATHS: FastPathTable = {
  layerNorm: [
    {
      what: "native LayerNorm (one pass, and one for the gradient)",
      available: has(kernels.LAYER_NORM),
      accepts: always,
      run: fusedLayerNorm,
    },
  ],
  geluNew: [{ what: "native gelu_new", available: has(kernels.GELU_NEW), accepts: always, run: fusedGeluNew }],
  linear: [
    { what: "native linear: BLAS accumulates onto the copied bias", available: has(kernels.LINEAR), accepts: always, run: fusedLinear },
    {
      what: "matmul with a plain-product gradient",
      available: withoutBlas,
      accepts: always,
      run: (x, weight, bias) => tf.tidy(() => tf.add(matMulPlainGradient(x, weight), bias)),
    },
  ],
  matMulTransposeB: [
    {
      what: "native product on the BLAS, its two gradients side by side in one kernel",
      available: has(kernels.MATMUL_TRANSPOSE_B),
      // below this tfjs' BatchMatMul leaves the product to wasm's own kernel (other sums): so does this path
      accepts: (a, b) => a.shape[0] * b.size >= BLAS_MIN_MACS,
      run: fusedMatMulTransposeB,
    },
    {
      what: "an explicit transpose, then a plain product",
      available: withoutBlas,
      accepts: always,
      run: (a, b) => matMulPlainGradient(a, tf.transpose(b)),
    },
  ],
  attend: [
    {
      what: "native inference attention: cache append (in place when the cache has room), masked softmax and p·v in one kernel",
      available: has(kernels.ATTENTION_INFERENCE),
      accepts: (inp) => inp.dropoutRate === 0 && !recordingGradients(),
      run: (inp) => {
        const hs = headSize(inp);
        const { out, present } = withInferenceCache(
          inp,
          inp.batch,
          inp.qkv.shape[0] / inp.batch,
          hs,
          (past, cache) => fusedAttentionInference(inp.qkv, past.key, past.value, inp.mask, 1 / Math.sqrt(hs), cache),
        );
        return { heads: out, present };
      },
    },
    {
      what: "native training attention (and its gradient), skipping the keys a causal row cannot see",
      available: has(kernels.ATTENTION),
      accepts: (inp) => inp.dropoutRate === 0 && !inp.past && !inp.keepCache,
      run: (inp) => ({ heads: fusedAttention(inp.qkv, inp.mask, inp.nHead, 1 / Math.sqrt(headSize(inp))) }),
    },
  ],
  decoderBlock: [
    {
      what: "native decoder block for inference: its LayerNorms, products, attention, GELU and residuals in one kernel",
      available: has(kernels.BLOCK_INFERENCE),
      accepts: (inp) => inp.dropoutRate === 0 && !recordingGradients(),
      run: (inp) => {
        const [B, T, C] = inp.x.shape;
        const { out, present } = withInferenceCache(
          inp,
          B,
          T,
          C / inp.nHead,
          (past, cache) =>
            fusedBlockInference(inp.x, inp.weights, past.key, past.value, inp.mask, { nHead: inp.nHead, eps: inp.eps, ...cache }),
        );
        return { x: out, present };
      },
    },
  ],
  maskedSoftmax: [{ what: "native masked softmax", available: has(kernels.MASKED_SOFTMAX), accepts: always, run: fusedMaskedSoftmax }],
  crossEntropyRows: [
    {
      what: "native cross-entropy (one pass per row, and one for the gradient)",
      available: has(kernels.CROSS_ENTROPY),
      accepts: always,
      run: fusedCrossEntropyRows,
    },
  ],
  rowEntropy: [
    {
      what: "native entropy of each row's softmax (one pass after the max; no gradient, so not while one is recorded)",
      available: has(kernels.ROW_ENTROPY),
      accepts: () => !recordingGradients(),
      run: fusedRowEntropy,
    },
  ],
  adamWUpdates: [{
    what: "native AdamW (every weight in one call, one pass over each; the moments updated in place)",
    available: has(kernels.ADAMW_UPDATE),
    accepts: always,
    run: fusedAdamWUpdates,
  }],
  globalNorm: [
    {
      what: "native sum of squares over every tensor in one call",
      available: has(kernels.GLOBAL_NORM),
      accepts: (tensors) => tensors.every((t) => t.dtype === "float32"),
      run: fusedGlobalNorm,
    },
  ],
  sampleSoftmaxRows: [
    {
      what: "native sampling of every row in one call (the same walk, in C)",
      available: nativeSamplingAvailable,
      accepts: always,
      run: nativeSampleSoftmaxRows,
    },
  ],
  float32View: [
    {
      what: "a view of the tensor's place in the wasm heap",
      available: () => tf.getBackend() === "wasm",
      accepts: (t) => t.dtype === "float32",
      run: float32HeapView,
    },
  ],
};

/** An op that runs its fast path where one applies; `reference` is the math itself (for tests and readers). */
export type WithFastPath<K extends OpName> = FastPathOps[K] & { readonly reference: FastPathOps[K] };

/** Wraps the reference implementation of `op` so that each call takes the first fast path that is available and accepts the arguments. */
export function withFastPath<K extends OpName>(op: K, reference: FastPathOps[K]): WithFastPath<K> {
  const paths = FAST_PATHS[op] as readonly FastImplementation<(...args: unknown[]) => unknown>[];
  const dispatch = (...args: unknown[]) => {
    for (const path of paths) if (path.available() && path.accepts(...args)) return path.run(...args);
    return (reference as (...args: unknown[]) => unknown)(...args);
  };
  return Object.assign(dispatch, { reference }) as WithFastPath<K>;
}

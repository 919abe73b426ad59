/**
 * The system BLAS through Deno FFI: `cblas_sgemm` from OpenBLAS (Debian
 * `libopenblas0-pthread` / `-openmp`) or Apple Accelerate. Measured on the
 * project's 2-core machines at this model's shapes: 170–280 GFLOP/s, against
 * 26–33 for tfjs-wasm's XNNPACK matmul and ~2.5 for its transposed/batched one.
 * Missing library, or no --allow-ffi: `loadBlas()` returns undefined and
 * callers keep the stock kernels.
 */

const CANDIDATES = [
  "libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/System/Library/Frameworks/Accelerate.framework/Accelerate",
];

const SYMBOLS = {
  // void cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
  cblas_sgemm: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "f32", "buffer", "i32", "buffer", "i32", "f32", "buffer", "i32"],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
} as const;

const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

export interface Blas {
  /** Where the library was found. */
  readonly path: string;
  /** True when the products run on the native kernels' thread pool (pooled_blas.ts), not the library's own threads. */
  readonly pooled?: boolean;
  /** C = op(A)·op(B) for row-major float32 matrices (views into any buffer). */
  sgemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    /** C = op(A)·op(B) + beta·C; 0 overwrites C. @default 0 */
    beta?: number,
  ): void;
  /** y [M, N] = x [M, K]·w [K, N] + bias [N] in one call, where the library offers it (pooled_blas.ts). */
  linear?(M: number, N: number, K: number, x: Float32Array, w: Float32Array, bias: Float32Array, y: Float32Array): void;
  /**
   * The gradients of y = x·W + b (x [rows, K], W [K, M], or [M, K] when `wTransposed`: y = x·Wᵀ) in one call,
   * where the library offers it (pooled_blas.ts): dx = dy·Wᵀ, dw = xᵀ·dy (dyᵀ·x when transposed), db = Σ_rows dy
   * (db null: no bias). The same sums as those products and that row sum one by one.
   */
  linearGrad?(
    rows: number,
    K: number,
    M: number,
    wTransposed: boolean,
    x: Float32Array,
    w: Float32Array,
    dy: Float32Array,
    dx: Float32Array,
    dw: Float32Array,
    db: Float32Array | null,
  ): void;
}

/**
 * OpenBLAS picks its kernels from the CPU's identity. On the project's
 * virtual machines (AVX-512 Xeons that report an unknown model) Debian's
 * OpenBLAS 0.3.21 falls back to its generic "Prescott" kernels: ~30 GFLOP/s
 * instead of ~190. When the user has not chosen (OPENBLAS_CORETYPE unset),
 * pick the kernel family from the CPU flags the kernel reports. The parity and
 * BLAS tests check the results on this path.
 */
export function chooseOpenBlasCoreType(): string | undefined {
  if (Deno.env.get("OPENBLAS_CORETYPE")) return Deno.env.get("OPENBLAS_CORETYPE");
  let flags = "";
  try {
    flags = Deno.readTextFileSync("/proc/cpuinfo").match(/^flags\s*:(.*)$/m)?.[1] ?? "";
  } catch {
    return undefined; // not Linux: OpenBLAS' own detection (or Accelerate) applies
  }
  const has = (flag: string) => new RegExp(`\\b${flag}\\b`).test(flags);
  const core = has("avx512f") && has("avx512bw") && has("avx512vl") ? "SkylakeX" : has("avx2") && has("fma") ? "Haswell" : undefined;
  if (core) Deno.env.set("OPENBLAS_CORETYPE", core); // read by OpenBLAS when it is loaded, below
  return core;
}

let cached: Blas | undefined | null = null;

/** Products with fewer multiply-adds than this run on one thread. */
const SINGLE_THREAD_MACS = Number(Deno.env.get("RLHF_BLAS_SINGLE_THREAD_MACS") ?? 1 << 20);

/** Opens the system BLAS once; undefined when unavailable. `RLHF_BLAS_LIB` names a library file. */
export function loadBlas(): Blas | undefined {
  if (cached !== null) return cached;
  cached = undefined;
  const forced = Deno.env.get("RLHF_BLAS_LIB");
  chooseOpenBlasCoreType();
  for (const path of forced ? [forced] : CANDIDATES) {
    try {
      const lib = Deno.dlopen(path, SYMBOLS);
      const maxThreads = Number(Deno.env.get("OPENBLAS_NUM_THREADS")) || navigator.hardwareConcurrency || 1;
      const setThreads = lib.symbols.openblas_set_num_threads;
      let threads = 0;
      const sgemm = lib.symbols.cblas_sgemm;
      cached = {
        path,
        sgemm(transA, transB, M, N, K, a, b, c, beta = 0) {
          // Waking a second thread costs more than it saves on small products
          // (measured: 128×128×32 takes 26 µs on 2 threads, 12 µs on 1).
          const wanted = M * N * K < SINGLE_THREAD_MACS ? 1 : maxThreads;
          if (setThreads && wanted !== threads) setThreads(threads = wanted);
          const lda = transA ? M : K; // A is stored [K, M] when transposed, else [M, K]
          const ldb = transB ? K : N; // B is stored [N, K] when transposed, else [K, N]
          sgemm(
            CBLAS_ROW_MAJOR,
            transA ? CBLAS_TRANS : CBLAS_NO_TRANS,
            transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
            M,
            N,
            K,
            1,
            a,
            lda,
            b,
            ldb,
            beta,
            c,
            N,
          );
        },
      };
      break;
    } catch {
      // Not here (or FFI not permitted): try the next one.
    }
  }
  return cached;
}

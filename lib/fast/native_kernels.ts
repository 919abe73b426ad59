/**
 * The project's own C kernels (lib/fast/native/kernels.c), compiled on this
 * machine with the system C compiler and opened through Deno FFI.
 *
 * The library is built once per version of the source: its file name carries
 * a hash of kernels.c and the compiler flags, so an edited kernel is rebuilt
 * and a stale one is never loaded. The build writes to a temporary name and
 * renames, so an interrupted build leaves nothing half-written. No compiler,
 * a failed build, or no --allow-ffi / --allow-run: `loadNativeKernels()`
 * returns undefined (with the reason) and tfjs' own kernels are used.
 * `RLHF_NATIVE_KERNELS=0` turns them off.
 */
import { hashText } from "../hash.ts";
import { setNativeSampler } from "./native_sampling.ts";

const SOURCE = new URL("./native/kernels.c", import.meta.url);
const BUILD_DIR = new URL("./native/build/", import.meta.url);

const SYMBOLS = {
  gelu_new_forward: { parameters: ["buffer", "buffer", "i32"], result: "void" },
  gelu_new_backward: { parameters: ["buffer", "buffer", "buffer", "i32"], result: "void" },
  layer_norm_forward: {
    parameters: ["buffer", "buffer", "buffer", "i32", "i32", "f32", "buffer", "buffer", "buffer"],
    result: "void",
  },
  layer_norm_backward: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "i32", "i32", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  cross_entropy_forward: { parameters: ["buffer", "buffer", "i32", "i32", "buffer", "buffer"], result: "void" },
  row_entropy: { parameters: ["buffer", "i32", "i32", "f32", "buffer"], result: "void" },
  cross_entropy_backward: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "i32", "i32", "buffer"],
    result: "void",
  },
  sample_softmax_rows: { parameters: ["buffer", "buffer", "i32", "i32", "f32", "buffer", "buffer"], result: "void" },
  sum_of_squares: { parameters: ["buffer", "i32"], result: "f64" },
  add_arrays: { parameters: ["buffer", "buffer", "i32", "buffer"], result: "void" },
  sum_middle_axes: { parameters: ["buffer", "i32", "i32", "i32", "buffer"], result: "i32" },
  transpose_4byte: { parameters: ["buffer", "buffer", "i32", "buffer", "buffer"], result: "void" },
  // indices, updates, N, W, V, out
  scatter_add_rows: { parameters: ["buffer", "buffer", "i32", "i32", "i32", "buffer"], result: "void" },
  masked_softmax_forward: {
    parameters: ["buffer", "buffer", "i32", "i32", "i32", "i32", "i32", "f32", "buffer"],
    result: "void",
  },
  masked_softmax_backward: { parameters: ["buffer", "buffer", "i32", "i32", "f32", "buffer"], result: "void" },
  attention_inference: {
    // qkv, past_k, past_v, past_cap, mask, B, T, P, H, hs, mask_batch, scale, new_k, new_v, new_cap, keep_cache, out
    parameters: [
      "buffer",
      "buffer",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "buffer",
      "i32",
      "i32",
      "buffer",
    ],
    result: "void",
  },
  kernel_threads: { parameters: ["i32"], result: "void" },
  bind_blas: { parameters: ["buffer"], result: "i32" },
  parallel_sgemm: {
    // transA, transB, M, N, K, a, b, beta, c, threads
    parameters: ["i32", "i32", "i32", "i32", "i32", "buffer", "buffer", "f32", "buffer", "i32"],
    result: "void",
  },
  parallel_linear: {
    // M, N, K, x, w, bias, y, threads
    parameters: ["i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer", "i32"],
    result: "void",
  },
  linear_backward: {
    // rows, K, M, wTransposed, x, w, dy, dx, dw, db (null: no bias), threads
    parameters: ["i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  // pointers (19, as u64), sizes (11 int32), scale, eps: a call of 32 arguments crashed V8's fast FFI path
  block_inference: { parameters: ["buffer", "buffer", "f32", "f32"], result: "i32" },
  attention_train_forward: { parameters: ["buffer", "buffer", "i32", "i32", "i32", "i32", "i32", "f32", "i32", "buffer"], result: "i32" },
  attention_train_backward: {
    parameters: ["buffer", "buffer", "buffer", "i32", "i32", "i32", "i32", "i32", "f32", "i32", "buffer"],
    result: "i32",
  },
  // pointers (7 per weight: p, g, m, v, p_out, m_out, v_out), sizes, scalars (decay, step size per weight), count,
  // beta1, beta2, eps, sqrtBias2
  adamw_update: { parameters: ["buffer", "buffer", "buffer", "i32", "f32", "f32", "f32", "f32"], result: "void" },
} as const;

export type NativeKernels = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Compiler flag sets, tried in order (-march=native is not accepted everywhere). */
const FLAG_SETS = [
  // RLHF_NATIVE_MARCH=haswell builds for AVX2 machines on one that has AVX-512 (to measure the AVX2 path).
  ["-O3", `-march=${Deno.env.get("RLHF_NATIVE_MARCH") ?? "native"}`, "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math", "-pthread"],
  ["-O3", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math", "-pthread"],
];

let cached: { kernels?: NativeKernels; reason?: string; build?: string; path?: string } | undefined;

/** How the loaded kernels were compiled ("cc -O3 -march=native …"), or undefined when they are not in use. */
export function nativeKernelsBuild(): string | undefined {
  return cached?.build;
}

/**
 * Which kernels do the work: the C kernels' build and OpenBLAS' core type. One machine runs at different rates
 * with the AVX2 path (`RLHF_NATIVE_MARCH=haswell OPENBLAS_CORETYPE=Haswell`) and the AVX-512 build, so the
 * bench's record names it, and a rate is compared only with rates of the same kernels.
 */
export function kernelsBuild(): string {
  return `${nativeKernelsBuild() ?? "no C kernels"}; OPENBLAS_CORETYPE=${Deno.env.get("OPENBLAS_CORETYPE") ?? "unset"}`;
}

/** The file of the loaded kernels' library, or undefined when they are not in use. */
export function nativeKernelsLibraryPath(): string | undefined {
  return cached?.path;
}

/** Why the native kernels are not in use ("" when they are). */
export function nativeKernelsUnavailableReason(): string {
  return cached?.reason ?? "";
}

/** The kernels if `loadNativeKernels()` has already opened them (never builds: for code outside the backend set-up). */
export function loadedNativeKernels(): NativeKernels | undefined {
  return cached?.kernels;
}

/**
 * Threads of the kernels' pool (the calling thread included), which also runs
 * the BLAS products when the library can be bound to it (pooled_blas.ts):
 * `RLHF_THREADS`, else `OPENBLAS_NUM_THREADS`, else the machine's cores.
 */
export function kernelThreads(): number {
  const asked = Number(Deno.env.get("RLHF_THREADS") ?? Deno.env.get("OPENBLAS_NUM_THREADS"));
  return Math.max(1, Math.min(16, Math.floor(asked) || navigator.hardwareConcurrency || 1));
}

/** Builds (if needed) and opens the kernels once per process; undefined when unavailable. */
export function loadNativeKernels(): NativeKernels | undefined {
  if (cached) return cached.kernels;
  if (Deno.env.get("RLHF_NATIVE_KERNELS") === "0") {
    cached = { reason: "RLHF_NATIVE_KERNELS=0" };
    return undefined;
  }
  try {
    const { path, build } = buildLibrary();
    const kernels = Deno.dlopen(path, SYMBOLS).symbols;
    kernels.kernel_threads(kernelThreads());
    cached = { kernels, build, path };
  } catch (err) {
    cached = { reason: err instanceof Error ? err.message.split("\n")[0] : String(err) };
  }
  setNativeSampler(cached.kernels);
  return cached.kernels;
}

function buildLibrary(): { path: string; build: string } {
  const source = Deno.readTextFileSync(SOURCE);
  const ext = Deno.build.os === "darwin" ? "dylib" : "so";
  const compiler = Deno.env.get("CC") ?? "cc";
  const errors: string[] = [];
  for (const flags of FLAG_SETS) {
    const tag = hashText(`${source}\0${compiler}\0${flags.join(" ")}\0${Deno.build.target}`).toString(16).padStart(8, "0");
    const target = new URL(`librlhf_kernels-${tag}.${ext}`, BUILD_DIR).pathname;
    const build = `${compiler} ${flags.join(" ")}`;
    if (exists(target)) return { path: target, build };
    Deno.mkdirSync(BUILD_DIR, { recursive: true });
    const temp = `${target}.tmp-${Deno.pid}`;
    try {
      const out = new Deno.Command(compiler, {
        args: [...flags, "-shared", "-fPIC", "-o", temp, SOURCE.pathname],
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      if (out.success) {
        Deno.renameSync(temp, target);
        return { path: target, build };
      }
      errors.push(`${compiler} ${flags.join(" ")}: ${new TextDecoder().decode(out.stderr).trim().split("\n")[0]}`);
    } catch (err) {
      errors.push(`${compiler}: ${err instanceof Error ? err.message : err}`);
      break; // no compiler (or not allowed to run it): other flags will not help
    } finally {
      try {
        Deno.removeSync(temp);
      } catch { /* renamed or never written */ }
    }
  }
  throw new Error(`could not build lib/fast/native/kernels.c: ${errors.join("; ")}`);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Picks the fastest TensorFlow.js backend that works on this machine.
 *
 * Order: `tensorflow` from @tensorflow/tfjs-node-gpu (CUDA) → `tensorflow`
 * from @tensorflow/tfjs-node (libtensorflow on the CPU) → `wasm` (SIMD where
 * the runtime has it) → pure-JS `cpu`. The npm packages of tfjs-node(-gpu)
 * download libtensorflow in an install script; where that failed (no
 * internet) importing them throws, and we move on to the next one quietly.
 *
 * `RLHF_BACKEND=tensorflow-gpu|tensorflow|wasm|cpu` forces one (an error if it
 * cannot start). The chosen backend is printed once.
 *
 * On wasm, matrix products go to the system BLAS (OpenBLAS / Accelerate, via
 * Deno FFI) when it can be loaded; `RLHF_FAST_MATMUL=0` keeps the stock kernel.
 * The project's C kernels (lib/fast/native, built with the system compiler)
 * replace slow stock kernels and add fused ones; `RLHF_NATIVE_KERNELS=0`
 * keeps tfjs' own.
 */
import { tf } from "./tf.ts";
import { pathExists } from "./fs.ts";
import { installBlasMatMul } from "./fast/blas_matmul_kernel.ts";
import { installLinearKernel } from "./fast/wasm_linear_kernel.ts";
import { type Blas, loadBlas } from "./fast/openblas.ts";
import { blasOnKernelPool } from "./fast/pooled_blas.ts";
import { kernelThreads, loadNativeKernels, type NativeKernels, nativeKernelsUnavailableReason } from "./fast/native_kernels.ts";
import { installNativeWasmKernels } from "./fast/wasm_native_kernels.ts";
import { installSharedIdentity } from "./fast/wasm_identity.ts";
import { installWasmCopyKernels } from "./fast/wasm_copy_kernels.ts";

/** The OpenBLAS kernel family of this process, for tools that start another OpenBLAS (the PyTorch benchmark) to match it. */
export { chooseOpenBlasCoreType } from "./fast/openblas.ts";

export type BackendName = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";
/**
 * The backends `initBackend` tries, fastest first; `RLHF_BACKEND` forces one of them.
 *
 * @example
 * ```ts
 * import { BACKEND_ORDER } from "rlhf";
 * console.log(BACKEND_ORDER.join(" → ")); // "tensorflow-gpu → tensorflow → wasm → cpu"
 * ```
 */
export const BACKEND_ORDER: readonly BackendName[] = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"];

let chosen: Promise<BackendName> | undefined;

/**
 * Starts the backend once per process and returns its name. Later calls
 * return the same promise.
 *
 * @example
 * ```ts
 * import { initBackend } from "rlhf";
 * const name = await initBackend(); // prints "[rlhf] tfjs backend: wasm (SIMD)" once; name is "wasm"
 * // Await it before the first tensor: the fast kernels are registered here.
 * ```
 */
export function initBackend(options: { quiet?: boolean } = {}): Promise<BackendName> {
  chosen ??= pickBackend(options.quiet ?? false);
  return chosen;
}

async function pickBackend(quiet: boolean): Promise<BackendName> {
  const forced = readForcedBackend();
  const candidates = forced ? [forced] : BACKEND_ORDER;
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      if (await startBackend(name)) {
        if (!quiet) console.log(`[rlhf] tfjs backend: ${describeBackend(name)}`);
        return name;
      }
      failures.push(`${name}: did not initialise`);
    } catch (err) {
      failures.push(`${name}: ${firstLine(err)}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start:\n  ${failures.join("\n  ")}`);
}

function readForcedBackend(): BackendName | undefined {
  const value = Deno.env.get("RLHF_BACKEND");
  if (!value) return undefined;
  if (!(BACKEND_ORDER as readonly string[]).includes(value)) {
    throw new Error(`RLHF_BACKEND=${value}: expected one of ${BACKEND_ORDER.join(", ")}`);
  }
  return value as BackendName;
}

async function startBackend(name: BackendName): Promise<boolean> {
  switch (name) {
    case "tensorflow-gpu":
      // Registers the "tensorflow" backend backed by CUDA libtensorflow.
      await requireNativeBinding("@tensorflow/tfjs-node-gpu");
      await import("@tensorflow/tfjs-node-gpu");
      return await tf.setBackend("tensorflow");
    case "tensorflow":
      await requireNativeBinding("@tensorflow/tfjs-node");
      await import("@tensorflow/tfjs-node");
      return await tf.setBackend("tensorflow");
    case "wasm": {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      // tfjs would fetch the .wasm binaries next to the page; point it at node_modules.
      const dist = import.meta.resolve("@tensorflow/tfjs-backend-wasm").replace(/[^/]*$/, "");
      wasm.setWasmPaths(dist.endsWith("/dist/") ? dist : new URL("../dist/", dist).href);
      if (!(await tf.setBackend("wasm"))) return false;
      const native = loadNativeKernels();
      const blas = Deno.env.get("RLHF_FAST_MATMUL") !== "0" ? wasmBlas(native) : undefined;
      if (blas) {
        installBlasMatMul(blas);
        installLinearKernel(blas);
      }
      if (Deno.env.get("RLHF_NATIVE_KERNELS") !== "0") {
        installSharedIdentity();
        installWasmCopyKernels();
      }
      if (native) installNativeWasmKernels(native, kernelThreads(), blas?.pooled === true);
      return true;
    }
    case "cpu":
      return await tf.setBackend("cpu");
  }
}

let chosenWasmBlas: Blas | undefined | null = null; // null: not chosen yet

/** The system BLAS for the wasm kernels: on the native kernels' thread pool when both load, else the library alone. */
function wasmBlas(native: NativeKernels | undefined): Blas | undefined {
  if (chosenWasmBlas !== null) return chosenWasmBlas;
  const blas = loadBlas();
  chosenWasmBlas = blas && native ? blasOnKernelPool(blas, native, kernelThreads()) ?? blas : blas;
  return chosenWasmBlas;
}

/**
 * Throws unless the package's native addon (lib/napi-v*\/tfjs_binding.node,
 * put there by its install script) exists. Checked before importing, because
 * a failed import has already registered its kernels and a second attempt
 * (tfjs-node after tfjs-node-gpu) would print a page of warnings.
 */
async function requireNativeBinding(pkg: string): Promise<void> {
  let root = new URL(".", import.meta.resolve(pkg));
  while (!(await pathExists(new URL("package.json", root)))) {
    const parent = new URL("..", root);
    if (parent.href === root.href) throw new Error(`${pkg}: package root not found`);
    root = parent;
  }
  if (await pathExists(new URL("lib/", root))) {
    for await (const entry of Deno.readDir(new URL("lib/", root))) {
      if (entry.name.startsWith("napi-v") && (await pathExists(new URL(`lib/${entry.name}/tfjs_binding.node`, root)))) return;
    }
  }
  throw new Error(
    `${pkg}: native binding lib/napi-v*/tfjs_binding.node not installed (its install script did not run or could not download libtensorflow)`,
  );
}

/** One line saying which backend and which fast paths run, e.g. "wasm (SIMD) + BLAS matmul (libopenblas.so.0) + native fused kernels". */
export function describeBackend(name: BackendName): string {
  if (name === "wasm") {
    const blas = tf.getKernel(tf.BatchMatMul, "wasm") && Deno.env.get("RLHF_FAST_MATMUL") !== "0"
      ? wasmBlas(loadNativeKernels())
      : undefined;
    return `wasm (${tf.env().getBool("WASM_HAS_SIMD_SUPPORT") ? "SIMD" : "no SIMD"})` +
      (blas ? ` + BLAS matmul (${blas.path}${blas.pooled ? `, on the kernels' ${kernelThreads()} threads` : ""})` : "") +
      (loadNativeKernels()
        ? ` + native fused kernels${Deno.env.get("RLHF_NATIVE_MARCH") ? ` (-march=${Deno.env.get("RLHF_NATIVE_MARCH")})` : ""}`
        : ` (native kernels off: ${nativeKernelsUnavailableReason()})`);
  }
  if (name === "tensorflow-gpu") return "tensorflow (tfjs-node-gpu, CUDA)";
  if (name === "tensorflow") return "tensorflow (tfjs-node, CPU)";
  return "cpu (pure JS)";
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split("\n")[0];
}

/**
 * The tfjs backend of a web page: WebGPU where the browser gives it, else
 * WebGL, else wasm (SIMD where the browser has it), else pure-JS cpu, or the
 * one asked for. Deno processes use `initBackend` (lib/backend.ts), which adds
 * the native kernels a page cannot load.
 */
import { tf } from "./tf.ts";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";

/** The backends a page can start, fastest first. */
export type BrowserBackendName = "webgpu" | "webgl" | "wasm" | "cpu";

/** The order `startBrowserBackend` tries them in. */
export const BROWSER_BACKEND_ORDER: readonly BrowserBackendName[] = ["webgpu", "webgl", "wasm", "cpu"];

/** How a page starts its backend. */
export interface BrowserBackendOptions {
  /** Start this one or throw. @default the first of BROWSER_BACKEND_ORDER that starts */
  readonly backend?: BrowserBackendName;
  /** The URL of the directory that serves tfjs-backend-wasm's .wasm files (its `dist/`). @default beside the page */
  readonly wasmPaths?: string;
}

/** Starts a backend and returns its name; the failures of the ones tried before it are in the error when none starts. */
export async function startBrowserBackend(options: BrowserBackendOptions = {}): Promise<BrowserBackendName> {
  if (options.wasmPaths) setWasmPaths(options.wasmPaths);
  const candidates = options.backend ? [options.backend] : BROWSER_BACKEND_ORDER;
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      // WebGPU's backend registers itself when loaded; a browser without WebGPU then fails to start it.
      if (name === "webgpu") await import("@tensorflow/tfjs-backend-webgpu");
      if (await tf.setBackend(name)) return name;
      failures.push(`${name}: did not initialise`);
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : err}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start:\n  ${failures.join("\n  ")}`);
}

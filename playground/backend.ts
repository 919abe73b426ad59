/// <reference lib="dom" />
/**
 * The page's backend: WebGPU on a hardware adapter, else WebGL when the GPU draws it, else wasm, else cpu.
 * A WebGL drawn in software (SwiftShader, llvmpipe: what Chromium gives without a GPU, e.g. headless with
 * --disable-gpu) runs these models about ten times slower than wasm, so it is skipped, and so is a WebGPU
 * fallback (software) adapter.
 */
import { type BrowserBackendName, startBrowserBackend } from "../lib/browser.ts";

/** The WebGL renderer's name, or undefined when the browser has no WebGL. */
export function webglRenderer(): string | undefined {
  const canvas = document.createElement("canvas");
  const gl = (canvas.getContext("webgl2") ?? canvas.getContext("webgl")) as WebGLRenderingContext | null;
  if (!gl) return undefined;
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension("WEBGL_lose_context")?.loseContext();
  return renderer;
}

/** Whether a renderer name is a software rasteriser. */
export const isSoftwareRenderer = (renderer: string): boolean => /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);

/** A hardware WebGPU adapter's description, or undefined when the browser has none (or only a software fallback). */
export async function webgpuAdapter(): Promise<string | undefined> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<WebGpuAdapter | null> } }).gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  const name = [adapter?.info?.vendor, adapter?.info?.architecture, adapter?.info?.description].filter(Boolean).join(" ");
  if (!adapter || adapter.isFallbackAdapter || isSoftwareRenderer(name)) return undefined; // e.g. SwiftShader: a CPU in disguise
  return name || "a GPU";
}

/** What a WebGPU adapter tells of itself (the fields this page reads). */
interface WebGpuAdapter {
  readonly isFallbackAdapter?: boolean;
  readonly info?: { vendor?: string; architecture?: string; description?: string };
}

/** Starts the backend (`forced`, when the URL asks for one) and says which, and why. */
export async function chooseBackend(wasmPaths: string, forced?: BrowserBackendName): Promise<{ name: BrowserBackendName; note: string }> {
  if (forced) return { name: await startBrowserBackend({ backend: forced, wasmPaths }), note: "chosen in the URL (?backend=)" };
  const adapter = await webgpuAdapter();
  if (adapter) {
    try {
      return { name: await startBrowserBackend({ backend: "webgpu", wasmPaths }), note: `WebGPU: ${adapter}` };
    } catch { /* falls through to WebGL */ }
  }
  const renderer = webglRenderer();
  if (renderer && !isSoftwareRenderer(renderer)) {
    try {
      return { name: await startBrowserBackend({ backend: "webgl", wasmPaths }), note: `GPU: ${renderer}` };
    } catch { /* falls through to wasm */ }
  }
  const why = `${adapter ? "WebGPU did not start" : "no WebGPU adapter"}; ${
    renderer ? `WebGL is drawn in software (${renderer}), slower than wasm` : "no WebGL"
  }`;
  for (const name of ["wasm", "cpu"] as const) {
    try {
      return { name: await startBrowserBackend({ backend: name, wasmPaths }), note: why };
    } catch { /* the next one */ }
  }
  throw new Error("no TensorFlow.js backend could start");
}

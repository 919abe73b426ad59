/// <reference lib="dom" />
/**
 * The page's backend: WebGL when the GPU draws it, else wasm, else cpu. A WebGL drawn in software
 * (SwiftShader, llvmpipe: what Chromium gives without a GPU, e.g. headless with --disable-gpu) runs these
 * models about ten times slower than wasm, so it is skipped. WebGPU would need tfjs-backend-webgpu, which the
 * project does not ship.
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

/** Starts the backend (`forced`, when the URL asks for one) and says which, and why. */
export async function chooseBackend(wasmPaths: string, forced?: BrowserBackendName): Promise<{ name: BrowserBackendName; note: string }> {
  if (forced) return { name: await startBrowserBackend({ backend: forced, wasmPaths }), note: "chosen in the URL (?backend=)" };
  const renderer = webglRenderer();
  if (renderer && !isSoftwareRenderer(renderer)) {
    try {
      return { name: await startBrowserBackend({ backend: "webgl", wasmPaths }), note: `GPU: ${renderer}` };
    } catch { /* falls through to wasm */ }
  }
  const why = renderer ? `WebGL is drawn in software (${renderer}), slower than wasm` : "no WebGL";
  for (const name of ["wasm", "cpu"] as const) {
    try {
      return { name: await startBrowserBackend({ backend: name, wasmPaths }), note: why };
    } catch { /* the next one */ }
  }
  throw new Error("no TensorFlow.js backend could start");
}

/**
 * The playground's pure parts under Deno: its settings from the URL, the standard error its charts draw, and
 * which WebGL renderers it takes for software (and so skips for wasm).
 */
import { isSoftwareRenderer } from "../playground/backend.ts";
import { standardError } from "../playground/flow.ts";
import { PLAYGROUND_DEFAULTS, settingsFromQuery } from "../playground/settings.ts";
import { assert } from "./helpers.ts";

Deno.test("settingsFromQuery(): the defaults, overridden by the URL, without touching PLAYGROUND_DEFAULTS", () => {
  assert.deepEqual(settingsFromQuery(new URLSearchParams("")), PLAYGROUND_DEFAULTS);
  const s = settingsFromQuery(new URLSearchParams("?iters=3&method=rloo&batch=8&backend=wasm"));
  assert.equal(s.iters, 3);
  assert.equal(s.method, "rloo");
  assert.equal(s.batch, 8);
  assert.equal(PLAYGROUND_DEFAULTS.iters, 10);
  assert.ok(Object.isFrozen(PLAYGROUND_DEFAULTS));
});

Deno.test("settingsFromQuery(): unknown names, malformed numbers and impossible sizes are errors", () => {
  for (const query of ["?itres=3", "?iters=abc", "?lr=-1", "?method=dpo", "?k=1", "?method=rloo&batch=6"]) {
    assert.throws(() => settingsFromQuery(new URLSearchParams(query)), Error, query);
  }
});

Deno.test("standardError() matches the textbook formula, and is 0 for fewer than two values", () => {
  const xs = [1, 2, 3, 4];
  const mean = 2.5;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  assert.ok(Math.abs(standardError(xs) - Math.sqrt(variance / xs.length)) < 1e-12);
  assert.equal(standardError([5]), 0);
});

Deno.test("isSoftwareRenderer(): SwiftShader and llvmpipe are software, a GPU is not", () => {
  assert.ok(isSoftwareRenderer("ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)"));
  assert.ok(isSoftwareRenderer("llvmpipe (LLVM 15.0.6, 256 bits)"));
  assert.ok(isSoftwareRenderer("google swiftshader"), "a WebGPU adapter as Chromium describes SwiftShader's (vendor architecture)");
  assert.ok(!isSoftwareRenderer("ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)"));
  assert.ok(!isSoftwareRenderer("Apple M1"));
});

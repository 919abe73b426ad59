/**
 * The library runs in a browser tab: lib/browser.ts (platform-free, tests/architecture_test.ts) drives a tiny
 * GPT-2 forward pass, rank lists saved and read back, one reward-model step, one PPO and one RLOO iteration
 * (tests/browser_smoke.ts), first under Deno on the memory platform, then bundled by `deno bundle --platform
 * browser` into a page of headless Chromium (playwright-core), where it must compute the same numbers on the
 * same backend (cpu) with no console error. The Chromium part is reported as ignored where /usr/bin/chromium
 * is missing (CI installs it).
 */
import { chromium } from "playwright-core";
import { type BrowserBackendName, memoryPlatform, platform, startBrowserBackend, tf, usePlatform } from "../lib/browser.ts";
import { pathExists } from "../lib/fs.ts";
import { browserSmoke, type SmokeResult } from "./browser_smoke.ts";
import { assert, assertAllClose, runDeno } from "./helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await pathExists(CHROMIUM);
const ORIGIN = "http://playground.test"; // served by the test itself (page.route), no server
const WASM_DIST = new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url);

/** The smoke pass under Deno on `backend` (tfjs' own kernels: no initBackend) and a fresh memory platform (the disk is never touched). */
async function smokeUnderDeno(backend: BrowserBackendName): Promise<SmokeResult> {
  const previous = usePlatform(memoryPlatform());
  const before = tf.getBackend();
  try {
    await startBrowserBackend({ backend, wasmPaths: WASM_DIST.href });
    return await browserSmoke();
  } finally {
    usePlatform(previous);
    if (before) await tf.setBackend(before);
  }
}

function assertFinite(r: SmokeResult): void {
  const numbers = [...r.logits, r.rewardLoss, r.ppo.scores, r.ppo.kl, r.ppo.policyLoss, r.rloo.loss, r.rloo.scores];
  assert.ok(numbers.every(Number.isFinite), JSON.stringify(r));
}

Deno.test("lib/browser.ts: forward, rank lists, a reward-model step, PPO and RLOO run on the memory platform", async () => {
  const r = await smokeUnderDeno("cpu");
  assert.equal(r.platform, "memory");
  assert.equal(r.backend, "cpu");
  assert.equal(r.labelsSaved, 3);
  assert.equal(r.leakedTensors, 0);
  assertFinite(r);
  assert.equal(platform().name, "deno"); // put back
});

/** tests/browser_smoke.ts bundled for a browser by Deno's own bundler. */
async function bundleSmoke(): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    const { code, err } = await runDeno(["bundle", "--quiet", "--platform", "browser", "-o", `${dir}/smoke.js`, "tests/browser_smoke.ts"]);
    assert.equal(code, 0, err);
    return await Deno.readTextFile(`${dir}/smoke.js`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The page: the bundle on `backend`, the .wasm files from /wasm/. */
const page = (backend: BrowserBackendName, origin: string) =>
  `<!doctype html><meta charset="utf-8"><title>smoke</title>
<script type="module">
  import { browserSmoke, startBrowserBackend } from "./smoke.js";
  window.smoke = (async () => {
    await startBrowserBackend({ backend: "${backend}", wasmPaths: "${origin}/wasm/" });
    return await browserSmoke();
  })();
</script>`;

/**
 * Each backend against Deno's numbers on the same backend (WebGPU against Deno's cpu: Deno has no WebGPU here).
 * WebGPU runs on Chromium's SwiftShader adapter (a GPU emulated on the CPU: no GPU on these machines), which needs
 * a secure origin (localhost) and its flags; its float arithmetic differs from the CPU's in the last bits, enough
 * for PPO's and RLOO's sampling to draw other answers: there the forward pass and the reward-model step are
 * compared, the sampled statistics only checked finite.
 */
const BROWSER_CASES = [
  { backend: "cpu", origin: ORIGIN, args: ["--disable-gpu"], atol: 1e-6 },
  { backend: "wasm", origin: ORIGIN, args: ["--disable-gpu"], atol: 1e-6 },
  {
    backend: "webgpu",
    origin: "http://localhost",
    args: ["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader", "--enable-features=Vulkan", "--use-vulkan=swiftshader"],
    atol: 1e-4,
  },
] as const;

for (const { backend, origin, args, atol } of BROWSER_CASES) {
  Deno.test({
    name: `lib/browser.ts bundled: the same pass in headless Chromium gives Deno's numbers (${backend} backend)`,
    ignore: !hasChromium,
    sanitizeResources: false, // the browser's pipes outlive the test's bookkeeping
    sanitizeOps: false,
    fn: async () => {
      const [bundle, expected] = [await bundleSmoke(), await smokeUnderDeno(backend === "webgpu" ? "cpu" : backend)];
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--no-first-run", ...args] });
      try {
        const tab = await browser.newPage();
        const errors: string[] = [];
        tab.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        tab.on("pageerror", (e) => errors.push(e.message));
        await tab.route(`${origin}/**`, (route) => {
          const url = new URL(route.request().url());
          if (url.pathname.startsWith("/wasm/")) return route.fulfill({ path: new URL(url.pathname.slice(6), WASM_DIST).pathname });
          const js = url.pathname.endsWith(".js");
          return route.fulfill({ body: js ? bundle : page(backend, origin), contentType: js ? "text/javascript" : "text/html" });
        });
        await tab.goto(`${origin}/index.html`);
        const got = await tab.evaluate("window.smoke") as SmokeResult;
        assert.deepEqual(errors, []);
        assert.equal(got.platform, "memory");
        assert.equal(got.backend, backend);
        assert.equal(got.labelsSaved, 3);
        assert.equal(got.leakedTensors, 0);
        assertFinite(got);
        assertAllClose(got.logits, expected.logits, { atol, what: "logits" });
        assertAllClose([got.rewardLoss], [expected.rewardLoss], { atol: 10 * atol, rtol: 1e-5, what: "reward-model loss" });
        if (backend === "webgpu") return; // sampled: other answers (above)
        const sampled = (r: SmokeResult) => [r.ppo.scores, r.ppo.kl, r.ppo.policyLoss, r.rloo.loss, r.rloo.scores];
        assertAllClose(sampled(got), sampled(expected), { atol: 10 * atol, rtol: 1e-5, what: "PPO and RLOO stats" });
      } finally {
        await browser.close();
      }
    },
  });
}

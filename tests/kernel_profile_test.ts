import { initBackend } from "../lib/backend.ts";
import { formatKernelProfile, profileKernels } from "../lib/bench/kernel_profile.ts";
import { tf } from "../lib/tf.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });

Deno.test("profileKernels() times every kernel call of the measurement and puts the original kernels back", async () => {
  const backend = tf.getBackend();
  const before = tf.getKernelsForBackend(backend).map((k) => k.kernelFunc);
  const a = tf.ones([16, 16]);
  const { result, kernels } = await profileKernels(async () => {
    const c = tf.tidy(() => tf.matMul(a, a).add(a));
    const v = (await c.data())[0];
    c.dispose();
    return v;
  });
  a.dispose();
  assert.equal(result, 17);
  const names = kernels.map((k) => k.kernel);
  assert.ok(names.includes("BatchMatMul"), names.join(", "));
  assert.ok(kernels.every((k) => k.calls >= 1 && k.ms >= 0));
  assert.deepEqual(tf.getKernelsForBackend(backend).map((k) => k.kernelFunc), before, "the original kernels are back");
  assert.match(formatKernelProfile(kernels, 1, 1), /BatchMatMul\s+1 /);
});

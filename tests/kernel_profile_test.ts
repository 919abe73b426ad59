import { initBackend } from "../lib/backend.ts";
import { formatKernelProfile, profileKernels } from "../lib/bench/kernel_profile.ts";
import { tf } from "../lib/tf.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { runTorchBench, torchAvailable } from "../lib/bench/torch_reference.ts";
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

Deno.test({
  name: "the PyTorch half of the bench profiles its ops: per step and per generation, the matrix products among them",
  ignore: !(await torchAvailable()),
  fn: async () => {
    const config = resolveGPT2Config({ vocab_size: 64, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 });
    const train = { batch: 2, seq: 8, warmup: 1, steps: 2, seed: 0 };
    const gen = { batch: 2, promptLength: 4, newTokens: 4, warmup: 1, runs: 1, seed: 0 };
    const result = await runTorchBench(config, train, gen, { profile: true });
    for (const profile of [result.train_profile, result.gen_profile]) {
      assert.ok(profile && profile.wall_ms > 0);
      const ops = profile.ops.map((o) => o.kernel);
      assert.ok(ops.includes("aten::mm") || ops.includes("aten::addmm"), ops.join(", "));
      assert.ok(profile.ops.every((o, i) => o.calls > 0 && (i === 0 || o.ms <= profile.ops[i - 1].ms)), "largest first");
    }
    const plain = await runTorchBench(config, train, gen);
    assert.equal(plain.train_profile, undefined, "no profile unless asked");
  },
});

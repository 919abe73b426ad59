import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { samplingDistribution } from "../lib/generate/truncation.ts";
import { logprobsAndEntropy, samplingEntropy, truncatedLogprobs, truncatedLogprobsComposite } from "../lib/rollout/logprobs.ts";
import { fusedKernelAvailable } from "../lib/fast/fused_ops.ts";
import { CROSS_ENTROPY } from "../lib/fast/kernel_names.ts";
import { assert, assertAllClose } from "./helpers.ts";

await initBackend({ quiet: true });
const rows = [[2, 1, 0.5, -1, 0.2, 3], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [5, -5, 0, 0, 1, 1]];

for (
  const sampling of [{}, { temperature: 0.7 }, { topK: 3 }, { topP: 0.8 }, { temperature: 1.3, topK: 4, topP: 0.9 }, {
    suppressIds: [5],
  }, { topK: 3, suppressIds: [0] }]
) {
  Deno.test(`truncatedLogprobs() equals the sampler's distribution (${JSON.stringify(sampling)})`, async () => {
    // For each row, score every token the sampler could draw.
    for (const [r, row] of rows.entries()) {
      const { ids, probs } = samplingDistribution(row, sampling);
      const lp = tf.tidy(() => truncatedLogprobs(tf.tensor2d(ids.map(() => row)), tf.tensor1d(ids, "int32"), sampling));
      assertAllClose(await lp.data(), probs.map(Math.log), { atol: 1e-5, what: `row ${r}` });
      lp.dispose();
    }
  });
}

Deno.test("truncatedLogprobs() gradient: onehot − p on kept tokens, 0 on dropped ones (vs finite differences)", async () => {
  const sampling = { temperature: 0.9, topK: 4 };
  const row = rows[0];
  const token = 5;
  const f = (z: number[]) => tf.tidy(() => truncatedLogprobs(tf.tensor2d([z]), tf.tensor1d([token], "int32"), sampling).dataSync()[0]);
  const g = tf.grad((z: tf.Tensor) => tf.sum(truncatedLogprobs(z as tf.Tensor2D, tf.tensor1d([token], "int32"), sampling)))(
    tf.tensor2d([row]),
  );
  const analytic = Array.from(await g.data());
  const eps = 1e-2;
  const numeric = row.map((_, j) => {
    const up = [...row];
    const down = [...row];
    up[j] += eps;
    down[j] -= eps;
    return (f(up) - f(down)) / (2 * eps);
  });
  assertAllClose(analytic, numeric, { atol: 2e-3 });
  assert.equal(analytic[3], 0, "a token outside the top-k gets no gradient");
  g.dispose();
});

Deno.test({
  name: "truncatedLogprobs() without truncation: the fused cross-entropy path equals the composite (values and gradients)",
  ignore: !fusedKernelAvailable(CROSS_ENTROPY),
  fn: async () => {
    const logits = tf.randomNormal([7, 50], 0, 2, "float32", 3) as tf.Tensor2D;
    const tokens = tf.tensor1d([0, 3, 49, 7, 7, 12, 30], "int32");
    const weights = tf.randomNormal([7], 0, 1, "float32", 4); // a different upstream gradient per row
    for (const sampling of [{}, { temperature: 0.7 }]) {
      const loss = (f: typeof truncatedLogprobs) => (z: tf.Tensor) => tf.sum(tf.mul(f(z as tf.Tensor2D, tokens, sampling), weights));
      const [fast, slow] = [truncatedLogprobs, truncatedLogprobsComposite].map((f) => tf.tidy(() => f(logits, tokens, sampling)));
      assertAllClose(await fast.data(), await slow.data(), { atol: 1e-5, what: `values ${JSON.stringify(sampling)}` });
      const [gFast, gSlow] = [truncatedLogprobs, truncatedLogprobsComposite].map((f) => tf.grad(loss(f))(logits));
      assertAllClose(await gFast.data(), await gSlow.data(), { atol: 1e-5, what: `gradients ${JSON.stringify(sampling)}` });
      tf.dispose([fast, slow, gFast, gSlow]);
    }
    tf.dispose([logits, tokens, weights]);
  },
});

Deno.test("logprobsAndEntropy(): the log-probs and entropy of the two functions, the kept set read back once, nothing left behind", async () => {
  const logits = tf.tensor2d(rows);
  const tokens = tf.tensor1d([5, 3, 0], "int32");
  for (const sampling of [{}, { topP: 0.8 }, { temperature: 1.3, topK: 4 }]) {
    const before = tf.memory().numTensors;
    const reads = { count: 0 };
    const dataSync = logits.dataSync.bind(logits);
    logits.dataSync = (() => (reads.count++, dataSync())) as typeof logits.dataSync;
    const both = logprobsAndEntropy(logits, tokens, sampling, true);
    logits.dataSync = dataSync;
    const alone = tf.tidy(() => [truncatedLogprobs(logits, tokens, sampling), samplingEntropy(logits, sampling)]);
    assertAllClose(await both.logprobs.data(), await alone[0].data(), { atol: 1e-6, what: `log-probs ${JSON.stringify(sampling)}` });
    assertAllClose(await both.entropy!.data(), await alone[1].data(), { atol: 1e-6, what: `entropy ${JSON.stringify(sampling)}` });
    assert.equal(reads.count, Object.keys(sampling).some((k) => k !== "temperature") ? 1 : 0, "read-backs of the logits");
    tf.dispose([both.logprobs, both.entropy!, ...alone]);
    assert.equal(tf.memory().numTensors, before);
  }
  const withoutEntropy = logprobsAndEntropy(logits, tokens, {}, false);
  assert.equal(withoutEntropy.entropy, undefined);
  tf.dispose([withoutEntropy.logprobs, logits, tokens]);
});

Deno.test("samplingEntropy() of the full distribution at a temperature", async () => {
  const { probs } = samplingDistribution(rows[2], { temperature: 0.8 });
  const h = tf.tidy(() => samplingEntropy(tf.tensor2d([rows[2]]), { temperature: 0.8 }));
  assertAllClose(await h.data(), [-probs.reduce((s, p) => s + p * Math.log(p), 0)], { atol: 1e-5 });
  h.dispose();
});

Deno.test("samplingEntropy() of the truncated distribution", async () => {
  const { probs } = samplingDistribution(rows[1], { topK: 2 });
  const h = tf.tidy(() => samplingEntropy(tf.tensor2d([rows[1]]), { topK: 2 }));
  assertAllClose(await h.data(), [-probs.reduce((s, p) => s + p * Math.log(p), 0)], { atol: 1e-5 });
  h.dispose();
});

for (const sampling of [{ temperature: 0.8, topP: 0.9 }, { temperature: 1, suppressIds: [1, 7] }]) {
  Deno.test(`PPO's evaluateResponses() gives the log-probs generate() sampled with (left-padded prompts, ${JSON.stringify(sampling)})`, async () => {
    const { resolveGPT2Config } = await import("../lib/gpt2/config.ts");
    const { createGPT2, disposeGPT2 } = await import("../lib/gpt2/init.ts");
    const { generate } = await import("../lib/generate/generate.ts");
    const { evaluateResponses, sequenceBatch } = await import("../lib/rollout/sequence_batch.ts");
    const { Rng } = await import("../lib/rng.ts");
    const model = createGPT2(
      resolveGPT2Config({ vocab_size: 30, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2, initializer_range: 0.3 }),
      { seed: 2 },
    );
    const prompts = [[1, 2, 3, 4], [5, 6]];
    const gen = await generate(model, prompts, { ...sampling, maxNewTokens: 8, stopIds: [29], padId: 0, rng: new Rng(1) });
    for (const id of sampling.suppressIds ?? []) assert.ok(!gen.tokens.flat().includes(id), `suppressed id ${id} was drawn`);
    const batch = sequenceBatch(prompts, gen.tokens, 0);
    const lp = tf.tidy(() => evaluateResponses(model, undefined, batch, sampling).logprobs);
    const values = (await lp.array()) as number[][];
    gen.logprobs.forEach((row, b) => assertAllClose(values[b].slice(0, row.length), row, { atol: 1e-4, what: `row ${b}` }));
    lp.dispose();
    disposeGPT2(model);
  });
}

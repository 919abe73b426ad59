/**
 * generate(): the KV cache path equals recomputing everything, batching with
 * left padding equals generating alone, log-probs are those of the sampling
 * distribution, stop tokens end a row, seeds repeat, nothing leaks.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { logits } from "../lib/gpt2/forward.ts";
import { generate } from "../lib/generate/generate.ts";
import { samplingDistribution } from "../lib/generate/truncation.ts";
import { Rng } from "../lib/rng.ts";
import { assert, assertAllClose } from "./helpers.ts";

await initBackend({ quiet: true });
// A larger init std makes the random model's distributions peaked enough for top-p to bite.
const config = resolveGPT2Config({ vocab_size: 41, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 4, initializer_range: 0.2 });
const model = createGPT2(config, { seed: 5 });
const prompts = [[3, 4, 5, 6, 7], [9, 10], [1]];

Deno.test("generate() with the KV cache equals recomputing the full sequence each step", async () => {
  const options = { maxNewTokens: 12, topP: 0.9, temperature: 0.8 };
  const cached = await generate(model, prompts, { ...options, rng: new Rng(1) });
  const full = await generate(model, prompts, { ...options, rng: new Rng(1), noCache: true });
  assert.deepEqual(cached.tokens, full.tokens);
  for (let b = 0; b < prompts.length; b++) assertAllClose(cached.logprobs[b], full.logprobs[b], { atol: 1e-4, what: `row ${b}` });
});

Deno.test("generate() in a left-padded batch gives each row what it gets alone (greedy)", async () => {
  const batched = await generate(model, prompts, { maxNewTokens: 10, greedy: true, rng: new Rng(0) });
  for (let b = 0; b < prompts.length; b++) {
    const alone = await generate(model, [prompts[b]], { maxNewTokens: 10, greedy: true, rng: new Rng(0) });
    assert.deepEqual(batched.tokens[b], alone.tokens[0], `row ${b}`);
    assertAllClose(batched.logprobs[b], alone.logprobs[0], { atol: 1e-4, what: `row ${b} logprobs` });
  }
});

Deno.test("generate() log-probs are those of the truncated sampling distribution", async () => {
  const sampling = { temperature: 0.7, topK: 10, topP: 0.8 };
  const out = await generate(model, [prompts[0]], { ...sampling, maxNewTokens: 8, rng: new Rng(3) });
  const sequence = [...prompts[0], ...out.tokens[0]];
  const all = tf.tidy(() => logits(model, tf.tensor2d([sequence], [1, sequence.length], "int32")));
  const values = await all.data();
  all.dispose();
  const V = config.vocab_size;
  let truncated = 0;
  out.tokens[0].forEach((token, i) => {
    const position = prompts[0].length - 1 + i; // the logits that predicted token i
    const { ids, probs } = samplingDistribution(values.subarray(position * V, (position + 1) * V), sampling);
    const k = ids.indexOf(token);
    assert.ok(k >= 0, `token ${token} was sampled from outside the truncated distribution`);
    assertAllClose([out.logprobs[0][i]], [Math.log(probs[k])], { atol: 1e-4, what: `logprob ${i}` });
    if (ids.length < V) truncated++;
  });
  assert.ok(truncated > 0, "top-k/top-p never truncated: the test would not notice a full-softmax log-prob");
});

Deno.test("generate() stops a row at a stop id and keeps the stop token", async () => {
  const everyId = Array.from({ length: config.vocab_size }, (_, i) => i);
  const out = await generate(model, prompts, { maxNewTokens: 10, stopIds: everyId, rng: new Rng(2) });
  for (const row of out.tokens) assert.equal(row.length, 1);
  assert.deepEqual(out.finished, [true, true, true]);
  const open = await generate(model, prompts, { maxNewTokens: 6, stopIds: [], rng: new Rng(2) });
  assert.deepEqual(open.finished, [false, false, false]);
  for (const row of open.tokens) assert.equal(row.length, 6);
});

Deno.test("generate(): rows that stop leave the batch, and every row still gets what it gets alone (greedy)", async () => {
  // 12 prompts and a few stop ids, so rows stop at different steps and the batch shrinks several times.
  const many = Array.from({ length: 12 }, (_, i) => Array.from({ length: 1 + (i % 5) }, (_, j) => (3 * i + 7 * j) % config.vocab_size));
  const stopIds = [2, 11, 17, 23, 31];
  const batched = await generate(model, many, { maxNewTokens: 14, greedy: true, stopIds, rng: new Rng(0) });
  const lengths = new Set(batched.tokens.map((t) => t.length));
  assert.ok(
    batched.finished.filter(Boolean).length >= 2 && lengths.size >= 3,
    `rows should stop at different steps (lengths ${[...lengths]})`,
  );
  for (let b = 0; b < many.length; b++) {
    const alone = await generate(model, [many[b]], { maxNewTokens: 14, greedy: true, stopIds, rng: new Rng(0) });
    assert.deepEqual(batched.tokens[b], alone.tokens[0], `row ${b}`);
    assert.equal(batched.finished[b], alone.finished[0]);
    assertAllClose(batched.logprobs[b], alone.logprobs[0], { atol: 1e-4, what: `row ${b} logprobs` });
  }
  // Sampling too: the cache path (which drops rows) equals recomputing the full batch each step.
  const options = { maxNewTokens: 14, temperature: 0.9, stopIds };
  const cached = await generate(model, many, { ...options, rng: new Rng(4) });
  const full = await generate(model, many, { ...options, rng: new Rng(4), noCache: true });
  assert.deepEqual(cached.tokens, full.tokens);
});

Deno.test("generate() repeats with the same seed and differs with another", async () => {
  const a = await generate(model, prompts, { maxNewTokens: 10, rng: new Rng(7) });
  const b = await generate(model, prompts, { maxNewTokens: 10, rng: new Rng(7) });
  const c = await generate(model, prompts, { maxNewTokens: 10, rng: new Rng(8) });
  assert.deepEqual(a.tokens, b.tokens);
  assert.notDeepEqual(a.tokens, c.tokens);
});

Deno.test("generate() leaks no tensors", async () => {
  await generate(model, prompts, { maxNewTokens: 4, rng: new Rng(1) });
  const before = tf.memory().numTensors;
  await generate(model, prompts, { maxNewTokens: 4, rng: new Rng(1) });
  assert.equal(tf.memory().numTensors, before);
  // …also when rows stop and the cache is cut down to the running ones.
  const out = await generate(model, prompts, { maxNewTokens: 12, stopIds: [2, 11, 17, 23, 31], greedy: true, rng: new Rng(1) });
  assert.ok(out.finished.some(Boolean));
  assert.equal(tf.memory().numTensors, before);
  // …and when sampling throws mid-generation (the step's logits and the cache are freed).
  let draws = 0;
  const failing = {
    nextFloat: () => (++draws > 5
      ? (() => {
        throw new Error("rng failed");
      })()
      : 0.5),
  };
  await assert.rejects(() => generate(model, prompts, { maxNewTokens: 6, rng: failing }), /rng failed/);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("generate() rejects prompts that fill the context", async () => {
  await assert.rejects(() => generate(model, [Array(32).fill(1)], { rng: new Rng(1) }), /no room in the context/);
});

globalThis.addEventListener("unload", () => disposeGPT2(model));

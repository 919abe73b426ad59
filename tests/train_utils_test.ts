/** Small pure helpers of the training loop: schedule, RNG, batches, progress formatting, clipping. */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { learningRateAt } from "../lib/train/schedule.ts";
import { Rng } from "../lib/rng.ts";
import { formatDuration, formatRate, ProgressBar } from "../lib/train/progress.ts";
import { randomWindows, sequentialWindows, tokenStream } from "../lib/data/lm_batches.ts";
import { clipByGlobalNorm } from "../lib/train/clip.ts";
import { AdamW } from "../lib/train/adamw.ts";
import { assert, assertAllClose } from "./helpers.ts";

await initBackend({ quiet: true });

Deno.test("learningRateAt() warms up linearly, then follows a cosine to minLr", () => {
  const o = { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 110 };
  assertAllClose([learningRateAt(0, o), learningRateAt(4, o), learningRateAt(9, o)], [1e-4, 5e-4, 1e-3], { atol: 1e-12 });
  assertAllClose([learningRateAt(60, o)], [1e-4 + 0.5 * 9e-4], { atol: 1e-12 }); // half-way: cos = 0
  assertAllClose([learningRateAt(110, o), learningRateAt(500, o)], [1e-4, 1e-4], { atol: 1e-12 });
  for (let s = 10; s < 110; s++) assert.ok(learningRateAt(s + 1, o) <= learningRateAt(s, o));
});

Deno.test("Rng is deterministic, resumable, and shuffles into a permutation", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.nextFloat());
  assert.deepEqual(Array.from({ length: 5 }, () => b.nextFloat()), xs);
  assert.notDeepEqual(Array.from({ length: 5 }, () => new Rng(43).nextFloat()), xs);
  const resumed = Rng.fromState(a.state());
  assert.equal(resumed.nextFloat(), a.nextFloat());
  const shuffled = new Rng(1).shuffle([1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...shuffled].sort(), [1, 2, 3, 4, 5, 6]);
  const ints = Array.from({ length: 2000 }, () => a.nextInt(10));
  assert.ok(ints.every((i) => i >= 0 && i < 10 && Number.isInteger(i)));
  assert.equal(new Set(ints).size, 10);
  const mean = ints.reduce((s, x) => s + x, 0) / ints.length;
  assert.ok(Math.abs(mean - 4.5) < 0.3, `mean ${mean}`);
});

Deno.test("LM batches: targets are the next tokens, and a step's batch does not depend on history", () => {
  const stream = tokenStream([[1, 2, 3], [4, 5]], 0);
  assert.deepEqual(Array.from(stream), [1, 2, 3, 0, 4, 5, 0]);
  const source = randomWindows(stream, { batchSize: 3, seqLen: 4, seed: 7 });
  const b5 = source.batch(5);
  source.batch(0);
  assert.deepEqual(source.batch(5), b5);
  for (let i = 0; i < 3; i++) assert.deepEqual(b5.ids[i].slice(1), b5.targets[i].slice(0, -1));
  const evalSet = sequentialWindows(stream, { batchSize: 1, seqLen: 3, maxBatches: 5 });
  assert.deepEqual(evalSet.map((b) => b.ids[0]), [[1, 2, 3], [0, 4, 5]]);
  assert.throws(() => randomWindows(stream, { batchSize: 1, seqLen: 10, seed: 0 }), /fewer than seqLen \+ 1/);
});

Deno.test("progress formatting and a plain (non-terminal) progress bar", () => {
  assert.equal(formatDuration(42), "42s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(formatRate(1234), "1.2k");
  assert.equal(formatRate(0.125), "0.13");
  let clock = 0;
  const lines: string[] = [];
  const bar = new ProgressBar({
    total: 4,
    label: "demo",
    write: (t) => lines.push(t),
    inPlace: false,
    plainEverySeconds: 10,
    now: () => clock,
  });
  clock = 1000;
  bar.update(1, { tokens: 500, extra: { loss: "2.500" } }); // first update prints
  clock = 2000;
  bar.update(2, { tokens: 1000 }); // within 10 s: silent
  clock = 4000;
  bar.update(4, { tokens: 2000 }); // the end always prints
  bar.finish();
  assert.equal(lines.length, 3);
  assert.equal(lines[0], "demo [#####...............]  25% 1/4  500 tok/s  ETA 3s  loss=2.500\n");
  assert.match(lines[1], /100% 4\/4/);
  assert.match(lines[2], /demo done in 4s/);
});

Deno.test("clipByGlobalNorm() matches a naive computation, clipping and not clipping", async () => {
  const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor2d([[12]]) }; // norm 13
  for (const [maxNorm, scale] of [[1, 1 / (13 + 1e-6)], [100, 1]]) {
    const { grads: clipped, norm } = clipByGlobalNorm(grads, maxNorm);
    assertAllClose([(await norm.data())[0]], [13], { atol: 1e-5 });
    assertAllClose(await clipped.a.data(), [3 * scale, 4 * scale], { atol: 1e-6 });
    assertAllClose(await clipped.b.data(), [12 * scale], { atol: 1e-6 });
    tf.dispose([norm, ...Object.values(clipped)]);
  }
  // Measuring only: the same tensors come back, and the norm.
  const { grads: same, norm } = clipByGlobalNorm(grads, Infinity);
  assert.ok(same.a === grads.a && same.b === grads.b);
  assertAllClose([(await norm.data())[0]], [13], { atol: 1e-5 });
  tf.dispose([norm, ...Object.values(grads)]);
});

Deno.test("AdamW lrScale multiplies one weight's step and refuses unknown names", async () => {
  const a = tf.variable(tf.tensor1d([1, -2, 3]));
  const b = tf.variable(tf.tensor1d([1, -2, 3]));
  const opt = new AdamW({ a, b }, { weightDecay: 0, lrScale: { b: 3 } });
  tf.tidy(() => opt.step({ a: tf.tensor1d([0.5, 0.1, -0.2]), b: tf.tensor1d([0.5, 0.1, -0.2]) }, 0.01));
  const da = Array.from(await a.data(), (v, i) => v - [1, -2, 3][i]);
  const db = Array.from(await b.data(), (v, i) => v - [1, -2, 3][i]);
  assertAllClose(db, da.map((d) => 3 * d), { atol: 1e-6, what: "scaled step" });
  assert.throws(() => new AdamW({ a }, { lrScale: { c: 2 } }), Error, `"c"`);
  opt.dispose();
  tf.dispose([a, b]);
});

Deno.test("creating and disposing an optimizer, a PPO policy, a reward model and a saved reward model leaves no tensor behind", async () => {
  const { createGPT2, disposeGPT2 } = await import("../lib/gpt2/init.ts");
  const { resolveGPT2Config } = await import("../lib/gpt2/config.ts");
  const { createPolicy, disposePolicy } = await import("../lib/ppo/policy.ts");
  const { createRewardModel, disposeRewardModel } = await import("../lib/reward/reward_model.ts");
  const { loadRewardModel, saveRewardModel } = await import("../lib/reward/reward_checkpoint.ts");
  const model = createGPT2(resolveGPT2Config({ preset: "gpt2-nano", vocab_size: 40, n_positions: 16 }), { seed: 1 });
  const dir = await Deno.makeTempDir();
  try {
    const before = tf.memory().numTensors;
    new AdamW(model.params).dispose(); // its moment estimates start as zeros: tf.variable must not keep the zeros tensor too
    disposePolicy(createPolicy(model));
    const rm = createRewardModel(model, { seed: 2 });
    await saveRewardModel(rm, dir);
    disposeRewardModel(rm);
    disposeRewardModel(await loadRewardModel(dir));
    assert.equal(tf.memory().numTensors, before);
  } finally {
    disposeGPT2(model);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gradientStep(): one step of every trainer — clipped update, kept statistics, nothing else left alive", async () => {
  const { gradientStep } = await import("../lib/train/gradient_step.ts");
  const { tf } = await import("../lib/tf.ts");
  const { AdamW } = await import("../lib/train/adamw.ts");
  const w = tf.variable(tf.tensor1d([3, 4]), true, "gs_w");
  const optimizer = new AdamW({ w }, { weightDecay: 0 });
  const before = tf.memory().numTensors;
  // loss = Σ w², gradient 2w = [6, 8], norm 10; clipped to norm 1.
  const out = gradientStep(
    { w },
    optimizer,
    () => ({ loss: tf.sum(tf.square(w)) as ReturnType<typeof tf.scalar>, keep: { doubled: tf.mul(w, 2) } }),
    {
      lr: 0.1,
      gradClip: 1,
    },
  );
  assert.equal((await out.loss.data())[0], 25);
  assert.ok(Math.abs((await out.gradNorm.data())[0] - 10) < 1e-5);
  assert.deepEqual([...(await out.kept.doubled.data())], [6, 8], "kept tensors hold their value from before the update");
  tf.dispose([out.loss, out.gradNorm, out.kept.doubled]);
  assert.equal(tf.memory().numTensors, before, "the step left tensors alive");
  const after = await w.data();
  assert.ok(after[0] < 3 && after[1] < 4, "the weights moved downhill");
  optimizer.dispose();
  w.dispose();
});

Deno.test("minibatchEpochs() visits every row once per pass in the Rng's order, and a stop ends the passes", async () => {
  const { minibatchEpochs } = await import("../lib/train/minibatch_epochs.ts");
  const seen: number[][] = [];
  const passes = await minibatchEpochs(5, { epochs: 2, miniBatchSize: 2, rng: new Rng(3) }, (rows) => {
    seen.push(rows);
    return Promise.resolve(false);
  });
  assert.equal(passes, 2);
  assert.deepEqual(seen.map((r) => r.length), [2, 2, 1, 2, 2, 1]);
  const expected = new Rng(3);
  assert.deepEqual(seen.slice(0, 3).flat(), expected.shuffle([0, 1, 2, 3, 4]));
  assert.deepEqual(seen.slice(3).flat(), expected.shuffle([0, 1, 2, 3, 4]));
  let calls = 0;
  const stopped = await minibatchEpochs(5, { epochs: 3, miniBatchSize: 2, rng: new Rng(3) }, () => Promise.resolve(++calls === 4));
  assert.equal(stopped, 2, "stopped in the second pass");
  assert.equal(calls, 4);
});

Deno.test("nextTokenLoss() projects only the counted positions and equals the masked full-logits loss, gradients too; no tensor left", async () => {
  const { resolveGPT2Config } = await import("../lib/gpt2/config.ts");
  const { createGPT2, disposeGPT2 } = await import("../lib/gpt2/init.ts");
  const { logits } = await import("../lib/gpt2/forward.ts");
  const { crossEntropy } = await import("../lib/gpt2/loss.ts");
  const { nextTokenLoss, batchTensors } = await import("../lib/train/train_step.ts");
  const model = createGPT2(resolveGPT2Config({ vocab_size: 20, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 }), { seed: 7 });
  // Two rows: a prompt of 3 then a 4-token answer; a prompt of 2, a 2-token answer, then padding.
  const batch = {
    ids: [[1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 0, 0, 0]],
    targets: [[2, 3, 4, 5, 6, 7, 12], [9, 10, 11, 13, 0, 0, 0]],
    mask: [[0, 0, 1, 1, 1, 1, 0], [0, 1, 1, 0, 0, 0, 0]],
  };
  const plain = () =>
    tf.tidy(() => {
      const t = batchTensors(batch);
      return crossEntropy(logits(model, t.ids), t.targets, t.mask);
    });
  const vars = Object.values(model.params);
  const warm = tf.variableGrads(() => nextTokenLoss(model, batch), vars);
  tf.dispose([warm.value, ...Object.values(warm.grads)]);
  const before = tf.memory().numTensors;
  const a = tf.variableGrads(() => nextTokenLoss(model, batch), vars);
  const b = tf.variableGrads(plain, vars);
  assertAllClose(await a.value.data(), await b.value.data(), { atol: 1e-5, what: "loss" });
  for (const v of vars) assertAllClose(await a.grads[v.name].data(), await b.grads[v.name].data(), { atol: 1e-5, what: v.name });
  tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
  assert.equal(tf.memory().numTensors, before);
  const none = nextTokenLoss(model, { ...batch, mask: batch.mask.map((r) => r.map(() => 0)) });
  assert.equal((await none.data())[0], 0, "nothing counted: 0, as crossEntropy gives");
  none.dispose();
  disposeGPT2(model);
});

Deno.test("countedPositions(): the mask's 1s, flat, with their rows and targets; a mask value other than 0 or 1 is refused", async () => {
  const { countedPositions } = await import("../lib/data/lm_batches.ts");
  const batch = { ids: [[1, 2, 3], [4, 5, 0]], targets: [[2, 3, 9], [5, 9, 0]], mask: [[0, 1, 1], [1, 1, 0]] };
  assert.deepEqual(countedPositions(batch), { at: [1, 2, 3, 4], rows: [0, 0, 1, 1], targets: [3, 9, 5, 9] });
  assert.throws(() => countedPositions({ ...batch, mask: [[0, 0.5, 1], [1, 1, 0]] }), Error, "mask[0][1] is 0.5");
});

/**
 * The training loop: it learns, it leaks nothing, and a run killed half-way
 * and resumed ends with exactly the weights of an uninterrupted run.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { randomWindows, sequentialWindows, tokenStream } from "../lib/data/lm_batches.ts";
import { AdamW } from "../lib/train/adamw.ts";
import { trainStep } from "../lib/train/train_step.ts";
import { resolveTrainConfig, trainLM } from "../lib/train/trainer.ts";
import { assert, assertNoLeak } from "./helpers.ts";

await initBackend({ quiet: true });
const config = resolveGPT2Config({ vocab_size: 20, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2, dropout: 0.1 });
// A corpus with structure: counting up modulo 19, documents of different lengths.
const docs = Array.from({ length: 40 }, (_, d) => Array.from({ length: 5 + (d % 7) }, (_, i) => (d + i) % 19));
const stream = tokenStream(docs, 19);
const data = randomWindows(stream, { batchSize: 4, seqLen: 8, seed: 1 });
const evalData = sequentialWindows(stream, { batchSize: 4, seqLen: 8, maxBatches: 2 });
const trainConfig = resolveTrainConfig({ steps: 12, maxLr: 1e-2, minLr: 1e-3, warmupSteps: 2, evalEvery: 6, checkpointEvery: 5, seed: 3 });

async function weights(model: ReturnType<typeof createGPT2>): Promise<Float32Array[]> {
  return await Promise.all(Object.values(model.params).map(async (v) => (await v.data()) as Float32Array));
}

Deno.test("trainLM() lowers the held-out loss and records history for charts", async () => {
  const model = createGPT2(config, { seed: 0 });
  const history = await trainLM({
    model,
    data,
    evalData,
    config: resolveTrainConfig({ ...trainConfig, steps: 40, evalEvery: 10 }),
    quiet: true,
  });
  disposeGPT2(model);
  assert.equal(history.train.length, 40);
  assert.deepEqual(history.eval.map((e) => e.step), [10, 20, 30, 40]);
  assert.ok(history.eval[3].loss < history.eval[0].loss - 0.3, `eval ${history.eval.map((e) => e.loss)}`);
  assert.ok(history.train.every((r) => r.lr > 0 && Number.isFinite(r.gradNorm)));
});

Deno.test("a killed and resumed run ends with the same weights as an uninterrupted run", async () => {
  const dirA = await Deno.makeTempDir();
  const dirB = await Deno.makeTempDir();
  try {
    const straight = createGPT2(config, { seed: 0 });
    const h1 = await trainLM({ model: straight, data, evalData, config: trainConfig, checkpointDir: `${dirA}/ckpt`, quiet: true });

    const killed = createGPT2(config, { seed: 0 });
    await trainLM({ model: killed, data, evalData, config: trainConfig, checkpointDir: `${dirB}/ckpt`, stopAfterStep: 7, quiet: true });
    disposeGPT2(killed);
    const state = JSON.parse(await Deno.readTextFile(`${dirB}/ckpt/run.json`));
    assert.equal(state.progress.step, 7);
    assert.equal(state.finished, false);

    const resumed = createGPT2(config, { seed: 99 }); // different init: everything must come from the checkpoint
    const h2 = await trainLM({ model: resumed, data, evalData, config: trainConfig, checkpointDir: `${dirB}/ckpt`, quiet: true });
    const [a, b] = [await weights(straight), await weights(resumed)];
    a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${Object.keys(straight.params)[i]}`));
    assert.deepEqual(h2.train.map((r) => r.loss), h1.train.map((r) => r.loss));
    disposeGPT2(straight);
    disposeGPT2(resumed);
  } finally {
    await Deno.remove(dirA, { recursive: true });
    await Deno.remove(dirB, { recursive: true });
  }
});

Deno.test("resuming with a different config is refused with the field named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createGPT2(config, { seed: 0 });
    await trainLM({ model, data, config: trainConfig, checkpointDir: dir, stopAfterStep: 2, quiet: true });
    await assert.rejects(
      () => trainLM({ model, data, config: resolveTrainConfig({ ...trainConfig, maxLr: 5e-3 }), checkpointDir: dir, quiet: true }),
      /this train run was made from other inputs or settings \(maxLr: 0\.01 → 0\.005\); start afresh/,
    );
    disposeGPT2(model);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("another evaluation or checkpoint cadence is the same run: a finished run is reused as it is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createGPT2(config, { seed: 0 });
    const finished = await trainLM({ model, data, config: trainConfig, checkpointDir: dir, quiet: true }); // evalEvery 6, checkpointEvery 5
    const again = createGPT2(config, { seed: 9 });
    const reused = await trainLM({
      model: again,
      data,
      config: resolveTrainConfig({ ...trainConfig, evalEvery: 4, checkpointEvery: 3 }), // a notebook's cadence
      checkpointDir: dir,
      quiet: true,
    });
    assert.deepEqual({ ...reused, reused: false }, finished, "the finished run's history and training time, no new steps");
    assert.equal(reused.reused, true, "said to be loaded, not trained");
    assert.deepEqual(await weights(again), await weights(model), "the finished run's weights");
    disposeGPT2(model);
    disposeGPT2(again);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a fine-tuning checkpoint that started from other weights is refused, not resumed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createGPT2(config, { seed: 0 });
    await trainLM({ model, data, config: trainConfig, checkpointDir: dir, startedFrom: "base@aaaa", stopAfterStep: 2, quiet: true });
    await assert.rejects(
      () => trainLM({ model, data, config: trainConfig, checkpointDir: dir, startedFrom: "base@bbbb", quiet: true }),
      /started_from: "base@aaaa" → "base@bbbb"\); start afresh/,
    );
    disposeGPT2(model);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resuming after a crash between the two renames of a checkpoint swap continues from that checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const straight = createGPT2(config, { seed: 0 });
    await trainLM({ model: straight, data, config: trainConfig, quiet: true });
    const killed = createGPT2(config, { seed: 0 });
    await trainLM({ model: killed, data, config: trainConfig, checkpointDir: `${dir}/ckpt`, stopAfterStep: 5, quiet: true });
    disposeGPT2(killed);
    // The crash: the finished checkpoint was renamed aside (.ckpt.old-<pid>-<tag>) and the new one never moved in.
    await Deno.rename(`${dir}/ckpt`, `${dir}/.ckpt.old-999999-crash`);
    const resumed = createGPT2(config, { seed: 99 }); // everything must come from the recovered checkpoint
    await trainLM({ model: resumed, data, config: trainConfig, checkpointDir: `${dir}/ckpt`, quiet: true });
    const [a, b] = [await weights(straight), await weights(resumed)];
    a.forEach((w, i) => assert.deepEqual(b[i], w, `weight ${Object.keys(straight.params)[i]}`));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => !n.endsWith(".lock")), ["ckpt"]);
    disposeGPT2(straight);
    disposeGPT2(resumed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt run.json is an error that names the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = createGPT2(config, { seed: 0 });
    await trainLM({ model, data, config: trainConfig, checkpointDir: dir, stopAfterStep: 2, quiet: true });
    await Deno.writeTextFile(`${dir}/run.json`, '{"step": 2, "con');
    await assert.rejects(
      () => trainLM({ model, data, config: trainConfig, checkpointDir: dir, quiet: true }),
      /run\.json: not valid JSON/,
    );
    disposeGPT2(model);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a training step with AdamW leaks no tensors", async () => {
  const model = createGPT2(config, { seed: 0 });
  const optimizer = new AdamW(model.params);
  let step = 0;
  await assertNoLeak(async () => {
    const { loss, gradNorm } = trainStep(model, optimizer, data.batch(step), { lr: 1e-3, gradClip: 1, seed: step++ });
    await loss.data();
    tf.dispose([loss, gradNorm]);
  }, "trainStep");
  optimizer.dispose();
  disposeGPT2(model);
});

Deno.test("resolveTrainConfig() names a bad field", () => {
  assert.throws(() => resolveTrainConfig({ steps: 0 }), /TrainConfig\.steps: expected a positive integer, got 0/);
  assert.throws(() => resolveTrainConfig({ minLr: 1, maxLr: 0.1 }), /TrainConfig\.minLr/);
});

Deno.test("resolveTrainConfig() refuses ±Infinity and NaN in any field", () => {
  assert.throws(() => resolveTrainConfig({ maxLr: Infinity, minLr: 0 }), /TrainConfig\.maxLr: expected a finite number, got Infinity/);
  assert.throws(() => resolveTrainConfig({ weightDecay: NaN }), /TrainConfig\.weightDecay/);
});

Deno.test("trainLM() stops at the first non-finite loss, naming the step, and writes no checkpoint from that state", async () => {
  const dir = await Deno.makeTempDir();
  const model = createGPT2(config, { seed: 0 });
  try {
    model.params["ln_f.bias"].assign(tf.fill(model.params["ln_f.bias"].shape, NaN)); // a broken weight: the loss is NaN
    await assert.rejects(
      () => trainLM({ model, data, evalData, config: trainConfig, checkpointDir: `${dir}/ckpt`, quiet: true }),
      /training diverged at step 0: loss is NaN/,
    );
    assert.equal([...Deno.readDirSync(dir)].filter((e) => !e.name.startsWith(".")).length, 0, "no checkpoint written");
  } finally {
    disposeGPT2(model);
    await Deno.remove(dir, { recursive: true });
  }
});

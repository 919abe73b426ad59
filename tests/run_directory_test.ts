/**
 * The one rule every training stage keeps through RunDirectory: the same identity resumes or reuses, another
 * identity is refused naming the fields, an older format is refused rather than overwritten, and one
 * process at a time trains a directory. Each stage's resume-equals-uninterrupted test is beside its stage.
 */
import { assert } from "./helpers.ts";
import { tf } from "../lib/tf.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { AdamW } from "../lib/train/adamw.ts";
import { identityDifferences, RunDirectory, tensorFile } from "../lib/run/run_directory.ts";

const config = resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
const identity = { lr: 1e-3, sampling: { temperature: 1, topK: 0 }, started_from: "sft@aaaa" };

Deno.test("RunDirectory: nothing saved → undefined; a save is read back (progress, finished, weights, optimiser, more tensors)", async () => {
  const dir = await Deno.makeTempDir();
  const model = createGPT2(config, { seed: 1 });
  const copy = createGPT2(config, { seed: 2 });
  const optimizer = new AdamW(model.params);
  const restored = new AdamW(copy.params);
  const head = tf.variable(tf.tensor([[1], [2]]));
  const headCopy = tf.variable(tf.zeros([2, 1]));
  try {
    const run = new RunDirectory(`${dir}/ppo`, "ppo", identity);
    assert.equal(await run.open(), undefined);
    await run.save({ model, optimizer, files: { "head.safetensors": await tensorFile({ w: head }) } }, { iteration: 3 }, {
      finished: false,
    });
    run.close();
    const again = new RunDirectory(`${dir}/ppo`, "ppo", { ...identity });
    const saved = await again.open<{ iteration: number }>();
    assert.deepEqual({ ...saved, trainingSeconds: undefined }, {
      identity,
      progress: { iteration: 3 },
      finished: false,
      trainingSeconds: undefined,
    });
    await again.restore(copy.params, restored);
    await again.restoreTensors("head.safetensors", { w: headCopy });
    again.close();
    for (const [name, v] of Object.entries(model.params)) assert.deepEqual(await copy.params[name].data(), await v.data(), name);
    assert.deepEqual(await headCopy.data(), await head.data());
    const [a, b] = [await optimizer.state(), await restored.state()];
    assert.equal(b.step, a.step);
    await assert.rejects(
      () => again.restoreTensors("head.safetensors", { w: tf.variable(tf.zeros([3, 1])) }),
      /head\.safetensors: tensor "w": expected shape \[3,1\], found \[2,1\]/,
    );
  } finally {
    disposeGPT2(model);
    disposeGPT2(copy);
    optimizer.dispose();
    restored.dispose();
    tf.dispose([head, headCopy]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RunDirectory: the training time adds up over sessions and a reused run reports its sessions' time", async () => {
  const dir = await Deno.makeTempDir();
  const model = createGPT2(config, { seed: 1 });
  const busy = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    const first = new RunDirectory(`${dir}/sft`, "sft", identity);
    await first.open();
    await busy(60);
    await first.save({ model }, { step: 1 }, { finished: false });
    first.close();
    assert.ok(first.trainingSeconds >= 0.05, `first session ${first.trainingSeconds} s`);
    const second = new RunDirectory(`${dir}/sft`, "sft", identity);
    assert.equal((await second.open())?.trainingSeconds, first.trainingSeconds);
    await busy(60);
    await second.save({ model }, { step: 2 }, { finished: true });
    second.close();
    assert.ok(second.trainingSeconds >= first.trainingSeconds + 0.05, `${second.trainingSeconds} s after ${first.trainingSeconds} s`);
    const reuse = new RunDirectory(`${dir}/sft`, "sft", identity);
    await busy(60); // time spent by a session that only reuses the run is not training
    assert.equal((await reuse.open())?.trainingSeconds, second.trainingSeconds);
    assert.equal(reuse.trainingSeconds, second.trainingSeconds);
    reuse.close();
  } finally {
    disposeGPT2(model);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RunDirectory: another identity, another stage or an older format is refused in one line naming what differs", async () => {
  const dir = await Deno.makeTempDir();
  const model = createGPT2(config, { seed: 1 });
  try {
    const run = new RunDirectory(`${dir}/a`, "dpo", identity);
    await run.open();
    await run.save({ model }, {}, { finished: true });
    run.close();
    const other = new RunDirectory(`${dir}/a`, "dpo", { ...identity, lr: 3e-4, sampling: { temperature: 0.7, topK: 0 } });
    const refused = await other.open().then(() => "", (err: Error) => err.message);
    assert.match(
      refused,
      new RegExp(
        `^${dir}/a: this dpo run was made from other inputs or settings \\(lr: 0\\.001 → 0\\.0003; sampling\\.temperature: 1 → 0\\.7\\); start afresh`,
      ),
    );
    assert.ok(!refused.includes("\n"), "one line");
    await assert.rejects(() => new RunDirectory(`${dir}/a`, "ppo", identity).open(), /stage: "dpo" → "ppo"/);
    // The refused opener let go of the lock: the right identity opens at once.
    const same = new RunDirectory(`${dir}/a`, "dpo", identity);
    assert.equal((await same.open())?.finished, true);
    same.close();
    await Deno.mkdir(`${dir}/old`);
    await Deno.writeTextFile(`${dir}/old/train_state.json`, "{}");
    await assert.rejects(
      () => new RunDirectory(`${dir}/old`, "sft", identity).open(),
      /a checkpoint of an older format \(train_state\.json, no run\.json\)/,
    );
  } finally {
    disposeGPT2(model);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RunDirectory: while one opener trains a directory, a second is refused naming the process", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = new RunDirectory(`${dir}/sft`, "sft", identity);
    await first.open();
    await assert.rejects(
      () => new RunDirectory(`${dir}/sft`, "sft", identity).open(),
      new RegExp(`${dir}/sft: another process \\(${Deno.pid}\\) is training this sft run`),
    );
    first.close();
    const second = new RunDirectory(`${dir}/sft`, "sft", identity);
    assert.equal(await second.open(), undefined);
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("identityDifferences() names nested fields and missing ones", () => {
  assert.deepEqual(identityDifferences({ a: 1, b: { c: 2 } }, { a: 1, b: { c: 3 }, d: "x" }), ["b.c: 2 → 3", 'd: (none) → "x"']);
  assert.deepEqual(identityDifferences(identity, { ...identity }), []);
});

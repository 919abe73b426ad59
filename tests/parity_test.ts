/**
 * Parity with the PyTorch reference, llm.c style: the same tiny random GPT-2
 * (tests/fixtures/gpt2-tiny, written by reference/make_fixtures.py) must give
 * the same logits, loss, gradient of every weight and 5-step AdamW loss
 * trajectory on the default backend.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { loadGPT2Weights } from "../lib/checkpoint/pretrained.ts";
import { readSafetensorsFile } from "../lib/checkpoint/safetensors.ts";
import { logits } from "../lib/gpt2/forward.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { AdamW } from "../lib/train/adamw.ts";
import { crossEntropy } from "../lib/gpt2/loss.ts";
import type { GPT2Model } from "../lib/gpt2/model_types.ts";
import type { LMBatch } from "../lib/data/lm_batches.ts";
import { gradientsByName } from "../lib/train/gradient_step.ts";
import { batchTensors, trainStep } from "../lib/train/train_step.ts";
import { assert, assertAllClose, maxAbsDiff } from "./helpers.ts";

await initBackend({ quiet: true });
/** The loss and the gradient of every weight, keyed by HF weight name. */
function lossAndGrads(model: GPT2Model, batch: LMBatch): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  return tf.tidy(() => {
    const t = batchTensors(batch);
    const { value, grads } = tf.variableGrads(() => crossEntropy(logits(model, t.ids), t.targets, t.mask), Object.values(model.params));
    return { loss: value, grads: gradientsByName(model.params, grads) };
  });
}

const dir = new URL("./fixtures/gpt2-tiny/", import.meta.url).pathname;
const fixtures = await readSafetensorsFile(`${dir}fixtures.safetensors`);
const expected = JSON.parse(await Deno.readTextFile(`${dir}fixtures.json`));

function fixture(name: string) {
  const t = fixtures.tensors.get(name);
  if (!t) throw new Error(`fixtures.safetensors has no tensor "${name}"`);
  return t;
}
function rows(name: string): number[][] {
  const { shape, data } = fixture(name);
  return Array.from({ length: shape[0] }, (_, i) => Array.from(data.subarray(i * shape[1], (i + 1) * shape[1])));
}
const batch = { ids: rows("input_ids"), targets: rows("targets") };

Deno.test("parity: logits match PyTorch (max abs error ≤ 1e-4)", async () => {
  const model = await loadGPT2Weights(dir);
  const out = tf.tidy(() => logits(model, tf.tensor2d(batch.ids, undefined, "int32")));
  assert.deepEqual(out.shape, fixture("logits").shape);
  const err = maxAbsDiff(await out.data(), fixture("logits").data);
  out.dispose();
  disposeGPT2(model);
  assert.ok(err <= 1e-4, `max abs logit error ${err}`);
});

Deno.test("parity: loss and the gradient of every weight match PyTorch", async () => {
  const model = await loadGPT2Weights(dir);
  const { loss, grads } = lossAndGrads(model, batch);
  assertAllClose([(await loss.data())[0]], [expected.loss], { atol: 1e-5, what: "loss" });
  const names = Object.keys(model.params);
  assert.equal(names.length, [...fixtures.tensors.keys()].filter((k) => k.startsWith("grad.")).length);
  for (const name of names) {
    const want = fixture(`grad.${name}`);
    assert.deepEqual(grads[name].shape, want.shape, name);
    // Gradients are small numbers: compare with a tolerance relative to their scale.
    const scale = Math.max(...Array.from(want.data, Math.abs));
    assertAllClose(await grads[name].data(), want.data, { atol: 1e-5 + 1e-3 * scale, what: `grad ${name}` });
  }
  tf.dispose([loss, ...Object.values(grads)]);
  disposeGPT2(model);
});

Deno.test("parity: 5 AdamW steps with clipping follow PyTorch's loss trajectory", async () => {
  const model = await loadGPT2Weights(dir);
  const a = expected.adamw;
  const optimizer = new AdamW(model.params, { betas: a.betas, eps: a.eps, weightDecay: a.weight_decay });
  const losses: number[] = [];
  const norms: number[] = [];
  for (let step = 0; step < a.steps; step++) {
    const { loss, gradNorm } = trainStep(model, optimizer, batch, { lr: a.lr, gradClip: a.grad_clip_norm, seed: step });
    losses.push((await loss.data())[0]);
    norms.push((await gradNorm.data())[0]);
    tf.dispose([loss, gradNorm]);
  }
  optimizer.dispose();
  disposeGPT2(model);
  assertAllClose(losses, expected.losses, { atol: 1e-4, what: "losses" });
  assertAllClose(norms, expected.grad_norms, { atol: 1e-4, rtol: 1e-4, what: "grad norms" });
  assert.ok(losses[4] < losses[0], "the loss did not go down");
});

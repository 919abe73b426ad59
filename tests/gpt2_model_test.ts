/**
 * Contract tests of the GPT-2 forward pass: shapes, causality, the KV cache,
 * left padding, dropout only when training, and no tensor leaks.
 * (Numerical parity with PyTorch lives in parity_test.ts.)
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { gpt2HiddenWithCache, lmHead, logits } from "../lib/gpt2/forward.ts";
import { disposeCache } from "../lib/ops/kv_cache.ts";
import { crossEntropy } from "../lib/gpt2/loss.ts";
import { assert, assertAllClose, assertNoLeak, maxAbsDiff } from "./helpers.ts";

await initBackend({ quiet: true });
const config = resolveGPT2Config({ vocab_size: 53, n_positions: 24, n_embd: 32, n_layer: 2, n_head: 4, dropout: 0.2 });
const model = createGPT2(config, { seed: 3 });
const ids = [[1, 5, 9, 2, 44, 7, 3, 8, 0, 52], [4, 4, 4, 10, 11, 12, 13, 14, 15, 16]];
const idsTensor = () => tf.tensor2d(ids, [2, 10], "int32");

Deno.test("logits() has shape [B, T, vocab] and is finite", async () => {
  const out = tf.tidy(() => logits(model, idsTensor()));
  assert.deepEqual(out.shape, [2, 10, 53]);
  const values = await out.data();
  out.dispose();
  assert.ok(values.every(Number.isFinite));
});

Deno.test("forward is causal: changing token t+1 leaves logits ≤ t unchanged", () => {
  const changed = ids.map((r) => [...r]);
  changed[0][6] = 30;
  changed[1][6] = 31;
  const [a, b] = tf.tidy(() => [logits(model, idsTensor()), logits(model, tf.tensor2d(changed, [2, 10], "int32"))]);
  const before = (t: tf.Tensor) => t.slice([0, 0, 0], [2, 6, -1]).dataSync();
  assert.ok(maxAbsDiff(before(a), before(b)) === 0, "positions before the change moved");
  const after = (t: tf.Tensor) => t.slice([0, 6, 0], [2, 1, -1]).dataSync();
  assert.ok(maxAbsDiff(after(a), after(b)) > 1e-4, "the changed position did not change at all");
  tf.dispose([a, b]);
});

Deno.test("KV cache: feeding tokens one at a time gives the full forward's logits", async () => {
  const full = tf.tidy(() => logits(model, idsTensor()));
  let cache;
  const steps: tf.Tensor[] = [];
  for (let t = 0; t < 10; t++) {
    const column = tf.tensor2d(ids.map((r) => [r[t]]), [2, 1], "int32");
    const out = gpt2HiddenWithCache(model, column, { cache });
    disposeCache(cache);
    cache = out.cache;
    steps.push(lmHead(model, out.hidden));
    out.hidden.dispose();
    column.dispose();
  }
  disposeCache(cache);
  const incremental = tf.concat(steps, 1);
  assertAllClose(await incremental.data(), await full.data(), { atol: 1e-4, what: "cached logits" });
  tf.dispose([full, incremental, ...steps]);
});

Deno.test("left padding with attention mask and position ids gives the unpadded logits", async () => {
  const row = [7, 8, 9, 10];
  const alone = tf.tidy(() => logits(model, tf.tensor2d([row], [1, 4], "int32")));
  const padded = tf.tidy(() =>
    logits(model, tf.tensor2d([[0, 0, ...row]], [1, 6], "int32"), {
      attentionMask: tf.tensor2d([[0, 0, 1, 1, 1, 1]], [1, 6], "int32"),
      positionIds: tf.tensor2d([[0, 0, 0, 1, 2, 3]], [1, 6], "int32"),
    }).slice([0, 2, 0], [1, 4, -1])
  );
  assertAllClose(await padded.data(), await alone.data(), { atol: 1e-4, what: "padded logits" });
  tf.dispose([alone, padded]);
});

Deno.test("dropout is off unless training, and training with a seed is repeatable", async () => {
  const [evalA, evalB, trainA, trainB] = tf.tidy(() => [
    logits(model, idsTensor()),
    logits(model, idsTensor()),
    logits(model, idsTensor(), { training: true, seed: 11 }),
    logits(model, idsTensor(), { training: true, seed: 11 }),
  ]);
  assert.equal(maxAbsDiff(await evalA.data(), await evalB.data()), 0);
  assert.ok(maxAbsDiff(await evalA.data(), await trainA.data()) > 1e-3, "dropout had no effect when training");
  assert.equal(maxAbsDiff(await trainA.data(), await trainB.data()), 0);
  tf.dispose([evalA, evalB, trainA, trainB]);
});

Deno.test("a training step (loss + gradients) leaks no tensors", async () => {
  const targets = tf.tensor2d(ids.map((r) => [...r.slice(1), 0]), [2, 10], "int32");
  const input = idsTensor();
  await assertNoLeak(async () => {
    const { value, grads } = tf.variableGrads(() => crossEntropy(logits(model, input, { training: true, seed: 1 }), targets));
    assert.equal(Object.keys(grads).length, Object.keys(model.params).length);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  }, "training step");
  tf.dispose([targets, input]);
});

Deno.test("forward rejects sequences longer than the context", () => {
  assert.throws(
    () => logits(model, tf.zeros([1, 25], "int32") as tf.Tensor2D),
    /25 positions exceed the context length n_positions=24/,
  );
});

Deno.test("crossEntropy() with a mask averages over counted positions only", async () => {
  const l = tf.tensor3d([[[0, 0, 0], [2, 0, 0]]]);
  const t = tf.tensor2d([[1, 0]], [1, 2], "int32");
  const m = tf.tensor2d([[0, 1]], [1, 2]);
  const masked = crossEntropy(l, t, m);
  const expected = -(2 - Math.log(Math.exp(2) + 2)); // position 1 only
  assertAllClose([await masked.array() as number], [expected], { atol: 1e-6 });
  tf.dispose([l, t, m, masked]);
});

Deno.test("createGPT2() is repeatable for every seed (0 included) and uses GPT-2's init", async () => {
  const big = resolveGPT2Config({ vocab_size: 500, n_positions: 64, n_embd: 64, n_layer: 4, n_head: 4 });
  const [a, b, c] = [createGPT2(big, { seed: 0 }), createGPT2(big, { seed: 0 }), createGPT2(big, { seed: 1 })];
  const wte = async (m: typeof a) => await m.params["wte.weight"].data();
  assert.equal(maxAbsDiff(await wte(a), await wte(b)), 0);
  assert.ok(maxAbsDiff(await wte(a), await wte(c)) > 0);
  const std = async (name: string) => {
    const v = Array.from(await a.params[name].data());
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    return Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
  };
  assertAllClose([await std("wte.weight")], [0.02], { rtol: 0.05, what: "std wte" });
  assertAllClose([await std("h.0.attn.c_attn.weight")], [0.02], { rtol: 0.05, what: "std c_attn" });
  assertAllClose([await std("h.1.mlp.c_proj.weight")], [0.02 / Math.sqrt(8)], { rtol: 0.05, what: "std mlp.c_proj (residual)" });
  assert.ok((await a.params["h.0.ln_1.weight"].data()).every((x) => x === 1));
  assert.ok((await a.params["h.0.attn.c_attn.bias"].data()).every((x) => x === 0));
  [a, b, c].forEach(disposeGPT2);
});

Deno.test("crossEntropy() gradient with a mask matches (softmax − onehot) · mask / count", async () => {
  const z = [[[1, 2, 0.5], [0, -1, 3]], [[2, 2, 2], [0.1, 0.2, 0.3]]];
  const targets = [[2, 0], [1, 1]];
  const mask = [[1, 0], [1, 1]];
  const g = tf.grad((l: tf.Tensor) => crossEntropy(l as tf.Tensor3D, tf.tensor2d(targets, undefined, "int32"), tf.tensor2d(mask)))(
    tf.tensor3d(z),
  );
  const expected: number[] = [];
  z.forEach((row, b) =>
    row.forEach((logitsRow, t) => {
      const e = logitsRow.map(Math.exp);
      const sum = e.reduce((a, x) => a + x, 0);
      e.forEach((x, v) => expected.push(((x / sum) - (v === targets[b][t] ? 1 : 0)) * mask[b][t] / 3));
    })
  );
  assertAllClose(await g.data(), expected, { atol: 1e-6, what: "dLoss/dlogits" });
  g.dispose();
});

globalThis.addEventListener("unload", () => disposeGPT2(model));

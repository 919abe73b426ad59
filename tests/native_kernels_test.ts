/**
 * The wasm fast path (lib/fast: native C kernels, copy kernels, shared
 * Identity) gives the same values and gradients as the tfjs composites it
 * replaces and as naive loops. Runs where the wasm backend and a C compiler
 * are available (scripts/setup.sh); reported as ignored elsewhere.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { loadNativeKernels } from "../lib/fast/native_kernels.ts";
import {
  fusedAttention,
  fusedCrossEntropyRows,
  fusedGeluNew,
  fusedGlobalNorm,
  fusedLayerNorm,
  fusedMaskedSoftmax,
} from "../lib/fast/fused_ops.ts";
import { geluNew, layerNorm } from "../lib/gpt2/layers.ts";
import { crossEntropy, crossEntropyRows } from "../lib/gpt2/loss.ts";
import { attentionMask } from "../lib/gpt2/attention.ts";
import { AdamW } from "../lib/train/adamw.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { gpt2Hidden, gpt2HiddenWithCache } from "../lib/gpt2/forward.ts";
import { disposeCache, flattenCache } from "../lib/ops/kv_cache.ts";
import { ATTENTION, ATTENTION_INFERENCE } from "../lib/fast/kernel_names.ts";
import { assert, assertAllClose } from "./helpers.ts";

const backend = await initBackend({ quiet: true });
const native = backend === "wasm" && loadNativeKernels() !== undefined;
const wasm = backend === "wasm" && Deno.env.get("RLHF_NATIVE_KERNELS") !== "0";

function randomValues(n: number, seed: number, scale = 1): Float32Array {
  let x = seed;
  return Float32Array.from({ length: n }, () => (((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5) * 2 * scale);
}
const rand = (shape: number[], seed: number, scale = 1) => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed, scale), shape);

/** Values and gradients (w.r.t. every input) of f(...xs)·w summed, for a random weighting w. */
async function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]) {
  const y = f(...xs);
  const w = rand(y.shape, 99);
  const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs);
  const out = { value: await y.data(), grads: await Promise.all(grads.map((g) => g.data())) };
  tf.dispose([y, w, ...grads]);
  return out;
}

async function assertSameFunction(
  name: string,
  fast: (...xs: tf.Tensor[]) => tf.Tensor,
  ref: (...xs: tf.Tensor[]) => tf.Tensor,
  xs: tf.Tensor[],
  atol = 1e-5,
) {
  const a = await valueAndGrads(fast, xs);
  const b = await valueAndGrads(ref, xs);
  assertAllClose(a.value, b.value, { atol, what: `${name} value` });
  a.grads.forEach((g, i) => assertAllClose(g, b.grads[i], { atol, what: `${name} gradient of input ${i}` }));
}

Deno.test({
  name: "native GELU and LayerNorm match the tfjs composites (values and gradients)",
  ignore: !native,
  fn: async () => {
    const x = rand([6, 5, 40], 1, 4); // wide range: the tails of tanh matter
    await assertSameFunction("gelu_new", fusedGeluNew, geluNew.reference, [x]);
    const w = rand([40], 2), b = rand([40], 3);
    await assertSameFunction("layer_norm", (x, w, b) => fusedLayerNorm(x, w, b, 1e-5), (x, w, b) => layerNorm.reference(x, w, b, 1e-5), [
      x,
      w,
      b,
    ], 3e-5);
    tf.dispose([x, w, b]);
  },
});

Deno.test({
  name: "native cross-entropy matches the composite, with and without a mask; a bad target gives NaN",
  ignore: !native,
  fn: async () => {
    const logits = rand([3, 4, 50], 4, 6) as tf.Tensor3D;
    const targets = tf.tensor2d([[1, 0, 49, 7], [3, 3, 3, 3], [10, 20, 30, 40]], undefined, "int32");
    const mask = tf.tensor2d([[1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 1, 1]]);
    for (const m of [undefined, mask]) {
      await assertSameFunction(
        `cross-entropy mask=${!!m}`,
        (z) => crossEntropy(z as tf.Tensor3D, targets, m),
        (z) => referenceCrossEntropy(z as tf.Tensor3D, targets, m),
        [logits],
      );
    }
    const rows = fusedCrossEntropyRows(tf.reshape(logits, [12, 50]), tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50], "int32"));
    const values = await rows.data();
    assert.ok(Number.isNaN(values[11]) && values.slice(0, 11).every(Number.isFinite), `rows: ${values}`);
    tf.dispose([logits, targets, mask, rows]);
  },
});

Deno.test({
  name: "native attention softmax matches softmax(scale·s + mask) for causal, cached and padded masks",
  ignore: !native,
  fn: async () => {
    const scores = rand([2, 3, 4, 6], 5, 3) as tf.Tensor4D;
    const padding = tf.tensor2d([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]]); // row 0 left-padded
    for (const mask of [attentionMask(4, 2), attentionMask(4, 2, padding)]) {
      await assertSameFunction(
        `masked softmax [${mask.shape}]`,
        (s, m) => fusedMaskedSoftmax(s as tf.Tensor4D, m, 0.5),
        (s, m) => tf.softmax(tf.add(tf.mul(s, 0.5), m)),
        [scores, mask],
      );
      mask.dispose();
    }
    // Masked keys get a weight of exactly 0 (not a denormal, which would slow every later product).
    const p = fusedMaskedSoftmax(scores, attentionMask(4, 2), 1);
    const values = await p.data();
    assert.equal(values[3 * 6 + 5 - 18], 0); // query 0 (sees keys 0..2) → key 5 masked
    tf.dispose([scores, padding, p]);
  },
});

/** crossEntropy with the per-row loss computed by the reference (tfjs ops) instead of the native kernel. */
function referenceCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask?: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [B, T, V] = logits.shape;
    const rows = crossEntropyRows.reference(tf.reshape(logits, [B * T, V]), tf.cast(tf.reshape(targets, [B * T]), "int32") as tf.Tensor1D);
    const w = mask ? tf.reshape(mask, [B * T]) : tf.ones([B * T]);
    return tf.div(tf.sum(tf.mul(rows, w)), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  });
}

/** Causal self-attention after the qkv projection, as tfjs ops (the model's composite path, formula by formula). */
function attentionComposite(qkv: tf.Tensor, mask: tf.Tensor, B: number, T: number, H: number, hs: number): tf.Tensor {
  const [q, k, v] = tf.unstack(tf.transpose(tf.reshape(qkv, [B, T, 3, H, hs]), [2, 0, 3, 1, 4]));
  const weights = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), mask));
  return tf.reshape(tf.transpose(tf.matMul(weights, v), [0, 2, 1, 3]), [B * T, H * hs]);
}

Deno.test({
  name: "native training attention matches the composite (values, gradients) for causal and left-padded masks, at tile edges",
  ignore: !native,
  fn: async () => {
    // T = 37 is not a multiple of the kernel's 4 × 16 tiles; head size 16 takes the tiled path, 3 the edge loops.
    for (const [B, T, H, hs] of [[2, 37, 2, 16], [3, 5, 1, 3]]) {
      const qkv = rand([B * T, 3 * H * hs], 11 + T, 2);
      // Row 0 is left-padded by 3: its first 3 queries see no real key at all (a fully masked row).
      const padding = tf.tensor2d(Array.from({ length: B * T }, (_, i) => (i < 3 ? 0 : 1)), [B, T]);
      for (const mask of [attentionMask(T, 0), attentionMask(T, 0, padding)]) {
        await assertSameFunction(
          `attention B=${B} T=${T} H=${H} hs=${hs} mask [${mask.shape}]`,
          (x) => fusedAttention(x as tf.Tensor2D, mask, H, 1 / Math.sqrt(hs)),
          (x) => attentionComposite(x, mask, B, T, H, hs),
          [qkv],
          2e-5,
        );
        mask.dispose();
      }
      tf.dispose([qkv, padding]);
    }
  },
});

Deno.test({
  name: "native training attention gives the same bits on 1, 2 and 3 threads (forward and backward)",
  ignore: !native,
  fn: () => {
    const k = loadNativeKernels()!;
    const [B, T, H, hs] = [3, 21, 2, 16];
    const qkv = randomValues(B * T * 3 * H * hs, 31);
    const dout = randomValues(B * T * H * hs, 32);
    const mask = new Float32Array(T * T).map((_, i) => (i % T > Math.floor(i / T) ? -1e9 : 0));
    const run = (threads: number) => {
      const out = new Float32Array(B * T * H * hs), dqkv = new Float32Array(qkv.length);
      assert.equal(k.attention_train_forward(qkv, mask, B, T, H, hs, 1, 0.25, threads, out), 0);
      assert.equal(k.attention_train_backward(qkv, mask, dout, B, T, H, hs, 1, 0.25, threads, dqkv), 0);
      return { out, dqkv };
    };
    const one = run(1);
    for (const threads of [2, 3]) {
      const many = run(threads);
      assert.deepEqual(many.out, one.out, `forward on ${threads} threads`);
      assert.deepEqual(many.dqkv, one.dqkv, `backward on ${threads} threads`);
    }
    assert.ok(one.dqkv.some((x) => x !== 0));
  },
});

Deno.test({
  name: "a model's gradients are the same with the native training attention as with the composite",
  ignore: !native,
  fn: async () => {
    const model = createGPT2(resolveGPT2Config({ preset: "gpt2-nano", vocab_size: 50, dropout: 0 }), { seed: 4 });
    const ids = tf.tensor2d([[0, 0, 5, 6, 7, 8, 9], [1, 2, 3, 4, 5, 6, 7]], undefined, "int32");
    const padding = tf.tensor2d([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]], undefined, "int32");
    const w = rand([2, 7, model.config.n_embd], 12);
    const grads = async () => {
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(gpt2Hidden(model, ids, { attentionMask: padding }), w)) as tf.Scalar);
        return [value, ...Object.values(grads)];
      });
      const out = info.result as tf.Tensor[];
      const values = await Promise.all(out.map((t) => t.data()));
      tf.dispose(out);
      return { kernels: info.kernelNames, values };
    };
    const fused = await grads();
    assert.ok(fused.kernels.includes(ATTENTION), `kernels used: ${fused.kernels}`);
    const kernel = tf.getKernel(ATTENTION, "wasm")!;
    tf.unregisterKernel(ATTENTION, "wasm");
    let composite;
    try {
      composite = await grads();
    } finally {
      tf.registerKernel(kernel);
    }
    assert.ok(!composite.kernels.includes(ATTENTION));
    fused.values.forEach((v, i) => assertAllClose(v, composite.values[i], { atol: 2e-5, rtol: 1e-5, what: `loss / gradient ${i}` }));
    tf.dispose([ids, padding, w]);
    disposeGPT2(model);
  },
});

Deno.test({
  name: "native global norm equals √(Σ x²) over several tensors (one larger than a 4096-value block)",
  ignore: !native,
  fn: async () => {
    const tensors = [rand([3, 5], 21), rand([10000], 22, 3), rand([7], 23)];
    const naive = Math.sqrt(tensors.reduce((sum, t) => sum + Array.from(t.dataSync()).reduce((s, x) => s + x * x, 0), 0));
    const norm = fusedGlobalNorm(tensors);
    assertAllClose(await norm.data(), [naive], { rtol: 1e-6, atol: 0, what: "global norm" });
    tf.dispose([...tensors, norm]);
  },
});

Deno.test({
  name: "native AdamW step equals the formula computed by hand",
  ignore: !native,
  fn: async () => {
    const p0 = randomValues(30, 6), g = randomValues(30, 7);
    const param = tf.variable(tf.tensor2d(p0, [5, 6]));
    const opt = new AdamW({ w: param }, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
    const lr = 0.01;
    let p = Array.from(p0), m = new Array(30).fill(0), v = new Array(30).fill(0);
    for (let t = 1; t <= 3; t++) {
      tf.tidy(() => opt.step({ w: tf.tensor2d(g, [5, 6]) }, lr));
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
      v = v.map((vi, i) => 0.95 * vi + 0.05 * g[i] * g[i]);
      p = p.map((pi, i) => pi * (1 - lr * 0.1) - (lr / (1 - 0.9 ** t)) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - 0.95 ** t) + 1e-8));
    }
    assertAllClose(await param.data(), p, { atol: 1e-6, what: "weights after 3 steps" });
    opt.dispose();
    param.dispose();
  },
});

Deno.test({
  name: "wasm Transpose, Sum, Add, Gather, Unpack and Identity replacements agree with naive loops",
  ignore: !wasm,
  fn: async () => {
    const shape = [2, 3, 4, 5];
    const data = randomValues(120, 8);
    const x = tf.tensor(data, shape);
    const at = (i: number[]) => data[((i[0] * 3 + i[1]) * 4 + i[2]) * 5 + i[3]];
    // Transpose: out[a, b, c, d] = x[...] with axes permuted.
    const perm = [2, 0, 3, 1];
    const xt = tf.transpose(x, perm);
    const expected: number[] = [];
    for (let a = 0; a < 4; a++) {
      for (let b = 0; b < 2; b++) for (let c = 0; c < 5; c++) for (let d = 0; d < 3; d++) expected.push(at([b, d, a, c]));
    }
    assert.deepEqual(xt.shape, [4, 2, 5, 3]);
    assertAllClose(await xt.data(), expected, { atol: 0, what: "transpose" });
    const ti = tf.transpose(tf.tensor2d([[1, 2, 3], [4, 5, 6]], undefined, "int32"));
    assert.deepEqual(Array.from(await ti.data()), [1, 4, 2, 5, 3, 6]);
    // Sum over adjacent axes [1, 2] with and without keepDims, and over all axes.
    const s = tf.sum(x, [1, 2]);
    const sk = tf.sum(x, [2, 1], true);
    const naive: number[] = [];
    for (let a = 0; a < 2; a++) {
      for (let d = 0; d < 5; d++) {
        let acc = 0;
        for (let b = 0; b < 3; b++) for (let c = 0; c < 4; c++) acc += at([a, b, c, d]);
        naive.push(acc);
      }
    }
    assert.deepEqual(s.shape, [2, 5]);
    assert.deepEqual(sk.shape, [2, 1, 1, 5]);
    assertAllClose(await s.data(), naive, { atol: 1e-5, what: "sum [1,2]" });
    assertAllClose(await sk.data(), naive, { atol: 1e-5, what: "sum keepDims" });
    assertAllClose(await tf.sum(x).data(), [data.reduce((a, b) => a + b, 0)], { atol: 1e-4, what: "sum all" });
    // Add: same shapes (the native loop), broadcast and int32 (the stock kernel).
    const other = randomValues(120, 9);
    assertAllClose(await tf.add(x, tf.tensor(other, shape)).data(), data.map((v, i) => v + other[i]), { atol: 0, what: "add" });
    assertAllClose(await tf.add(x, tf.scalar(2)).data(), data.map((v) => v + 2), { atol: 0, what: "add a scalar" });
    assert.deepEqual(Array.from(await tf.add(tf.tensor1d([1, 2], "int32"), tf.tensor1d([3, 4], "int32")).data()), [4, 6]);
    // Gather rows (embedding lookup) with repeats; an index out of range is an error naming it.
    const table = tf.tensor2d(data.slice(0, 20), [4, 5]);
    const rows = tf.gather(table, tf.tensor1d([3, 0, 3], "int32"));
    assertAllClose(await rows.data(), [...data.slice(15, 20), ...data.slice(0, 5), ...data.slice(15, 20)], { atol: 0, what: "gather" });
    assert.throws(() => tf.gather(table, tf.tensor1d([4], "int32")), Error, "index 4");
    // Unpack along a middle axis.
    const parts = tf.unstack(x, 2);
    assert.equal(parts.length, 4);
    const third: number[] = [];
    for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let d = 0; d < 5; d++) third.push(at([a, b, 2, d]));
    assertAllClose(await parts[2].data(), third, { atol: 0, what: "unstack axis 2" });
    // Identity shares data: a clone outlives its source.
    const source = tf.tensor1d([1, 2, 3]);
    const copy = tf.clone(source);
    source.dispose();
    assert.deepEqual(Array.from(await copy.data()), [1, 2, 3]);
    tf.dispose([x, xt, ti, s, sk, table, rows, ...parts, copy]);
  },
});

Deno.test({
  name: "native inference attention gives the composite's hidden states and cache (padding mask, then one cached step)",
  ignore: !native,
  fn: async () => {
    const model = createGPT2(resolveGPT2Config({ preset: "gpt2-nano", vocab_size: 50, dropout: 0 }), { seed: 3 });
    const ids = tf.tensor2d([[0, 0, 5, 6, 7], [1, 2, 3, 4, 5]], undefined, "int32");
    const padding = tf.tensor2d([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], undefined, "int32");
    const positions = tf.tensor2d([[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]], undefined, "int32");
    const next = tf.tensor2d([[8], [9]], undefined, "int32");
    const padding2 = tf.tensor2d([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]], undefined, "int32");
    const positions2 = tf.tensor2d([[3], [5]], undefined, "int32");
    const run = () => {
      const first = gpt2HiddenWithCache(model, ids, { attentionMask: padding, positionIds: positions });
      const second = gpt2HiddenWithCache(model, next, { cache: first.cache, attentionMask: padding2, positionIds: positions2 });
      const out = [first.hidden, second.hidden, ...flattenCache(second.cache)];
      disposeCache(first.cache);
      return out;
    };
    const info = await tf.profile(() => run()); // no gradient recorded: the fused kernel
    const fast = info.result as tf.Tensor[];
    assert.ok(info.kernelNames.includes(ATTENTION_INFERENCE), `kernels used: ${info.kernelNames}`);
    let composite: tf.Tensor[] = [];
    // Inside a gradient scope the model takes the composite path.
    tf.dispose(
      tf.variableGrads(() => {
        composite = run().map((t) => tf.keep(t));
        return tf.sum(composite[1]) as tf.Scalar;
      }, [model.params["h.0.attn.c_attn.weight"]]).grads,
    );
    assert.equal(fast.length, composite.length);
    for (let i = 0; i < fast.length; i++) {
      assert.deepEqual(fast[i].shape, composite[i].shape);
      assertAllClose(await fast[i].data(), await composite[i].data(), { atol: 1e-5, what: `output ${i}` });
    }
    tf.dispose([...fast, ...composite, ids, padding, positions, next, padding2, positions2]);
    disposeGPT2(model);
  },
});

Deno.test({
  name: "native sample_softmax_rows draws the token the JS sampler draws from the same uniforms, with the same log-prob",
  ignore: !native,
  fn: async () => {
    const { sampleRows, sampleToken } = await import("../lib/generate/sampling.ts");
    const { Rng } = await import("../lib/rng.ts");
    const V = 5000;
    const rows = 40;
    const values = randomValues(rows * V, 7, 6); // logits in [−6, 6): a spread-out distribution
    const wanted = Array.from({ length: rows }, (_, i) => i % 7 !== 3); // some rows already stopped
    for (const temperature of [1, 0.7]) {
      const fast = sampleRows(values, V, wanted, { temperature }, new Rng(5));
      const rng = new Rng(5);
      const slow = wanted.map((w, i) => (w ? sampleToken(values.subarray(i * V, (i + 1) * V), { temperature }, rng) : undefined));
      assert.deepEqual(fast.map((s) => s?.token), slow.map((s) => s?.token), `tokens at temperature ${temperature}`);
      assertAllClose(fast.filter((s) => s).map((s) => s!.logprob), slow.filter((s) => s).map((s) => s!.logprob), { atol: 1e-4 });
    }
  },
});

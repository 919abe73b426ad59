/**
 * The fast paths: every row of the one table (lib/ops/fast_path.ts) gives its
 * op's reference result, values and gradients; and the wasm fast path's other
 * pieces (native C kernels, copy kernels, shared Identity) agree with the
 * tfjs composites and naive loops. A row runs where this process uses it
 * (the wasm backend, the C kernels, BLAS or not); tests/parity_paths_test.ts
 * runs the table's test on every other path this machine has.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { kernelThreads, loadNativeKernels, nativeKernelsLibraryPath } from "../lib/fast/native_kernels.ts";
import { loadBlas } from "../lib/fast/openblas.ts";
import { blasOnKernelPool } from "../lib/fast/pooled_blas.ts";
import { fusedCrossEntropyRows } from "../lib/fast/fused_ops.ts";
import { FAST_PATHS, type FastImplementation, type FastPathOps, type OpName } from "../lib/ops/fast_path.ts";
import { geluNew, layerNorm, linear, matMulTransposeB } from "../lib/gpt2/layers.ts";
import { crossEntropyRows } from "../lib/gpt2/loss.ts";
import { cacheLength } from "../lib/ops/kv_cache.ts";
import { rowEntropy } from "../lib/rollout/logprobs.ts";
import { attend, attentionMask, attentionWeights } from "../lib/gpt2/attention.ts";
import { decoderBlock } from "../lib/gpt2/block.ts";
import { adamWUpdates } from "../lib/train/adamw.ts";
import { globalNorm } from "../lib/train/clip.ts";
import { sampleSoftmaxRows } from "../lib/generate/sampling.ts";
import { float32View } from "../lib/generate/generate.ts";
import { Rng } from "../lib/rng.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { gpt2Hidden, gpt2HiddenWithCache } from "../lib/gpt2/forward.ts";
import { disposeCache, flattenCache } from "../lib/ops/kv_cache.ts";
import { ATTENTION, ATTENTION_INFERENCE, BLOCK_INFERENCE } from "../lib/fast/kernel_names.ts";
import { assert, assertAllClose } from "./helpers.ts";

const backend = await initBackend({ quiet: true });
const native = backend === "wasm" && loadNativeKernels() !== undefined;
const wasm = backend === "wasm" && Deno.env.get("RLHF_NATIVE_KERNELS") !== "0";

function randomValues(n: number, seed: number, scale = 1): Float32Array {
  let x = seed;
  return Float32Array.from({ length: n }, () => (((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5) * 2 * scale);
}
const rand = (shape: number[], seed: number, scale = 1) => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed, scale), shape);

/** Values and (with `withGradient`) gradients w.r.t. every input of f(...xs)·w summed, for a random weighting w. */
async function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], withGradient: boolean) {
  const y = tf.tidy(() => f(...xs));
  const w = rand(y.shape, 99);
  const grads = withGradient ? tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs) : [];
  const out = { value: await y.data(), grads: await Promise.all(grads.map((g) => g.data())) };
  tf.dispose([y, w, ...grads]);
  return out;
}

async function assertSameFunction(
  name: string,
  fast: (...xs: tf.Tensor[]) => tf.Tensor,
  ref: (...xs: tf.Tensor[]) => tf.Tensor,
  xs: tf.Tensor[],
  { atol = 1e-5, withGradient = true } = {},
) {
  const a = await valueAndGrads(fast, xs, withGradient);
  const b = await valueAndGrads(ref, xs, withGradient);
  assertAllClose(a.value, b.value, { atol, what: `${name} value` });
  a.grads.forEach((g, i) => assertAllClose(g, b.grads[i], { atol, what: `${name} gradient of input ${i}` }));
}

// --- The table: one case per op, every row checked against the op's reference ---

type Args<K extends OpName> = Parameters<FastPathOps[K]>;

/**
 * How to test one op's rows: small argument lists (each row in use must accept at least one), and a
 * comparison of a row's implementation with the op's reference on one of them; `withGradient` when the row
 * is taken while a gradient is recorded, so that its gradient is used too.
 */
interface OpCase<K extends OpName> {
  readonly args: () => Args<K>[];
  readonly check: (fast: FastPathOps[K], args: Args<K>, withGradient: boolean) => void | Promise<void>;
}

/** A left-padding mask [B, S]: row 0 starts with `pads` pads, the other rows have none. */
const padding = (B: number, S: number, pads: number) => tf.tensor2d(Array.from({ length: B * S }, (_, i) => (i < pads ? 0 : 1)), [B, S]);

/** Attention inputs for B rows of T new positions after P cached ones (P = 0: none), H heads of size hs. */
/** `room`: the cache has that many positions to spare after its P filled ones, and the step asks for it (generation). */
function attendArgs(B: number, T: number, H: number, hs: number, P: number, keepCache: boolean, padded: boolean, room = 0): [
  Args<"attend">[0],
] {
  const cap = P + (P > 0 ? room : 0); // the spare positions hold stale numbers, as a generation cache's do
  const past = P > 0
    ? { key: rand([B, H, cap, hs], 40 + P) as tf.Tensor4D, value: rand([B, H, cap, hs], 50 + P) as tf.Tensor4D, length: P }
    : undefined;
  const mask = tf.tidy(() => attentionMask(T, P, padded ? padding(B, P + T, 3) : undefined));
  const qkv = rand([B * T, 3 * H * hs], 11 + T, 2) as tf.Tensor2D;
  return [{ qkv, batch: B, nHead: H, past, mask, dropoutRate: 0, keepCache, ...(room ? { cacheCapacity: P + T + room } : {}) }];
}

/** The tensors of an attention output, heads first; of a cache, its filled positions. */
const attendTensors = (out: ReturnType<FastPathOps["attend"]>) => {
  if (!out.present) return [out.heads];
  const n = cacheLength([out.present]);
  const filled = (t: tf.Tensor4D) => t.shape[2] === n ? t : tf.slice(t, 0, [t.shape[0], t.shape[1], n, t.shape[3]]);
  return [out.heads, filled(out.present.key), filled(out.present.value)];
};

/** A decoder block's inputs: x [B, T, C] after P cached positions, H heads of size hs (see attendArgs). */
function blockArgs(B: number, T: number, H: number, hs: number, P: number, keepCache: boolean, padded: boolean, room = 0): [
  Args<"decoderBlock">[0],
] {
  const [{ qkv, past, mask, cacheCapacity }] = attendArgs(B, T, H, hs, P, keepCache, padded, room);
  qkv.dispose(); // the block makes its own
  const C = H * hs, F = 4 * C;
  const weights = {
    ln1Weight: rand([C], 61),
    ln1Bias: rand([C], 62),
    attnWeight: rand([C, 3 * C], 63, 0.3),
    attnBias: rand([3 * C], 64),
    projWeight: rand([C, C], 65, 0.3),
    projBias: rand([C], 66),
    ln2Weight: rand([C], 67),
    ln2Bias: rand([C], 68),
    fcWeight: rand([C, F], 69, 0.3) as tf.Tensor2D,
    fcBias: rand([F], 70) as tf.Tensor1D,
    fcProjWeight: rand([F, C], 71, 0.3) as tf.Tensor2D,
    fcProjBias: rand([C], 72) as tf.Tensor1D,
  };
  const x = rand([B, T, C], 73 + T, 2) as tf.Tensor3D;
  return [{ x, weights, nHead: H, eps: 1e-5, past, mask, dropoutRate: 0, keepCache, ...(room ? { cacheCapacity } : {}) }];
}

const adamWScalars = { beta1: 0.9, beta2: 0.95, eps: 1e-8, sqrtBias2: Math.sqrt(1 - 0.95 ** 2) };

const CASES: { readonly [K in OpName]: OpCase<K> } = {
  layerNorm: {
    args: () => [[rand([6, 5, 40], 1, 4), rand([40], 2), rand([40], 3), 1e-5]],
    check: (fast, [x, w, b, eps], withGradient) =>
      assertSameFunction("layerNorm", (x, w, b) => fast(x, w, b, eps), (x, w, b) => layerNorm.reference(x, w, b, eps), [x, w, b], {
        atol: 3e-5,
        withGradient,
      }),
  },
  geluNew: {
    args: () => [[rand([6, 5, 40], 1, 4)]], // a wide range: the tails of tanh matter
    check: (fast, [x], withGradient) => assertSameFunction("geluNew", fast, geluNew.reference, [x], { withGradient }),
  },
  linear: {
    // the second is large enough for the gradients' products to go to the BLAS (and then to one kernel)
    args: () => [
      [rand([7, 40], 4) as tf.Tensor2D, rand([40, 24], 5) as tf.Tensor2D, rand([24], 6) as tf.Tensor1D],
      [rand([70, 40], 4) as tf.Tensor2D, rand([40, 24], 5) as tf.Tensor2D, rand([24], 6) as tf.Tensor1D],
    ],
    check: (fast, [x, w, b], withGradient) =>
      assertSameFunction(
        "linear",
        (x, w, b) => fast(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
        (x, w, b) => linear.reference(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
        [x, w, b],
        { atol: 2e-5, withGradient },
      ),
  },
  matMulTransposeB: {
    args: () => [[rand([7, 40], 7) as tf.Tensor2D, rand([30, 40], 8) as tf.Tensor2D], [
      rand([70, 40], 7) as tf.Tensor2D,
      rand([30, 40], 8) as tf.Tensor2D,
    ]],
    check: (fast, [a, b], withGradient) =>
      assertSameFunction(
        "matMulTransposeB",
        (a, b) => fast(a as tf.Tensor2D, b as tf.Tensor2D),
        (a, b) => matMulTransposeB.reference(a as tf.Tensor2D, b as tf.Tensor2D),
        [a, b],
        { atol: 2e-5, withGradient },
      ),
  },
  attend: {
    args: () => [
      // Training: T = 37 is not a multiple of the native kernel's 4 × 16 tiles; head size 16 takes its tiled
      // path, 3 its edge loops; left padding of 3 leaves the first queries of row 0 no key at all.
      ...[false, true].flatMap((padded) => [attendArgs(2, 37, 2, 16, 0, false, padded), attendArgs(3, 5, 1, 3, 0, false, padded)]),
      attendArgs(2, 5, 2, 16, 0, true, true), // a prompt, keeping its cache
      attendArgs(2, 1, 2, 16, 5, true, true), // one cached step
      attendArgs(2, 5, 2, 16, 0, true, true, 4), // a prompt whose cache keeps room for 4 more
      attendArgs(2, 1, 2, 16, 5, true, true, 3), // one step appended in place to a cache with room
    ],
    check: async (fast, [inp], withGradient) => {
      const what = `attend T=${inp.qkv.shape[0] / inp.batch} past=${inp.past?.length ?? 0} room=${
        inp.cacheCapacity ?? "-"
      } mask [${inp.mask.shape}]`;
      if (inp.past && inp.cacheCapacity && !withGradient) {
        // Appended in place: the step's keys land in the past's own tensors, after its filled positions.
        const out = fast(inp);
        assert.ok(out.present!.key === inp.past.key && out.present!.length === inp.past.length! + 1, `${what}: appended in place`);
        out.heads.dispose();
      }
      const fastOut = tf.tidy(() => attendTensors(fast(inp)));
      const refOut = tf.tidy(() => attendTensors(attend.reference(inp)));
      assert.equal(fastOut.length, refOut.length, `${what}: the cache is kept by both or neither`);
      for (let i = 0; i < fastOut.length; i++) {
        assert.deepEqual(fastOut[i].shape, refOut[i].shape);
        assertAllClose(await fastOut[i].data(), await refOut[i].data(), { atol: 2e-5, what: `${what} output ${i}` });
      }
      tf.dispose([...fastOut, ...refOut]);
      if (withGradient) {
        // The mask gets no gradient from the native kernel: only the one with respect to qkv is compared.
        await assertSameFunction(
          what,
          (qkv) => fast({ ...inp, qkv: qkv as tf.Tensor2D }).heads,
          (qkv) => attend.reference({ ...inp, qkv: qkv as tf.Tensor2D }).heads,
          [inp.qkv],
          { atol: 2e-5 },
        );
      }
    },
  },
  decoderBlock: {
    args: () => [
      blockArgs(2, 37, 2, 16, 0, false, true), // scoring: no cache, left padding
      blockArgs(3, 5, 2, 16, 0, true, false), // a prompt, keeping its cache
      blockArgs(2, 1, 2, 16, 5, true, true), // one cached step
      blockArgs(2, 5, 2, 16, 0, true, true, 4), // a prompt whose cache keeps room for 4 more
      blockArgs(2, 1, 2, 16, 5, true, true, 3), // one step appended in place to a cache with room
    ],
    check: async (fast, [inp]) => {
      const what = `decoderBlock T=${inp.x.shape[1]} past=${inp.past?.length ?? 0} room=${inp.cacheCapacity ?? "-"}`;
      const tensors = (out: ReturnType<FastPathOps["decoderBlock"]>) =>
        out.present ? [out.x, ...attendTensors({ heads: out.x as unknown as tf.Tensor2D, present: out.present }).slice(1)] : [out.x];
      const fastOut = tf.tidy(() => tensors(fast(inp)));
      const refOut = tf.tidy(() => tensors(decoderBlock.reference(inp)));
      assert.equal(fastOut.length, refOut.length, `${what}: the cache is kept by both or neither`);
      for (let i = 0; i < fastOut.length; i++) {
        assert.deepEqual(fastOut[i].shape, refOut[i].shape);
        // The fused block runs the kernels the composite's ops run here (the block is registered only beside
        // them), in the same order on the same numbers: the same bits.
        assert.deepEqual(await fastOut[i].data(), await refOut[i].data(), `${what} output ${i}`);
      }
      tf.dispose([...fastOut, ...refOut]);
    },
  },
  maskedSoftmax: {
    args: () => {
      const masks = [attentionMask(4, 2), tf.tidy(() => attentionMask(4, 2, padding(2, 6, 2)))]; // causal; causal and left-padded
      return masks.map((mask) => [rand([2, 3, 4, 6], 5, 3) as tf.Tensor4D, mask, 0.5]);
    },
    check: async (fast, [scores, mask, scale], withGradient) => {
      await assertSameFunction(
        `maskedSoftmax [${mask.shape}]`,
        (s, m) => fast(s as tf.Tensor4D, m, scale),
        (s, m) => attentionWeights.reference(s as tf.Tensor4D, m, scale),
        [scores, mask],
        { withGradient },
      );
      // A masked key gets a weight of exactly 0 (not a denormal, which would slow every later product).
      const p = fast(scores, mask, scale);
      assert.equal((await p.data())[5], 0, "query 0 sees keys 0..2: key 5 is masked");
      p.dispose();
    },
  },
  crossEntropyRows: {
    args: () => [[rand([12, 50], 4, 6) as tf.Tensor2D, tf.tensor1d([1, 0, 49, 7, 3, 3, 3, 3, 10, 20, 30, 40], "int32")]],
    check: (fast, [logits, targets], withGradient) =>
      assertSameFunction(
        "crossEntropyRows",
        (z) => fast(z as tf.Tensor2D, targets),
        (z) => crossEntropyRows.reference(z as tf.Tensor2D, targets),
        [logits],
        { withGradient },
      ),
  },
  rowEntropy: {
    // Spread rows (one with a logit far above the rest) at two temperatures' scales.
    args: () => [[rand([12, 50], 31, 6) as tf.Tensor2D, 1], [
      tf.tidy(() => tf.concat([rand([3, 50], 32, 3), tf.fill([1, 50], -5)]).add(tf.oneHot([7, 0, 49, 3], 50).mul(40))) as tf.Tensor2D,
      1 / 0.7,
    ]],
    check: async (fast, [logits, scale]) => {
      const [a, b] = [fast(logits, scale), rowEntropy.reference(logits, scale)];
      assertAllClose(await a.data(), await b.data(), { atol: 2e-5, what: `rowEntropy × ${scale}` });
      tf.dispose([a, b]);
    },
  },
  adamWUpdates: {
    args: () => {
      // Three weights, one larger than a pool chunk (so that a thread's range starts and ends inside a weight).
      const weight = (shape: number[], seed: number, decay: number, stepSize: number) => ({
        param: rand(shape, seed),
        grad: rand(shape, seed + 1),
        m: rand(shape, seed + 2, 0.1),
        v: tf.tidy(() => tf.abs(rand(shape, seed + 3, 0.01))),
        decay,
        stepSize,
      });
      const weights = [weight([5, 6], 6, 1 - 0.01 * 0.1, 0.01 / (1 - 0.9 ** 2)), weight([70000], 10, 1, 2e-3), weight([7], 14, 0.99, 5e-4)];
      return [[weights, adamWScalars]];
    },
    check: async (fast, [weights, scalars]) => {
      const refOut = tf.tidy(() => adamWUpdates.reference(weights, scalars));
      // A fast row may write the moments in place: give it moments of its own (copies with their own data).
      const copy = async (t: tf.Tensor) => tf.tensor(await t.data(), t.shape);
      const own = await Promise.all(weights.map(async (w) => ({ ...w, m: await copy(w.m), v: await copy(w.v) })));
      const fastOut = tf.tidy(() => fast(own, scalars));
      for (const [w, outs] of fastOut.entries()) {
        for (const [i, what] of ["weight", "first moment", "second moment"].entries()) {
          assertAllClose(await outs[i].data(), await refOut[w][i].data(), { atol: 1e-6, what: `AdamW weight ${w}: ${what}` });
        }
      }
      tf.dispose([...new Set([...fastOut.flat(), ...own.flatMap((w) => [w.m, w.v])]), ...refOut.flat()]);
    },
  },
  globalNorm: {
    args: () => [[[rand([3, 5], 21), rand([10000], 22, 3), rand([7], 23)]]], // one tensor larger than a 4096-value block
    check: async (fast, [tensors]) => {
      const [a, b] = [fast(tensors), globalNorm.reference(tensors)];
      assertAllClose(await a.data(), await b.data(), { rtol: 1e-6, atol: 0, what: "global norm" });
      tf.dispose([a, b]);
    },
  },
  sampleSoftmaxRows: {
    args: () => {
      const V = 5000, rows = 40;
      const logits = randomValues(rows * V, 7, 6); // logits in [−6, 6): a spread-out distribution
      const rng = new Rng(5);
      const uniforms = Array.from({ length: rows }, (_, i) => (i % 7 === 3 ? undefined : rng.nextFloat())); // some rows already stopped
      return [1, 0.7].map((temperature) => [logits, V, uniforms, temperature]);
    },
    check: (fast, args) => {
      const [a, b] = [fast(...args), sampleSoftmaxRows.reference(...args)];
      assert.deepEqual(a.map((s) => s?.token), b.map((s) => s?.token), `tokens at temperature ${args[3]}`);
      assertAllClose(a.filter((s) => s).map((s) => s!.logprob), b.filter((s) => s).map((s) => s!.logprob), { atol: 1e-4 });
    },
  },
  float32View: {
    args: () => [[tf.tensor2d([[1.5, -2, 3], [4, 5, 6.25]])]],
    check: async (fast, [t]) => {
      assert.equal(float32View.reference(t), undefined, "tfjs itself has no view");
      const view = fast(t);
      assert.ok(view);
      assert.deepEqual(Array.from(view), Array.from(await t.data()));
    },
  },
};

/** The tensors of an argument list (also inside arrays and objects such as the attention inputs). */
function tensorsIn(value: unknown): tf.Tensor[] {
  if (value instanceof tf.Tensor) return [value];
  if (Array.isArray(value)) return value.flatMap(tensorsIn);
  if (value && typeof value === "object" && !ArrayBuffer.isView(value)) return Object.values(value).flatMap(tensorsIn);
  return [];
}

/** A row and a case with the op's types erased, for the loop over every op. */
type AnyRow = FastImplementation<(...args: unknown[]) => unknown>;
type AnyCase = { args: () => unknown[][]; check: (fast: unknown, args: unknown[], withGradient: boolean) => void | Promise<void> };

/** Whether dispatch takes `row` for `args` while a gradient is recorded (inside tf.grad, variableGrads, …). */
function acceptedWhileRecording(row: AnyRow, args: unknown[]): boolean {
  let accepted = false;
  const x = tf.scalar(1);
  tf.dispose(
    tf.grad((s: tf.Tensor) => {
      accepted = row.accepts(...args);
      return tf.neg(s);
    })(x),
  );
  x.dispose();
  return accepted;
}

/** Checks one row on every argument list of its op's case that it accepts (at least one), and that nothing leaks. */
async function checkRow(op: OpName, row: AnyRow): Promise<void> {
  const before = tf.memory().numTensors;
  const testCase = CASES[op] as unknown as AnyCase;
  const argLists = testCase.args();
  const accepted = argLists.filter((args) => row.accepts(...args));
  assert.ok(accepted.length > 0, `${op}: no argument list of its case is accepted by "${row.what}"; add one to CASES`);
  for (const args of accepted) await testCase.check(row.run, args, acceptedWhileRecording(row, args));
  tf.dispose(tensorsIn(argLists));
  assert.equal(tf.memory().numTensors, before, `${op}: "${row.what}" leaked tensors`);
}

Deno.test("every row of the fast-path table gives its op's reference result (values, and gradients where it is taken while they are recorded)", async (t) => {
  assert.deepEqual(Object.keys(CASES).sort(), Object.keys(FAST_PATHS).sort(), "one case per op of FAST_PATHS");
  for (const op of Object.keys(FAST_PATHS) as OpName[]) {
    for (const row of FAST_PATHS[op] as readonly AnyRow[]) {
      // A row this process does not use (no C kernels, BLAS on or off, another backend) shows as ignored.
      await t.step({ name: `${op}: ${row.what}`, ignore: !row.available(), fn: () => checkRow(op, row) });
    }
  }
});

Deno.test({
  name: "native cross-entropy gives NaN for a target outside the vocabulary",
  ignore: !native,
  fn: async () => {
    const rows = fusedCrossEntropyRows(rand([12, 50], 4, 6) as tf.Tensor2D, tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50], "int32"));
    const values = await rows.data();
    assert.ok(Number.isNaN(values[11]) && values.slice(0, 11).every(Number.isFinite), `rows: ${values}`);
    tf.dispose(rows);
  },
});

/** fn() with the kernels' pool at `threads` (its size is the machine's cores unless told), then back. */
function onPoolThreads<T>(threads: number, fn: () => T): T {
  const k = loadNativeKernels()!;
  k.kernel_threads(threads);
  try {
    return fn();
  } finally {
    k.kernel_threads(kernelThreads());
  }
}

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
    onPoolThreads(3, () => {
      for (const threads of [2, 3]) {
        const many = run(threads);
        assert.deepEqual(many.out, one.out, `forward on ${threads} threads`);
        assert.deepEqual(many.dqkv, one.dqkv, `backward on ${threads} threads`);
      }
    });
    assert.ok(one.dqkv.some((x) => x !== 0));
  },
});

Deno.test({
  name: "native inference attention gives the same bits on the pool's 1 and 3 threads (a cached step, and scoring)",
  ignore: !native,
  fn: () => {
    const k = loadNativeKernels()!;
    const [B, H, hs, P, cap] = [5, 3, 16, 9, 12];
    const C = H * hs;
    for (const T of [1, 7]) {
      const S = P + T, room = Math.max(cap, S);
      const qkv = randomValues(B * T * 3 * C, 51 + T), past = randomValues(B * H * cap * hs, 52);
      // row b's first b positions are left padding
      const mask = new Float32Array(B * T * S).map((_, i) => (i % S < Math.floor(i / (T * S)) ? -1e9 : 0));
      const run = () => {
        const out = new Float32Array(B * T * C), newK = new Float32Array(B * H * room * hs), newV = newK.slice();
        k.attention_inference(qkv, past, past, cap, mask, B, T, P, H, hs, B, 0.25, newK, newV, room, 1, out);
        const scored = new Float32Array(B * T * C); // no past, nothing kept: the scoring case
        const square = mask.filter((_, i) => i % S >= P); // [B, T, T]
        k.attention_inference(qkv, past, past, cap, square, B, T, 0, H, hs, B, 0.25, newK, newV, room, 0, scored);
        return [out, newK, newV, scored];
      };
      const one = onPoolThreads(1, run), many = onPoolThreads(3, run);
      one.forEach((values, i) => assert.deepEqual(many[i], values, `T ${T}, output ${i}`));
      assert.ok(one[0].some((v) => v !== 0) && one[3].some((v) => v !== 0));
    }
  },
});

Deno.test({
  name:
    "products of a few rows (a generated token's) are sequential multiply-adds: one OpenBLAS call's bits on SkylakeX, the same on 1 and 3 threads",
  ignore: !native || !(loadBlas() && blasOnKernelPool(loadBlas()!, loadNativeKernels()!, kernelThreads())),
  fn: () => {
    const k = loadNativeKernels()!, blas = loadBlas()!;
    // bit for bit with OpenBLAS' SkylakeX kernels; its other kernels order some sums differently
    const matchesOpenBlas = (got: Float32Array, want: Float32Array, what: string) =>
      Deno.env.get("OPENBLAS_CORETYPE") === "SkylakeX"
        ? assert.deepEqual(got, want, `${what}: ≠ OpenBLAS`)
        : assertAllClose(got, want, { atol: 1e-4, what });
    // The LM head of the default model and of gpt2-micro, the block's products at micro, and odd sizes
    // (rows not a multiple of 8, columns not a multiple of 32, the largest K these products take).
    const shapes = [[8, 5676, 128], [64, 2048, 128], [13, 384, 128], [1, 128, 128], [5, 512, 128], [37, 300, 384], [3, 45, 33]];
    for (const [M, N, K] of shapes) {
      const a = randomValues(M * K, M + K), b = randomValues(K * N, N), start = randomValues(M * N, 3), bias = randomValues(N, 4);
      for (const beta of [0, 1]) {
        const product = (threads: number) => {
          const c = start.slice();
          k.parallel_sgemm(0, 0, M, N, K, a, b, beta, c, threads);
          return c;
        };
        const pooled = onPoolThreads(3, () => product(3));
        assert.deepEqual(product(1), pooled, `${M}×${N}×${K}, beta ${beta}: 1 thread ≠ 3`);
        const reference = start.slice();
        blas.sgemm(false, false, M, N, K, a, b, reference, beta);
        matchesOpenBlas(pooled, reference, `${M}×${N}×${K}, beta ${beta}`);
      }
      const y = new Float32Array(M * N), withBias = new Float32Array(M * N).map((_, idx) => bias[idx % N]);
      onPoolThreads(3, () => k.parallel_linear(M, N, K, a, b, bias, y, 3));
      blas.sgemm(false, false, M, N, K, a, b, withBias, 1);
      matchesOpenBlas(y, withBias, `linear ${M}×${N}×${K}`);
    }
  },
});

Deno.test({
  name: "the elementwise and row kernels give the same bits on the pool's 1 and 3 threads",
  ignore: !native,
  fn: () => {
    const k = loadNativeKernels()!;
    const rows = 97, C = 1031, n = rows * C; // chunks of the pool fall mid-row and mid-vector
    const x = randomValues(n, 41, 3), y = randomValues(n, 42);
    const targets = Int32Array.from({ length: rows }, (_, r) => (r * 37) % C);
    const run = () => {
      const full = () => new Float32Array(n), perRow = () => new Float32Array(rows);
      const out = [full(), full(), full(), perRow(), perRow(), full(), perRow(), perRow(), full(), full(), full(), full()];
      k.gelu_new_forward(x, out[0], n);
      k.gelu_new_backward(x, y, out[1], n);
      k.add_arrays(x, y, n, out[2]);
      k.cross_entropy_forward(x, targets, rows, C, out[3], out[4]);
      k.layer_norm_forward(x, y.subarray(0, C), y.subarray(C, 2 * C), rows, C, 1e-5, out[5], out[6], out[7]);
      k.cross_entropy_backward(x, targets, out[3], y.subarray(0, rows), y.subarray(rows, 2 * rows), rows, C, out[8]);
      // AdamW over two weights (the first 40,000 values and the rest), each with its own decay and step size
      const v = y.map(Math.abs), address = (a: Float32Array) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(a)));
      const adamw = (pointersOf: (from: number, to: number) => Float32Array[]) =>
        k.adamw_update(
          BigUint64Array.from([[0, 40000], [40000, n]].flatMap(([from, to]) => pointersOf(from, to)).map(address)),
          Int32Array.from([40000, n - 40000]),
          Float32Array.from([0.999, 1e-3, 1, 2e-3]),
          2,
          0.9,
          0.95,
          1e-8,
          0.5,
        );
      adamw((from, to) => [x, y, x, v, out[9], out[10], out[11]].map((a) => a.subarray(from, to)));
      // the moments written over themselves (as the tfjs kernel does) give the same bits
      const [m, vInPlace] = [x.slice(), v.slice()];
      adamw((from, to) => [x, y, m, vInPlace, full(), m, vInPlace].map((a) => a.subarray(from, to)));
      assert.deepEqual([m, vInPlace], [out[10], out[11]], "AdamW's moments in place");
      // a token per row, the rows split across the pool
      const tokens = new Int32Array(rows), logprobs = new Float32Array(rows);
      k.sample_softmax_rows(x, Float64Array.from(y.subarray(0, rows), (u) => Math.abs(u) % 1), rows, C, 0.7, tokens, logprobs);
      out.push(new Float32Array(tokens.buffer), logprobs);
      // sums over rows, in fixed blocks of rows: LayerNorm's gradient (dx, dw, db) and a bias gradient
      const dx = full(), dw = new Float32Array(C), db = new Float32Array(C), bias = new Float32Array(C);
      assert.equal(k.layer_norm_backward(x, y.subarray(0, C), out[6], out[7], y, rows, C, dx, dw, db), 0);
      assert.equal(k.sum_middle_axes(x, 1, rows, C, bias), 0);
      return [...out, dx, dw, db, bias];
    };
    const one = onPoolThreads(1, run);
    const many = onPoolThreads(3, run);
    one.forEach((values, i) => assert.deepEqual(many[i], values, `output ${i}`));
  },
});

/**
 * Runs `body` in a fresh Deno process (after `prefix`, e.g. a taskset command), where `open()` opens the loaded
 * kernels' library with its pool size and GELU; returns what it printed, failing the test if the process failed.
 */
async function runGeluScript(prefix: string[], body: string): Promise<string> {
  const script = `
      const open = () => Deno.dlopen(Deno.args[0], {
        kernel_threads: { parameters: ["i32"], result: "void" },
        gelu_new_forward: { parameters: ["buffer", "buffer", "i32"], result: "void" },
      });${body}`;
  const command = [...prefix, Deno.execPath(), "eval", script, nativeKernelsLibraryPath()!];
  const out = await new Deno.Command(command[0], { args: command.slice(1), stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.ok(out.success, text + new TextDecoder().decode(out.stderr));
  return text;
}

Deno.test({
  name: "the kernels' pool survives its library being closed and opened again (Deno closes it when an isolate ends)",
  ignore: !native,
  fn: async () => {
    // In a fresh process: a pooled GELU, every handle closed (the workers still running), opened again, GELU again.
    const text = await runGeluScript(
      [],
      `
      const n = 1 << 20, x = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
      const run = () => { const lib = open(); lib.symbols.kernel_threads(3); const y = new Float32Array(n); lib.symbols.gelu_new_forward(x, y, n); lib.close(); return y; };
      const first = run(), second = run(), third = run();
      console.log(first.every((v, i) => v === second[i] && v === third[i]) && first.some((v) => v !== 0) ? "same" : "different");`,
    );
    assert.equal(text, "same");
  },
});

/** True when `taskset` (util-linux) can pin a process to one core here. */
function canPinToOneCore(): boolean {
  try {
    return new Deno.Command("taskset", { args: ["-c", "0", "true"] }).outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "with more pool threads than cores, a waiting thread gives its core away, and the caller does the chunks of a worker that cannot run",
  ignore: !native || !canPinToOneCore(),
  fn: async () => {
    // On one core: 300 pooled GELUs on 2 threads against 1. A wait that only spins holds the core the other
    // thread needs until the scheduler preempts it (8× and more slower before spin_turn yielded); a caller
    // that waited for the worker to run its half took 1.6× the time of one thread (the chunks are claimed
    // now: 1.02–1.05×).
    const text = await runGeluScript(
      ["taskset", "-c", "0"],
      `
      const lib = open().symbols;
      const n = 1 << 18, x = Float32Array.from({ length: n }, (_, i) => Math.sin(i)), y = new Float32Array(n);
      const time = (threads) => {
        lib.kernel_threads(threads);
        for (let i = 0; i < 20; i++) lib.gelu_new_forward(x, y, n);
        const start = performance.now();
        for (let i = 0; i < 300; i++) lib.gelu_new_forward(x, y, n);
        return performance.now() - start;
      };
      const one = time(1), two = time(2);
      console.log(JSON.stringify({ one, two }));`,
    );
    const { one, two } = JSON.parse(text);
    assert.ok(two < 1.35 * one, `one core: 2 threads took ${two.toFixed(0)} ms, 1 thread ${one.toFixed(0)} ms`);
  },
});

Deno.test({
  name: "products on the kernels' pool equal naive sums, and on SkylakeX kernels one whole OpenBLAS call bit for bit",
  ignore: !native || !(loadBlas() && blasOnKernelPool(loadBlas()!, loadNativeKernels()!, kernelThreads())),
  fn: () => {
    const k = loadNativeKernels()!;
    onPoolThreads(3, () => {
      for (const [M, N, K] of [[67, 45, 33], [1024, 384, 128], [8, 2048, 128], [130, 170, 300], [333, 97, 259]]) {
        for (const [transA, transB] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
          const a = randomValues(M * K, M + N), b = randomValues(K * N, K + 1), start = randomValues(M * N, 7);
          const at = (i: number, kk: number) => (transA ? a[kk * M + i] : a[i * K + kk]);
          const bt = (kk: number, j: number) => (transB ? b[j * K + kk] : b[kk * N + j]);
          const product = (threads: number) => {
            const c = start.slice();
            k.parallel_sgemm(transA, transB, M, N, K, a, b, 1, c, threads);
            return c;
          };
          const split = product(3), whole = product(1);
          const naive = start.map((c0, idx) => {
            const i = Math.floor(idx / N), j = idx % N;
            let sum = 0;
            for (let kk = 0; kk < K; kk++) sum += at(i, kk) * bt(kk, j);
            return c0 + sum;
          });
          assertAllClose(split, naive, { atol: 1e-4, what: `${M}×${N}×${K} trans ${transA}${transB}` });
          if (Deno.env.get("OPENBLAS_CORETYPE") === "SkylakeX") {
            assert.deepEqual(split, whole, `${M}×${N}×${K} trans ${transA}${transB}: split ≠ one call`);
          }
          if (!transA && !transB) { // x·w + bias: the bias in every row, then the product added on the pool
            const bias = randomValues(N, 9), y = new Float32Array(M * N);
            k.parallel_linear(M, N, K, a, b, bias, y, 3);
            const withBias = new Float32Array(M * N).map((_, idx) => bias[idx % N]);
            k.parallel_sgemm(0, 0, M, N, K, a, b, 1, withBias, 3);
            assert.deepEqual(y, withBias, `linear ${M}×${N}×${K}`);
          }
        }
      }
    });
  },
});

Deno.test({
  name: "a linear layer's gradients in one call are the products and row sum made one by one (bits on SkylakeX), on 1, 2 and 3 threads",
  ignore: !native || !(loadBlas() && blasOnKernelPool(loadBlas()!, loadNativeKernels()!, kernelThreads())),
  fn: () => {
    const k = loadNativeKernels()!;
    const same = (got: Float32Array, want: Float32Array, what: string) =>
      Deno.env.get("OPENBLAS_CORETYPE") === "SkylakeX"
        ? assert.deepEqual(got, want, `${what}: ≠ the products one by one`)
        : assertAllClose(got, want, { atol: 1e-4, what });
    // gpt2-micro's qkv projection, the LM head (weight stored transposed), odd sizes, rows not a multiple of 64
    for (const [rows, K, M, wTransposed] of [[1024, 128, 384, 0], [1024, 128, 2048, 1], [333, 97, 259, 0], [67, 45, 33, 1]]) {
      const x = randomValues(rows * K, rows), w = randomValues(K * M, K + 1), dy = randomValues(rows * M, M + 2);
      // what tfjs' gradients compute: dx = dy·Wᵀ, dW = xᵀ·dy (dyᵀ·x for a transposed W), db = Σ_rows dy
      const dx = new Float32Array(rows * K), dw = new Float32Array(K * M), db = new Float32Array(M);
      k.parallel_sgemm(0, wTransposed ? 0 : 1, rows, K, M, dy, w, 0, dx, 2);
      if (wTransposed) k.parallel_sgemm(1, 0, M, K, rows, dy, x, 0, dw, 2);
      else k.parallel_sgemm(1, 0, K, M, rows, x, dy, 0, dw, 2);
      assert.equal(k.sum_middle_axes(dy, 1, rows, M, db), 0);
      for (const threads of [1, 2, 3]) {
        for (const withBias of wTransposed ? [false] : [true, false]) {
          const got = { dx: new Float32Array(rows * K), dw: new Float32Array(K * M), db: new Float32Array(M) };
          const status = onPoolThreads(
            threads,
            () => k.linear_backward(rows, K, M, wTransposed, x, w, dy, got.dx, got.dw, withBias ? got.db : null, threads),
          );
          assert.equal(status, 0);
          const what = `${rows}×${K}×${M}${wTransposed ? " (W transposed)" : ""} on ${threads} threads`;
          same(got.dx, dx, `dx ${what}`);
          same(got.dw, dw, `dW ${what}`);
          if (withBias) assert.deepEqual(got.db, db, `db ${what}`);
        }
      }
    }
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
  name: "wasm Transpose, Sum, Add, Gather, ScatterNd, Unpack and Identity replacements agree with naive loops",
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
    // a matrix larger than the 32 × 32 tiles it is moved in, with partial tiles on both sides
    const [R, Cm] = [70, 45];
    const matrix = randomValues(R * Cm, 9), mt = tf.transpose(tf.tensor2d(matrix, [R, Cm]));
    const expectedT = new Float32Array(R * Cm).map((_, i) => matrix[(i % R) * Cm + Math.floor(i / R)]);
    assert.deepEqual(await mt.data(), expectedT);
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
    // ScatterNd of rows (an embedding's gradient): repeated rows summed in order, each sum rounded to float32.
    const ids = [3, 0, 3, 5, 3], updates = randomValues(ids.length * 7, 10);
    const scattered = tf.scatterND(tf.tensor2d(ids, [ids.length, 1], "int32"), tf.tensor2d(updates, [ids.length, 7]), [6, 7]);
    const naiveScatter = new Float32Array(6 * 7);
    ids.forEach((row, i) => {
      for (let j = 0; j < 7; j++) naiveScatter[row * 7 + j] = Math.fround(naiveScatter[row * 7 + j] + updates[i * 7 + j]);
    });
    assert.deepEqual(await scattered.data(), naiveScatter);
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
    tf.dispose([x, xt, ti, mt, s, sk, table, rows, scattered, ...parts, copy]);
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
    const fused = [ATTENTION_INFERENCE, BLOCK_INFERENCE]; // the whole block where BLAS runs on the kernels' pool
    assert.ok(fused.some((name) => info.kernelNames.includes(name)), `kernels used: ${info.kernelNames}`);
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

import { logSoftmaxAt, sampleToken } from "../lib/generate/sampling.ts";
import { samplingDistribution, truncatedDistribution } from "../lib/generate/truncation.ts";
import { assert, assertAllClose } from "./helpers.ts";
import { Rng } from "../lib/rng.ts";

/** A fixed stream of uniform numbers: 0.5/n, 1.5/n, … so frequencies are exact. */
function gridRng(n: number) {
  let i = 0;
  return { nextFloat: () => ((i++ % n) + 0.5) / n };
}

const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];

Deno.test("samplingDistribution() without truncation is the softmax", () => {
  const { ids, probs } = samplingDistribution(logits);
  assert.deepEqual(ids, [0, 1, 2, 3]);
  assertAllClose(probs, [0.5, 0.3, 0.15, 0.05], { atol: 1e-12 });
});

Deno.test("samplingDistribution() applies temperature before softmax", () => {
  const { probs } = samplingDistribution([1, 2, 3], { temperature: 0.5 });
  const z = [2, 4, 6].map(Math.exp);
  const sum = z[0] + z[1] + z[2];
  assertAllClose(probs, z.map((v) => v / sum), { atol: 1e-12 });
});

Deno.test("samplingDistribution() top-k keeps the k largest and renormalises", () => {
  const { ids, probs } = samplingDistribution([0.1, 3, -1, 2], { topK: 2 });
  assert.deepEqual(ids, [1, 3]);
  const e = [Math.exp(3), Math.exp(2)];
  assertAllClose(probs, [e[0] / (e[0] + e[1]), e[1] / (e[0] + e[1])], { atol: 1e-12 });
});

Deno.test("samplingDistribution() top-p keeps the shortest prefix reaching p", () => {
  // 0.5 < 0.7, 0.5 + 0.3 ≥ 0.7: keep two tokens.
  const { ids, probs } = samplingDistribution(logits, { topP: 0.7 });
  assert.deepEqual(ids, [0, 1]);
  assertAllClose(probs, [0.625, 0.375], { atol: 1e-12 });
  // A tiny p still keeps the most likely token.
  assert.deepEqual(samplingDistribution(logits, { topP: 0.01 }).ids, [0]);
});

Deno.test("sampleToken() draws with the distribution's frequencies and reports its log-prob", () => {
  const n = 1000;
  const rng = gridRng(n);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const { token, logprob } = sampleToken(logits, { topP: 0.9 }, rng);
    counts[token]++;
    // top-p 0.9 keeps 0.5, 0.3, 0.15 (sum 0.95): renormalised by 0.95.
    assertAllClose([logprob], [Math.log([0.5, 0.3, 0.15][token] / 0.95)], { atol: 1e-12 });
  }
  assertAllClose(counts.map((c) => c / n), [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0], { atol: 2e-3 });
});

Deno.test("sampleToken() greedy takes the argmax and reports its temperature log-softmax", () => {
  const { token, logprob } = sampleToken([1, 4, 2], { greedy: true, temperature: 2 }, gridRng(1));
  assert.equal(token, 1);
  assertAllClose([logprob], [logSoftmaxAt([1, 4, 2], 1, 2)], { atol: 1e-12 });
  const naive = 2 - Math.log(Math.exp(0.5) + Math.exp(2) + Math.exp(1));
  assertAllClose([logprob], [naive], { atol: 1e-12 });
});

Deno.test("sampleToken() never draws a suppressed id; its log-prob is the renormalised rest", () => {
  const n = 1000;
  const rng = gridRng(n);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const { token, logprob } = sampleToken(logits, { suppressIds: [1] }, rng);
    counts[token]++;
    assertAllClose([logprob], [Math.log([0.5, 0, 0.15, 0.05][token] / 0.7)], { atol: 1e-12 });
  }
  assertAllClose(counts.map((c) => c / n), [0.5 / 0.7, 0, 0.15 / 0.7, 0.05 / 0.7], { atol: 2e-3 });
  // top-k picks among the allowed ids: with id 0 suppressed, top-2 keeps 1 and 2.
  assert.deepEqual(samplingDistribution(logits, { topK: 2, suppressIds: [0] }).ids, [1, 2]);
  const greedy = sampleToken(logits, { greedy: true, suppressIds: [0] }, gridRng(1));
  assert.equal(greedy.token, 1);
  assertAllClose([greedy.logprob], [Math.log(0.3 / 0.5)], { atol: 1e-12 });
});

Deno.test("sampling options are validated with the field named", () => {
  assert.throws(() => sampleToken(logits, { temperature: 0 }, gridRng(1)), /temperature/);
  assert.throws(() => sampleToken(logits, { suppressIds: [-1] }, gridRng(1)), /suppressIds/);
});

/** The definition, written the slow way: sort everything, softmax, cut, renormalise. */
function naiveDistribution(z: number[], temperature: number, topK: number, topP: number) {
  let ids = z.map((_, i) => i).sort((a, b) => z[b] - z[a] || a - b);
  if (topK > 0) ids = ids.filter((i) => z[i] >= z[ids[topK - 1]]);
  const max = z[ids[0]];
  const weights = ids.map((i) => Math.exp((z[i] - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let probs = weights.map((w) => w / total);
  let keep = 0;
  for (let cumulative = 0; keep < ids.length && cumulative < topP;) cumulative += probs[keep++];
  while (keep < ids.length && z[ids[keep]] === z[ids[keep - 1]]) keep++;
  ids = ids.slice(0, keep);
  const kept = probs.slice(0, keep).reduce((a, b) => a + b, 0);
  probs = probs.slice(0, keep).map((p) => p / kept);
  return { ids, probs };
}

Deno.test("samplingDistribution() matches the sort-everything definition on a large vocabulary (ties included)", () => {
  let x = 11;
  const next = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  // A peaked distribution over 5000 tokens, with a block of exact ties, so top-p's shortcut is exercised.
  const z = Array.from({ length: 5000 }, (_, i) => (i % 97 === 0 ? 4 : Math.round(next() * 800) / 100 - 4));
  for (const [temperature, topK, topP] of [[1, 0, 0.9], [0.7, 0, 0.5], [1, 50, 0.95], [1.3, 200, 1], [1, 0, 0.999]]) {
    const fast = samplingDistribution(z, { temperature, topK, topP });
    const slow = naiveDistribution(z, temperature, topK, topP);
    assert.deepEqual(fast.ids, slow.ids, `T=${temperature} k=${topK} p=${topP}`);
    assertAllClose(fast.probs, slow.probs, { atol: 1e-12, what: `T=${temperature} k=${topK} p=${topP}` });
    // sampleToken() walks the same kept set in vocabulary order (no sorting): every draw must be a kept
    // token with exactly its probability, and a grid of draws must reproduce the probabilities.
    const probOf = new Map(slow.ids.map((id, i) => [id, slow.probs[i]]));
    const n = 2000;
    const rng = gridRng(n);
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const { token, logprob } = sampleToken(z, { temperature, topK, topP }, rng);
      assert.ok(probOf.has(token), `T=${temperature} k=${topK} p=${topP}: token ${token} is outside the kept set`);
      assert.ok(Math.abs(logprob - Math.log(probOf.get(token)!)) < 1e-9, `logprob of ${token}`);
      counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    for (const [id, p] of probOf) assert.ok(Math.abs((counts.get(id) ?? 0) / n - p) <= 1 / n + 1e-12, `frequency of ${id}`);
  }
});

Deno.test("truncation: the fast kept set (truncatedDistribution) is the readers' one (samplingDistribution), ties included", () => {
  const rng = new Rng(5);
  const rows: number[][] = [
    [1, 1, 1, 1], // all tied
    [3, 2, 2, 2, 1, 0], // ties at the k-th and at the nucleus edge
    ...Array.from({ length: 40 }, () => Array.from({ length: 60 }, () => Math.round(rng.nextFloat() * 40) / 8 - 2.5)),
  ];
  const settings = [
    {},
    { topK: 1 },
    { topK: 3 },
    { topP: 0.5 },
    { topP: 0.95, temperature: 0.7 },
    {
      topK: 10,
      topP: 0.8,
      temperature: 1.4,
    },
    { suppressIds: [0, 2] },
    { topK: 3, suppressIds: [1] },
    { topP: 0.5, suppressIds: [0], temperature: 0.8 },
  ];
  for (const [r, row] of rows.entries()) {
    for (const s of settings) {
      const reference = samplingDistribution(row, s);
      const fast = truncatedDistribution(row, s);
      const ids = row.map((_, i) => i).filter(fast.isKept);
      assert.deepEqual([...reference.ids].sort((a, b) => a - b), ids, `row ${r} ${JSON.stringify(s)}`);
      for (const [j, id] of reference.ids.entries()) {
        assert.ok(Math.abs(reference.probs[j] - fast.probs[id] / fast.mass) < 1e-12, `row ${r} ${JSON.stringify(s)} id ${id}`);
      }
    }
  }
});

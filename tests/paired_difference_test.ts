import { assert } from "./helpers.ts";
import { formatDifference, inRounds, meanPerRequest, pairedDifference } from "../lib/eval/paired_difference.ts";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

Deno.test("pairedDifference() gives the mean of b − a and its standard error (hand-computed)", () => {
  // d = [0.1, 0, 0.2]: mean 0.1, sample variance (0 + 0.01 + 0.01) / 2 = 0.01, SE = √(0.01 / 3)
  const p = pairedDifference([0.5, 0.6, 0.7], [0.6, 0.6, 0.9]);
  close(p.mean, 0.1);
  close(p.standardError, Math.sqrt(0.01 / 3));
  assert.equal(p.n, 3);
  assert.equal(formatDifference(p), "+0.100 ± 0.058");
});

Deno.test("pairedDifference(): pairing cancels per-request difficulty", () => {
  // b is a + 0.01 on every request: the difference is certain although the scores spread widely.
  const a = [0.1, 0.9, 0.4, 0.7];
  const p = pairedDifference(a, a.map((x) => x + 0.01));
  close(p.mean, 0.01);
  assert.ok(p.standardError < 1e-12);
  assert.throws(() => pairedDifference([1], [2]), /equal-length/);
});

Deno.test("meanPerRequest() averages each request's answers across rounds (request i at i, i + n, …)", () => {
  // 3 requests asked in 2 rounds: round 1 = [0, 0.5, 1], round 2 = [1, 0.5, 0]
  assert.deepEqual(meanPerRequest([0, 0.5, 1, 1, 0.5, 0], 3), [0.5, 0.5, 0.5]);
  assert.deepEqual(meanPerRequest([0.2, 0.4], 2), [0.2, 0.4]);
  assert.throws(() => meanPerRequest([1, 2, 3], 2), /whole number of rounds of 2 requests/);
});

Deno.test("inRounds() lays requests out the way meanPerRequest() reads them", () => {
  assert.deepEqual(inRounds(["a", "b", "c"], 2), ["a", "b", "c", "a", "b", "c"]);
  const scores: Record<string, number> = { a: 0, b: 1, c: 0.5 };
  assert.deepEqual(meanPerRequest(inRounds(["a", "b", "c"], 3).map((r) => scores[r]), 3), [0, 1, 0.5]);
});

Deno.test("best-of-n picks, for each request asked in rounds, the answer with the highest reward; KL = log n − (n−1)/n", async () => {
  const { bestOfN, bestOfNKl } = await import("../lib/eval/best_of_n.ts");
  // 3 requests × 2 rounds: request i's answers at i and 3 + i.
  assert.deepEqual(bestOfN([0.1, 0.9, 0.5, 0.4, 0.2, 0.5], 3), [3, 1, 2]);
  assert.throws(() => bestOfN([1, 2, 3], 2), /not a whole number of rounds/);
  assert.equal(bestOfNKl(1), 0);
  assert.ok(Math.abs(bestOfNKl(4) - (Math.log(4) - 0.75)) < 1e-12);
  // The formula against a direct computation: the best of n distinct draws from a uniform over m outcomes ranked by reward.
  const m = 50, n = 4;
  let kl = 0;
  for (let k = 1; k <= m; k++) {
    const p = (k / m) ** n - ((k - 1) / m) ** n; // P(best-of-n = the k-th worst outcome)
    kl += p * Math.log(p * m);
  }
  assert.ok(kl < bestOfNKl(n) && bestOfNKl(n) - kl < 0.05, `exact ${kl}, formula ${bestOfNKl(n)}`);
});

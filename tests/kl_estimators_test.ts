import { assert, assertAllClose } from "./helpers.ts";
import { tf } from "../lib/tf.ts";
import { k3Tensor, klPerToken, sequenceKl } from "../lib/rollout/kl_estimators.ts";
import { Rng } from "../lib/rng.ts";

const rng = new Rng(5);
const B = 3, T = 6;
const logp = Array.from({ length: B }, () => Array.from({ length: T }, () => -3 * rng.nextFloat()));
const ref = Array.from({ length: B }, () => Array.from({ length: T }, () => -3 * rng.nextFloat()));
const mask = [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0]];

Deno.test("sequenceKl() sums k1 and k3 over each answer's masked tokens, as a naive loop does", () => {
  for (const estimator of ["k1", "k3"] as const) {
    const naive: number[] = [];
    for (let b = 0; b < B; b++) {
      let sum = 0;
      for (let t = 0; t < T; t++) {
        if (!mask[b][t]) continue;
        const r = logp[b][t] - ref[b][t];
        sum += estimator === "k1" ? r : Math.exp(-r) - 1 + r;
      }
      naive.push(sum);
    }
    assertAllClose(sequenceKl(logp, ref, mask, estimator), naive, { atol: 1e-12, what: estimator });
  }
  assert.ok(logp.flat().every((lp, i) => klPerToken(lp, ref.flat()[i], "k3") >= 0), "k3 is never negative");
});

Deno.test("k3Tensor() is klPerToken's k3 on tensors", () => {
  const k3 = tf.tidy(() => k3Tensor(tf.tensor2d(logp), tf.tensor2d(ref)));
  const expected = logp.flatMap((row, b) => row.map((lp, t) => klPerToken(lp, ref[b][t], "k3")));
  assertAllClose(k3.dataSync(), expected, { atol: 1e-5, what: "k3" });
  k3.dispose();
});

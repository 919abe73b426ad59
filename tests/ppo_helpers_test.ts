/** PPO's pure helpers against naive loops and hand-computed values. */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { computeGae, maskedMean, maskedVar, maskedWhiten } from "../lib/ppo/advantages.ts";
import { AdaptiveKLController, FixedKLController, perTokenRewards } from "../lib/ppo/kl.ts";
import { klPerToken } from "../lib/rollout/kl_estimators.ts";
import { clippedPolicyLoss, clippedValueLoss } from "../lib/ppo/losses.ts";
import { assert, assertAllClose } from "./helpers.ts";

await initBackend({ quiet: true });

const rewards = [[0.1, -0.2, 0.3, 1.0], [0.5, 0.0, 0, 0]];
const values = [[0.2, 0.1, -0.1, 0.4], [0.3, 0.6, 9, 9]];
const mask = [[1, 1, 1, 1], [1, 1, 0, 0]];

Deno.test("computeGae() matches the textbook recursion written out by hand", () => {
  const { advantages, returns } = computeGae(rewards, values, mask, { gamma: 1, lambda: 0.95 });
  // Row 2 has two real tokens: δ1 = 0 + 0 − 0.6 = −0.6; δ0 = 0.5 + 0.6 − 0.3 = 0.8; A0 = 0.8 + 0.95·(−0.6).
  assertAllClose(advantages[1], [0.8 - 0.95 * 0.6, -0.6, 0, 0], { atol: 1e-12 });
  assertAllClose(returns[1], [0.8 - 0.95 * 0.6 + 0.3, 0, 0, 0], { atol: 1e-12 });
  // Row 1 against a naive sum: A_t = Σ_k (γλ)^k δ_{t+k}.
  const V = [...values[0], 0];
  const delta = rewards[0].map((r, t) => r + V[t + 1] - V[t]);
  const naive = delta.map((_, t) => delta.slice(t).reduce((s, d, k) => s + 0.95 ** k * d, 0));
  assertAllClose(advantages[0], naive, { atol: 1e-12 });
  assertAllClose(returns[0], naive.map((a, t) => a + values[0][t]), { atol: 1e-12 });
});

Deno.test("masked mean, variance and whitening use only the masked tokens of the whole batch", () => {
  const x = [[1, 2, 3, 100], [4, 5, 100, 100]];
  const m = [[1, 1, 1, 0], [1, 1, 0, 0]];
  assert.equal(maskedMean(x, m), 3);
  assertAllClose([maskedVar(x, m)], [2.5], { atol: 1e-12 }); // [1..5]: unbiased variance 2.5
  assertAllClose([maskedVar(x, m, false)], [2], { atol: 1e-12 });
  const w = maskedWhiten(x, m);
  assertAllClose([maskedMean(w, m)], [0], { atol: 1e-9 });
  assertAllClose([maskedVar(w, m)], [1], { atol: 1e-6 });
  assert.equal(w[0][3], 0);
  assertAllClose([maskedMean(maskedWhiten(x, m, false), m)], [3], { atol: 1e-9 });
});

Deno.test("KL estimators k1 and k3, and the per-token rewards with the score at the last token", () => {
  assertAllClose([klPerToken(-1, -1.5, "k1"), klPerToken(-1, -1.5, "k3")], [0.5, Math.exp(-0.5) - 1 + 0.5], { atol: 1e-12 });
  assert.ok(klPerToken(-2, -1, "k3") >= 0);
  const { rewards: r, kl } = perTokenRewards(
    [2, -1],
    [[-1, -2, -3], [-1, -1, 0]],
    [[-1.5, -2, -2], [-1, -2, 0]],
    [[1, 1, 1], [1, 1, 0]],
    0.1,
  );
  assertAllClose(kl.flat(), [0.5, 0, -1, 0, 1, 0], { atol: 1e-12 });
  assertAllClose(r.flat(), [-0.05, 0, 0.1 + 2, 0, -0.1 - 1, 0], { atol: 1e-12 });
});

Deno.test("AdaptiveKLController follows Ziegler et al.; FixedKLController does not move", () => {
  const c = new AdaptiveKLController(0.2, 6, 10000);
  c.update(12, 256); // error clipped to +0.2
  assertAllClose([c.value], [0.2 * (1 + 0.2 * 256 / 10000)], { atol: 1e-12 });
  c.update(3, 256); // error −0.5 clipped to −0.2
  assertAllClose([c.value], [0.2 * (1 + 0.2 * 256 / 10000) * (1 - 0.2 * 256 / 10000)], { atol: 1e-12 });
  const f = new FixedKLController(0.05);
  f.update(100, 256);
  assert.equal(f.value, 0.05);
});

Deno.test("clipped policy and value losses match hand-computed values", async () => {
  const t = (x: number[][]) => tf.tensor2d(x);
  const adv = t([[1, -1, 2]]);
  const oldLogp = t([[0, 0, 0]]);
  const newLogp = t([[Math.log(1.5), Math.log(0.5), Math.log(1.1)]]); // ratios 1.5, 0.5, 1.1
  const m = t([[1, 1, 1]]);
  const p = clippedPolicyLoss(newLogp, oldLogp, adv, m, 0.2);
  // token 1: max(−1.5, −1.2) = −1.2 (clipped); token 2: max(0.5, 0.8) = 0.8 (clipped); token 3: max(−2.2, −2.2) = −2.2.
  assertAllClose([(await p.loss.data())[0]], [(-1.2 + 0.8 - 2.2) / 3], { atol: 1e-6 });
  assertAllClose([(await p.clipfrac.data())[0]], [2 / 3], { atol: 1e-6 });
  const v = clippedValueLoss(t([[1.0, 0.0]]), t([[0.5, 0.0]]), t([[2.0, 1.0]]), t([[1, 0]]), 0.2);
  // V = 1.0 clipped to 0.7: max((1−2)², (0.7−2)²) = 1.69 → ½·1.69 (the second token is masked out).
  assertAllClose([(await v.loss.data())[0]], [0.845], { atol: 1e-6 });
  assertAllClose([(await v.clipfrac.data())[0]], [1], { atol: 1e-6 });
  tf.dispose([adv, oldLogp, newLogp, m, p.loss, p.clipfrac, p.approxkl, p.ratio, v.loss, v.clipfrac]);
});

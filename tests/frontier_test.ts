import { assert, assertAllClose } from "./helpers.ts";
import { fitGao, gaoGain, goldAtKl, type KlGold, klToReach, upperEnvelope } from "../lib/frontier/envelope.ts";
import { appendPoints, estimate, type FrontierPoint, pointFromSamples, pointsFromModels, readPoints } from "../lib/frontier/points.ts";
import { bestOfNPoints } from "../lib/frontier/best_of_n_curve.ts";
import { bestOfNKl } from "../lib/eval/best_of_n.ts";
import type { PolicySample } from "../lib/eval/policy_eval.ts";
import { Rng } from "../lib/rng.ts";

const p = (kl: number, gold: number, goldSe = 0.01): KlGold => ({ kl, gold, goldSe });

Deno.test("upperEnvelope() keeps the best gold within each KL budget, from the origin, by increasing KL", () => {
  const points = [p(2, 0.5), p(1, 0.45), p(1.5, 0.44), p(4, 0.48), p(3, 0.6), p(0.5, 0.42)];
  assert.deepEqual(upperEnvelope(points, p(0, 0.4)).map((q) => [q.kl, q.gold]), [[0, 0.4], [0.5, 0.42], [1, 0.45], [2, 0.5], [3, 0.6]]);
  assert.deepEqual(upperEnvelope([p(1, 0.3)], p(0, 0.4)).map((q) => q.kl), [0], "a point below SFT is never on the envelope");
});

Deno.test("goldAtKl() interpolates between neighbours with the larger SE; klToReach() inverts it", () => {
  const env = upperEnvelope([p(1, 0.5, 0.02), p(3, 0.7, 0.01)], p(0, 0.4, 0.005));
  assert.deepEqual(goldAtKl(env, 1), { mean: 0.5, se: 0.02 });
  const at2 = goldAtKl(env, 2)!;
  assertAllClose([at2.mean, at2.se], [0.6, 0.02], { atol: 1e-12 });
  assert.equal(goldAtKl(env, 4), undefined, "not reached");
  assertAllClose([klToReach(env, 0.45)!, klToReach(env, 0.65)!], [0.5, 2.5], { atol: 1e-12 });
  assert.equal(klToReach(env, 0.8), undefined);
});

Deno.test("fitGao() recovers α and β of both of Gao et al.'s forms from exact points", () => {
  for (const [form, alpha, beta] of [["best-of-n", 0.3, 0.05], ["rl", 0.2, 0.04]] as const) {
    const points = [0.25, 1, 2, 4, 9, 16].map((kl) => ({ kl, gain: gaoGain(form, alpha, beta, Math.sqrt(kl)) }));
    const fit = fitGao(form, points)!;
    assertAllClose([fit.alpha, fit.beta, fit.rmse], [alpha, beta, 0], { atol: 1e-9, what: form });
  }
  assert.equal(fitGao("rl", [{ kl: 1, gain: 0.1 }, { kl: 2, gain: 0.15 }]), undefined, "three points at least: two fit any form exactly");
});

Deno.test("best-of-n's KL formula matches a Monte-Carlo estimate on a toy distribution", () => {
  // K equally likely answers with distinct rewards: best-of-n picks answer k (0 = worst) with
  // q(k) = ((k+1)^n − k^n) / K^n; KL(q‖p) = E_q[log q(k) + log K], estimated from best-of-n draws.
  const K = 100_000;
  const rng = new Rng(11);
  for (const n of [2, 4, 16]) {
    const draws = 20_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < draws; i++) {
      let best = 0;
      for (let j = 0; j < n; j++) best = Math.max(best, rng.nextInt(K));
      const logq = Math.log((best + 1) ** n - best ** n) - n * Math.log(K);
      const x = logq + Math.log(K);
      sum += x;
      sumSq += x * x;
    }
    const mean = sum / draws;
    const se = Math.sqrt((sumSq / draws - mean * mean) / draws);
    assert.ok(Math.abs(mean - bestOfNKl(n)) < 4 * se + 1e-3, `n = ${n}: Monte Carlo ${mean} ± ${se}, formula ${bestOfNKl(n)}`);
  }
});

function sample(gold: number, rm: number, kl = 0, k3 = 0): PolicySample {
  return { prompt: { id: "x", messages: [], constraints: {} }, response: "", gold, rm, kl, k3, parts: { form: gold } };
}

Deno.test("estimate() is the mean and SE over requests' means; bestOfNPoints() lets the RM pick among the first n rounds", () => {
  // 2 requests × 2 rounds: answer r of request i at r · 2 + i.
  const e = estimate([1, 2, 3, 6], 2); // request 0: (1 + 3)/2 = 2, request 1: (2 + 6)/2 = 4
  assertAllClose([e.mean, e.se], [3, 1], { atol: 1e-12 });
  const samples = [sample(0.1, 0.0), sample(0.2, 0.5), sample(0.9, 1.0), sample(0.3, 0.2)];
  const [one, two] = bestOfNPoints(samples, 2, [1, 2]);
  assertAllClose([one.gold.mean, two.gold.mean], [0.15, (0.9 + 0.2) / 2], { atol: 1e-12 }); // n = 2: request 0 takes round 1, request 1 round 0
  assert.equal(two.kl.mean, bestOfNKl(2));
  assert.equal(two.k3, null);
  const point = pointFromSamples([sample(0.5, 0, 1, 1.1), sample(0.7, 0, 3, 2.9)], 2, {
    run: "ppo",
    method: "ppo",
    settings: {},
    step: 10,
    final: true,
  });
  assertAllClose([point.kl.mean, point.k3!.mean, point.gold.mean], [2, 2, 0.6], { atol: 1e-12 });
});

Deno.test("appendPoints() adds a run's step once (a resumed sweep does not repeat it), records the models, and refuses another pair's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/points.jsonl`;
    const point = (run: string, step: number): FrontierPoint => ({
      ...pointFromSamples([sample(0.5, 0.1, 1, 1)], 1, { run, method: "ppo", settings: { beta: 0.05 }, step, final: false }),
    });
    const from = "sft@aaa + rm@bbb";
    assert.equal(await appendPoints(path, [point("ppo", 10), point("ppo", 20)], from), 2);
    assert.equal(await appendPoints(path, [point("ppo", 20), point("ppo", 30)], from), 1);
    assert.deepEqual((await readPoints(path)).map((q) => [q.step, q.from]), [[10, from], [20, from], [30, from]]);
    assert.equal((await pointsFromModels(path, from)).length, 3);
    // Another SFT model's sweep is not mixed into this file, and the file is left as it was.
    const other = "sft@ccc + rm@bbb";
    const refused = new RegExp(`${path}: its points were measured from other models \\(sft@aaa \\+ rm@bbb\\), not from sft@ccc`);
    await assert.rejects(() => appendPoints(path, [point("ppo", 40)], other), refused);
    await assert.rejects(() => pointsFromModels(path, other), refused);
    assert.equal((await readPoints(path)).length, 3);
    await Deno.writeTextFile(path, "{}\n", { append: true });
    await assert.rejects(() => readPoints(path), new RegExp(`${path}:4: expected a frontier point`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("frontierGoldChart(): each method's envelope and checkpoints in one colour, SFT at the origin; the proxy panel beside it", async () => {
  const { frontierGoldChart, frontierProxyChart } = await import("../lib/frontier/frontier_chart.ts");
  const { renderSvg } = await import("../lib/charts/svg.ts");
  const at = (run: string, method: FrontierPoint["method"], step: number, kl: number, gold: number): FrontierPoint => ({
    run,
    method,
    settings: {},
    step,
    final: false,
    requests: 1,
    answersPerRequest: 1,
    kl: { mean: kl, se: 0 },
    k3: null,
    gold: { mean: gold, se: 0.01 },
    rm: { mean: kl / 2, se: 0.01 },
    parts: {},
  });
  const points = [
    at("sft", "sft", 0, 0, 0.4),
    at("best-of-n", "best-of-n", 4, 0.64, 0.6),
    at("ppo", "ppo", 10, 1, 0.5),
    at("ppo", "ppo", 20, 2, 0.45),
  ];
  const gold = frontierGoldChart(points).spec;
  assert.deepEqual(gold.series.map((s) => s.name), ["best-of-n envelope", "PPO envelope", "PPO checkpoints", "SFT"]);
  assert.equal(gold.series[1].color, gold.series[2].color);
  assert.deepEqual(gold.series[1].x, [0, 1], "PPO's envelope: SFT, then its best point (the later one is dominated)");
  assert.deepEqual(frontierGoldChart(points, "sqrt-kl").spec.series[2].x, [1, Math.SQRT2]);
  assert.match(renderSvg(gold), /<svg /);
  assert.deepEqual(frontierProxyChart(points).spec.series.map((s) => s.name), ["best-of-n (RM score)", "PPO (RM score)", "SFT"]);
});

/**
 * PPO on a toy reward: the score is how often token 3 appears in a 6-token
 * response. Starting from a tiny random "SFT" model, a few PPO iterations
 * must raise the score while the KL to the reference stays finite, and the
 * loop must not leak tensors.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { cloneGPT2, createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { AdamW } from "../lib/train/adamw.ts";
import { Rng } from "../lib/rng.ts";
import { FixedKLController } from "../lib/ppo/kl.ts";
import { resolvePPOConfig } from "../lib/ppo/ppo_config.ts";
import { createPolicy, disposePolicy, policyParams } from "../lib/ppo/policy.ts";
import { ppoIteration } from "../lib/ppo/ppo_step.ts";
import type { RewardFunction } from "../lib/rollout/rollout.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });

/**
 * Eight PPO iterations of a tiny policy (vocabulary of 8, id 7 ends an answer) on `prompt`, against `reward`:
 * the rollout score of each iteration, and the live tensor count after the first and the last.
 */
async function toyPPO(seed: number, prompt: number[], reward: RewardFunction) {
  const sft = createGPT2(resolveGPT2Config({ vocab_size: 8, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 }), { seed });
  const policy = createPolicy(sft);
  const reference = cloneGPT2(sft, { trainable: false });
  disposeGPT2(sft);
  const config = resolvePPOConfig({
    ...TOY,
    batchSize: 16,
    miniBatchSize: 8,
    ppoEpochs: 4,
    lr: 3e-3,
    maxNewTokens: 6,
    initKlCoef: 0.02,
    klTarget: undefined,
    maxApproxKl: 1,
    noEndPenalty: 0,
  });
  const optimizer = new AdamW(policyParams(policy), { weightDecay: 0 });
  const kl = new FixedKLController(config.initKlCoef);
  const rng = new Rng(seed + 3);
  const prompts = Array.from({ length: config.batchSize }, () => prompt);
  const scores: number[] = [];
  const tensors: number[] = [];
  for (let it = 0; it < 8; it++) {
    const { stats } = await ppoIteration({
      policy,
      reference,
      optimizer,
      klController: kl,
      prompts,
      reward,
      config,
      stopId: 7,
      padId: 0,
      rng,
    });
    scores.push(stats["objective/scores"]);
    assert.ok(Number.isFinite(stats["objective/kl"]) && Number.isFinite(stats["loss/policy"]), JSON.stringify(stats));
    if (it === 0 || it === 7) tensors.push(tf.memory().numTensors);
  }
  optimizer.dispose();
  disposePolicy(policy);
  disposeGPT2(reference);
  const gain = (scores[6] + scores[7]) / 2 - (scores[0] + scores[1]) / 2;
  return { scores, gain, tensors };
}

/** The toys have no supervised data (no PPO-ptx) and keep TRL's GAE λ. */
const TOY = { ptxCoef: 0, lambda: 0.95 } as const;

Deno.test("PPO raises a toy reward within a few iterations, with finite KL and no leaks", async () => {
  // The score is how often token 3 appears in a 6-token response.
  const reward = (_: number[], responses: number[][]) => Promise.resolve(responses.map((r) => r.filter((t) => t === 3).length));
  const { scores, gain, tensors } = await toyPPO(1, [0, 1], reward);
  assert.equal(tensors[1], tensors[0], "tensors leaked across PPO iterations");
  assert.ok(gain > 0.5, `toy reward ${scores.map((s) => s.toFixed(2)).join(" → ")}`);
});

Deno.test("a PPO iteration handles prompts and responses of different lengths in its minibatches", async () => {
  const sft = createGPT2(resolveGPT2Config({ vocab_size: 8, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2, initializer_range: 0.5 }), {
    seed: 2,
  });
  const policy = createPolicy(sft);
  const reference = cloneGPT2(sft, { trainable: false });
  disposeGPT2(sft);
  // Stop ids 1..3 end most responses early, at different lengths; one rollout per minibatch.
  const config = resolvePPOConfig({ ...TOY, batchSize: 4, miniBatchSize: 1, ppoEpochs: 1, maxNewTokens: 12, lr: 1e-3 });
  const optimizer = new AdamW(policyParams(policy));
  const prompts = [[0], [0, 4, 5], [6, 6, 6, 6, 6], [5, 4]];
  const reward = (_: number[], responses: number[][]) => Promise.resolve(responses.map((r) => r.length));
  const { responses, stats } = await ppoIteration({
    policy,
    reference,
    optimizer,
    klController: new FixedKLController(0.1),
    prompts,
    reward,
    config,
    stopId: 2,
    padId: 0,
    rng: new Rng(9),
  });
  assert.ok(new Set(responses.map((r) => r.length)).size > 1, `lengths ${responses.map((r) => r.length)}`);
  assert.ok(Number.isFinite(stats["loss/policy"]));
  optimizer.dispose();
  disposePolicy(policy);
  disposeGPT2(reference);
});

Deno.test("PPO-ptx: with c_ptx > 0 each minibatch also fits the supervised batches; with c_ptx = 0 they are not used", async () => {
  const { nextTokenLoss } = await import("../lib/train/train_step.ts");
  // The supervised data: after token 0 always comes token 5 (the toy's "form" that no reward looks at).
  const supervised = { ids: [[0, 5, 5, 5]], targets: [[5, 5, 5, 5]], mask: [[1, 1, 1, 1]] };
  let batchesRead = 0;
  const batches = { batch: () => (batchesRead++, supervised) };
  const run = async (ptxCoef: number) => {
    const sft = createGPT2(resolveGPT2Config({ vocab_size: 8, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 }), { seed: 3 });
    const policy = createPolicy(sft);
    const reference = cloneGPT2(sft, { trainable: false });
    disposeGPT2(sft);
    const config = resolvePPOConfig({
      batchSize: 8,
      miniBatchSize: 4,
      ppoEpochs: 2,
      lr: 3e-3,
      maxNewTokens: 4,
      klTarget: undefined,
      maxApproxKl: 10,
      ptxCoef,
    });
    const optimizer = new AdamW(policyParams(policy), { weightDecay: 0 });
    const rng = new Rng(6);
    const before = (await nextTokenLoss(policy.lm, supervised).data())[0];
    const ptxLosses: number[] = [];
    for (let it = 0; it < 4; it++) {
      const { stats } = await ppoIteration({
        policy,
        reference,
        optimizer,
        klController: new FixedKLController(0.1),
        prompts: [[0], [0], [0], [0], [0], [0], [0], [0]],
        reward: reward0,
        config,
        stopId: 7,
        padId: 0,
        rng,
        ptx: { batches, iteration: it },
      });
      ptxLosses.push(stats["loss/ptx"]);
    }
    const after = (await nextTokenLoss(policy.lm, supervised).data())[0];
    optimizer.dispose();
    disposePolicy(policy);
    disposeGPT2(reference);
    return { before, after, ptxLosses };
  };
  const off = await run(0);
  assert.equal(batchesRead, 0, "c_ptx = 0 reads no supervised batch");
  assert.deepEqual(off.ptxLosses, [0, 0, 0, 0]);
  const on = await run(1);
  assert.equal(batchesRead, 16, "one supervised batch per minibatch: 4 iterations × 2 epochs × 2 minibatches");
  assert.ok(Math.abs(on.ptxLosses[0] - on.before) < 0.5, `first ptx loss ${on.ptxLosses[0]} vs ${on.before} before any step`);
  assert.ok(
    on.after < 0.6 * on.before && on.after < off.after - 0.5,
    `supervised loss: c_ptx = 1 ${on.before} → ${on.after}, c_ptx = 0 → ${off.after}`,
  );
  const noBatches = resolvePPOConfig({ batchSize: 2, miniBatchSize: 2, ptxCoef: 1 });
  await assert.rejects(
    () =>
      ppoIteration({
        policy: undefined as never,
        reference: undefined as never,
        optimizer: undefined as never,
        klController: new FixedKLController(0.1),
        prompts: [[0]],
        reward: reward0,
        config: noBatches,
        stopId: 7,
        padId: 0,
        rng: new Rng(1),
      }),
    /ptxCoef > 0 needs options.ptx/,
  );
});

/** A reward that says nothing: every response scores 0. */
const reward0 = (_: number[], responses: number[][]) => Promise.resolve(responses.map(() => 0));

Deno.test("PPO raises the mood reward (the default preference's σ(bright − sorrowful)) on a tiny character model", async () => {
  const { loadValenceList, readMood } = await import("../lib/tasks/poetry_zh/mood.ts");
  const valence = await loadValenceList();
  const chars = ["，", "喜", "欢", "悲", "泪", "山", "水"]; // ids 0–6; id 7 ends the answer
  const text = (r: number[]) => r.filter((t) => t < chars.length).map((t) => chars[t]).join("");
  const reward = (_: number[], responses: number[][]) => Promise.resolve(responses.map((r) => readMood(text(r), valence).mood));
  const { scores, gain } = await toyPPO(5, [5, 6], reward);
  assert.ok(gain > 0.1, `mood ${scores.map((s) => s.toFixed(2)).join(" → ")}`);
});

Deno.test("the PPO phases run one at a time (as a notebook does) give exactly what ppoIteration gives", async () => {
  const { advantages, ppoUpdate, scoreRollout } = await import("../lib/ppo/ppo_phases.ts");
  const { rollout } = await import("../lib/rollout/rollout.ts");
  const make = () => {
    const sft = createGPT2(resolveGPT2Config({ vocab_size: 8, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 }), { seed: 11 });
    const policy = createPolicy(sft);
    const reference = cloneGPT2(sft, { trainable: false });
    disposeGPT2(sft);
    return { policy, reference, optimizer: new AdamW(policyParams(policy), { weightDecay: 0 }), rng: new Rng(12) };
  };
  const config = resolvePPOConfig({ ...TOY, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2, lr: 3e-3, maxNewTokens: 5, klTarget: undefined });
  const reward = (_: number[], responses: number[][]) => Promise.resolve(responses.map((r) => r.filter((t) => t === 3).length));
  const prompts = [[0, 1], [0], [1, 2, 3], [4]];
  const a = make();
  const whole = await ppoIteration({ ...a, klController: new FixedKLController(0.05), prompts, reward, config, stopId: 7, padId: 0 });
  const b = make();
  const rolled = await rollout({ lm: b.policy.lm, prompts, config, stopId: 7, padId: 0, rng: b.rng });
  const scored = await scoreRollout({ policy: b.policy, reference: b.reference, rollout: rolled, reward, config });
  const adv = advantages({ scored, beta: 0.05, config });
  const update = await ppoUpdate({
    policy: b.policy,
    optimizer: b.optimizer,
    rollout: rolled,
    scored,
    advantages: adv,
    config,
    padId: 0,
    rng: b.rng,
  });
  assert.deepEqual(rolled.tokens, whole.responses);
  assert.deepEqual(scored.scores, whole.scores);
  assert.equal(update.pg.reduce((x, y) => x + y, 0) / update.pg.length, whole.stats["loss/policy"]);
  for (const [name, v] of Object.entries(a.policy.lm.params)) assert.deepEqual(await b.policy.lm.params[name].data(), await v.data(), name);
  for (const run of [a, b]) {
    run.optimizer.dispose();
    disposePolicy(run.policy);
    disposeGPT2(run.reference);
  }
});

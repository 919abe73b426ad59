/** The PPO stage: a killed run resumes to the same policy as an uninterrupted one. */
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { runPPOStage } from "../lib/pipeline/ppo_stage.ts";
import { disposePolicy } from "../lib/ppo/policy.ts";
import { createRewardModel, disposeRewardModel } from "../lib/reward/reward_model.ts";
import { poetryTask } from "../lib/tasks/poetry_zh/task.ts";
import { loadPoems } from "../lib/corpus/poems.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });

/** A tiny SFT model and reward model on 200 poems of the rule-following task. */
async function tinySetup() {
  const task = poetryTask((await loadPoems()).slice(0, 200), { preference: "rules" });
  const tokenizer = buildCharVocab(task.vocabularyTexts(), { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const sft = createGPT2(resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 64, n_embd: 16, n_layer: 1, n_head: 2 }), {
    seed: 3,
  });
  return { task, tokenizer, sft, rm: createRewardModel(sft, { seed: 1 }) };
}

Deno.test("runPPOStage(): killed after iteration 1 and resumed = an uninterrupted run (weights, β, history; with PPO-ptx)", async () => {
  const { task, tokenizer, sft, rm } = await tinySetup();
  const options = {
    iterations: 2,
    evalPrompts: 2,
    evalEvery: 1,
    sampleEvery: 1,
    checkpointEvery: 5,
    quiet: true,
    ppo: { batchSize: 4, miniBatchSize: 2, ppoEpochs: 2, maxNewTokens: 8, lr: 1e-3, klTarget: 6, ptxCoef: 0.5 },
  };
  const dir = await Deno.makeTempDir();
  try {
    const straight = await runPPOStage(sft, tokenizer, task, rm, { ...options, checkpointDir: `${dir}/a` });
    // The SFT model's view handed in (the frontier measures it once for all its runs) is the very one the loop would take.
    const given = await runPPOStage(sft, tokenizer, task, rm, { ...options, checkpointDir: `${dir}/c`, referenceView: straight.before });
    assert.deepEqual(given.history.eval, straight.history.eval);
    disposePolicy(given.policy);
    const shortView = { ...straight.before, samples: straight.before.samples.slice(1) };
    await assert.rejects(
      () => runPPOStage(sft, tokenizer, task, rm, { ...options, checkpointDir: `${dir}/d`, referenceView: shortView }),
      /referenceView: 1 answers that are not the loop's 2 held-out requests in order/,
    );
    const killed = await runPPOStage(sft, tokenizer, task, rm, { ...options, checkpointDir: `${dir}/b`, stopAfterIteration: 1 });
    assert.equal(killed.history.stats.length, 1);
    disposePolicy(killed.policy);
    const resumed = await runPPOStage(sft, tokenizer, task, rm, { ...options, checkpointDir: `${dir}/b` });
    assert.deepEqual(resumed.history.stats.map((s) => s["objective/kl_coef"]), straight.history.stats.map((s) => s["objective/kl_coef"]));
    assert.deepEqual(resumed.history.stats.map((s) => s["objective/scores"]), straight.history.stats.map((s) => s["objective/scores"]));
    assert.deepEqual(resumed.history.stats.map((s) => s["loss/ptx"]), straight.history.stats.map((s) => s["loss/ptx"]));
    assert.ok(straight.history.stats.every((s) => s["loss/ptx"] > 0), "the supervised batches were used");
    for (const [name, v] of Object.entries(straight.policy.lm.params)) {
      assert.deepEqual(await resumed.policy.lm.params[name].data(), await v.data(), name);
    }
    assert.deepEqual(await resumed.policy.value.weight.data(), await straight.policy.value.weight.data());
    disposePolicy(straight.policy);
    disposePolicy(resumed.policy);
    // A checkpoint of PPO on other models (another SFT model or reward model) is refused, not resumed.
    await assert.rejects(
      () => runPPOStage(sft, tokenizer, task, rm, { ...options, checkpointDir: `${dir}/b`, startedFrom: "sft@other + rm@other" }),
      /this ppo run was made from other inputs or settings \(started_from: \(none\) → "sft@other \+ rm@other"\); start afresh/,
    );
  } finally {
    disposeRewardModel(rm);
    disposeGPT2(sft);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPPOStage(): a non-finite statistic stops the run with the iteration named, before any checkpoint; options reject ±Infinity/NaN", async () => {
  const { resolvePPOConfig } = await import("../lib/ppo/ppo_config.ts");
  assert.throws(
    () => resolvePPOConfig({ ptxCoef: Infinity }),
    /PPOConfig\.ptxCoef: expected ≥ 0, got Infinity|PPOConfig\.ptxCoef: expected a finite number/,
  );
  assert.throws(() => resolvePPOConfig({ initKlCoef: NaN }), /PPOConfig\.initKlCoef: expected a finite number, got NaN/);
  const { task, tokenizer, sft, rm } = await tinySetup();
  rm.normalisation = { gain: NaN, bias: 0 }; // a reward model whose every score is NaN
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () =>
        runPPOStage(sft, tokenizer, task, rm, {
          iterations: 2,
          evalPrompts: 2,
          evalEvery: 5,
          checkpointEvery: 1,
          quiet: true,
          checkpointDir: `${dir}/ppo`,
          ppo: { batchSize: 4, miniBatchSize: 2, maxNewTokens: 8 },
        }),
      /PPO diverged at iteration 1: .*NaN.*\(no checkpoint written\)/,
    );
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => !n.endsWith(".lock")),
      [],
      "no checkpoint of the broken policy",
    );
  } finally {
    disposeRewardModel(rm);
    disposeGPT2(sft);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runGroupStage() (GRPO): killed after iteration 1 and resumed = an uninterrupted run (weights, history)", async () => {
  const { runGroupStage } = await import("../lib/pipeline/group_stage.ts");
  const { task, tokenizer, sft, rm } = await tinySetup();
  const options = {
    iterations: 3,
    promptsPerIteration: 2,
    evalPrompts: 2,
    evalEvery: 3,
    checkpointEvery: 5,
    quiet: true,
    group: { method: "grpo" as const, maxNewTokens: 8, miniBatchSize: 4, lr: 1e-3 },
  };
  const dir = await Deno.makeTempDir();
  try {
    const straight = await runGroupStage(sft, tokenizer, task, rm, { ...options, checkpointDir: `${dir}/a` });
    // An early stop ends the stage as PPO's does: its checkpoint written, the history so far returned.
    const stopped = await runGroupStage(sft, tokenizer, task, rm, { ...options, checkpointDir: `${dir}/b`, stopAfterIteration: 1 });
    assert.equal(stopped.history.stats.length, 1);
    disposeGPT2(stopped.lm);
    const resumed = await runGroupStage(sft, tokenizer, task, rm, { ...options, checkpointDir: `${dir}/b` });
    assert.deepEqual(resumed.history, straight.history);
    // A finished run is reused as it is (the same history and final view), not trained again.
    const reused = await runGroupStage(sft, tokenizer, task, rm, { ...options, checkpointDir: `${dir}/b` });
    assert.deepEqual(reused.history, straight.history);
    assert.deepEqual(reused.after, straight.after);
    disposeGPT2(reused.lm);
    for (const [name, v] of Object.entries(straight.lm.params)) {
      assert.deepEqual(await resumed.lm.params[name].data(), await v.data(), name);
    }
    disposeGPT2(straight.lm);
    disposeGPT2(resumed.lm);
  } finally {
    disposeRewardModel(rm);
    disposeGPT2(sft);
    await Deno.remove(dir, { recursive: true });
  }
});

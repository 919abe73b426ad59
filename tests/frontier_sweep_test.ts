/** The frontier's sweep on a tiny model: a consistent points file, and a sweep resumed part-way equals an uninterrupted one. */
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { savePretrained } from "../lib/pretrained.ts";
import { poetryTask } from "../lib/tasks/poetry_zh/task.ts";
import { loadPoems } from "../lib/corpus/poems.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
import { type FrontierOptions, runFrontier } from "../lib/frontier/run_frontier.ts";
import { ppoStartedFrom } from "../lib/pipeline/ppo_stage.ts";
import type { SweepRun } from "../lib/frontier/sweep.ts";
import { bestOfNKl } from "../lib/eval/best_of_n.ts";
import { tf } from "../lib/tf.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });

const SWEEP: SweepRun[] = [
  {
    run: "ppo-tiny",
    method: "ppo",
    settings: { batchSize: 4, miniBatchSize: 2, maxNewTokens: 8, initKlCoef: 0.1, klTarget: undefined, ptxCoef: 0 },
  },
  { run: "dpo-tiny", method: "dpo", settings: { beta: 0.5, pairsPerStep: 1 } },
  { run: "grpo-tiny", method: "grpo", settings: { beta: 0.2, maxNewTokens: 8, miniBatchSize: 4 } },
];

Deno.test("runFrontier(): every run's points at each measurement, SFT at KL 0, best-of-n at its formula; a resumed sweep equals an uninterrupted one", async () => {
  const task = poetryTask((await loadPoems()).slice(0, 200), { preference: "rules" });
  const tokenizer = buildCharVocab(task.vocabularyTexts(), { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const sft = createGPT2(resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 128, n_embd: 16, n_layer: 1, n_head: 2 }), {
    seed: 3,
  });
  const dir = await Deno.makeTempDir();
  try {
    await savePretrained({ ...sft, tokenizer }, `${dir}/sft`);
    const base: Partial<FrontierOptions> = {
      sftDir: `${dir}/sft`,
      rmDir: `${dir}/rm`,
      reward: { trainPrompts: 4, heldoutPrompts: 3, k: 2, train: { epochs: 1 }, labelsPath: `${dir}/labels.jsonl` },
      requests: 2,
      answers: 2,
      bestOfN: [1, 2, 4],
      iterations: 2,
      evalEvery: 1,
      dpoViews: 2,
      quiet: true,
    };
    const tensors = tf.memory().numTensors;
    const straight = await runFrontier(task, { ...base, sweep: SWEEP, checkpointRoot: `${dir}/a`, pointsPath: `${dir}/a/points.jsonl` });
    assert.equal(tf.memory().numTensors, tensors, "every model of the sweep freed");

    const sftPoint = straight.find((p) => p.method === "sft")!;
    assert.equal(sftPoint.kl.mean, 0);
    assert.deepEqual(
      straight.filter((p) => p.method === "best-of-n").map((p) => [p.step, p.kl.mean]),
      [1, 2, 4].map((n) => [n, bestOfNKl(n)]),
    );
    for (const run of SWEEP) {
      const own = straight.filter((p) => p.run === run.run);
      assert.ok(own.length >= 2, `${run.run}: measured along the run (${own.length} points)`);
      assert.deepEqual(own.map((p) => p.final), [...own.slice(1).map(() => false), true], `${run.run}: the last point is the final one`);
      for (const p of own) {
        assert.equal(p.requests * p.answersPerRequest, 4);
        assert.ok([p.kl.mean, p.kl.se, p.k3!.mean, p.gold.mean, p.gold.se, p.rm.mean].every(Number.isFinite), `${run.run}@${p.step}`);
        assert.ok(p.k3!.mean >= 0, "k3 is never negative");
      }
    }
    assert.deepEqual(straight.filter((p) => p.run === "ppo-tiny").map((p) => p.step), [1, 2]);
    const from = await ppoStartedFrom(`${dir}/sft`, `${dir}/rm`);
    assert.ok(straight.every((p) => p.from === from), "every point records the SFT model and reward model it was measured from");

    // The same sweep, stopped after its first run and started again: the same points, none twice.
    await runFrontier(task, { ...base, sweep: SWEEP.slice(0, 1), checkpointRoot: `${dir}/b`, pointsPath: `${dir}/b/points.jsonl` });
    const resumed = await runFrontier(task, { ...base, sweep: SWEEP, checkpointRoot: `${dir}/b`, pointsPath: `${dir}/b/points.jsonl` });
    assert.deepEqual(resumed, straight);

    // A sweep from another reward model is refused on this points file, before it measures anything.
    const otherRm = { ...base, rmDir: `${dir}/rm2`, sweep: SWEEP, checkpointRoot: `${dir}/b`, pointsPath: `${dir}/b/points.jsonl` };
    await assert.rejects(
      () => runFrontier(task, otherRm),
      /points\.jsonl: its points were measured from other models/,
    );
  } finally {
    disposeGPT2(sft);
    await Deno.remove(dir, { recursive: true });
  }
});

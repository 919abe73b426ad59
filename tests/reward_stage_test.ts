/**
 * The reward stage trains on people's rankings too: the lists of human label
 * files join the simulated ones (or replace them), the result counts lists per
 * labeler, and the saved reward model records which files it saw. A second
 * run on the same inputs loads the finished reward model instead of training.
 */
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { runRewardStage } from "../lib/pipeline/reward_stage.ts";
import { savePretrained } from "../lib/pretrained.ts";
import { appendLabels, type RankRecord } from "../lib/reward/labels.ts";
import { disposeRewardModel } from "../lib/reward/reward_model.ts";
import { loadPoems } from "../lib/corpus/poems.ts";
import { loadValenceList } from "../lib/tasks/poetry_zh/mood.ts";
import { poetryTask } from "../lib/tasks/poetry_zh/task.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });

Deno.test("runRewardStage(): people's label files join (or replace) the simulated lists; counts per labeler; a finished run is reused", async () => {
  const task = poetryTask((await loadPoems()).slice(0, 300), { valence: await loadValenceList() });
  const tokenizer = buildCharVocab(task.vocabularyTexts(), { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const sft = createGPT2(resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 128, n_embd: 16, n_layer: 1, n_head: 2 }), {
    seed: 2,
  });
  const dir = await Deno.makeTempDir();
  try {
    await savePretrained({ ...sft, tokenizer }, `${dir}/sft`);
    const prompt = task.prompts("train", 0)[0];
    const human: RankRecord[] = ["李老师", "王同学"].map((labeler) => ({
      prompt_id: prompt.id,
      prompt: prompt.messages,
      responses: ["晴日花香暖，欢歌满池塘。\n莺飞桃李艳，佳节喜年芳。", "孤客泪沾裳，秋风断客肠。\n寒灯残梦冷，老病卧他乡。"],
      labeler,
      time: "2026-12-01T00:00:00Z",
      checkpoint: "any",
    }));
    await appendLabels(`${dir}/human.jsonl`, human);
    const base = { labelsPath: `${dir}/sim.jsonl`, heldoutPrompts: 3, quiet: true, train: { epochs: 1 } };
    const both = await runRewardStage(sft, tokenizer, task, `${dir}/sft`, {
      ...base,
      trainPrompts: 4,
      checkpointDir: `${dir}/rm`,
      humanLabels: [`${dir}/human.jsonl`],
    });
    assert.equal(both.trainLists, 6);
    assert.deepEqual(Object.values(both.listsByLabeler).sort(), [1, 1, 4]);
    // Two people's lists: their agreement is measured (the simulated labeler's lists are not among them).
    assert.deepEqual(both.labelerAgreement?.labelers.map((l) => l.labeler), ["李老师", "王同学"]);
    assert.deepEqual(both.labelerAgreement?.pairwise.pooled, { pairs: 1, agreement: 1 });
    const saved = JSON.parse(await Deno.readTextFile(`${dir}/rm/reward.json`));
    assert.deepEqual(saved.labels.files, [`${dir}/sim.jsonl`, `${dir}/human.jsonl`]);
    assert.equal(saved.labels.listsByLabeler["李老师"], 1);
    // Mark the saved model, so that a reload (rather than a retrain) shows.
    await Deno.writeTextFile(`${dir}/rm/reward.json`, JSON.stringify({ ...saved, normalisation: { gain: 1, bias: 123 } }));
    const again = await runRewardStage(sft, tokenizer, task, `${dir}/sft`, {
      ...base,
      trainPrompts: 4,
      checkpointDir: `${dir}/rm`,
      humanLabels: [`${dir}/human.jsonl`],
    });
    assert.equal(again.rm.normalisation.bias, 123, "the finished reward model was loaded, not trained again");
    assert.deepEqual(again.history, both.history);
    const only = await runRewardStage(sft, tokenizer, task, `${dir}/sft`, {
      ...base,
      trainPrompts: 0,
      checkpointDir: `${dir}/rm-human`,
      humanLabels: [`${dir}/human.jsonl`],
    });
    assert.deepEqual(only.listsByLabeler, { "李老师": 1, "王同学": 1 });
    // The same file named twice, and a copy of it: each list counts once (and the fitted model is the same one).
    await Deno.copyFile(`${dir}/human.jsonl`, `${dir}/human-copy.jsonl`);
    const twice = await runRewardStage(sft, tokenizer, task, `${dir}/sft`, {
      ...base,
      trainPrompts: 0,
      checkpointDir: `${dir}/rm-human`,
      humanLabels: [`${dir}/human.jsonl`, `${dir}/human.jsonl`, `${dir}/human-copy.jsonl`],
    });
    assert.equal(twice.trainLists, 2);
    assert.deepEqual(twice.listsByLabeler, { "李老师": 1, "王同学": 1 });
    disposeRewardModel(twice.rm);
    await assert.rejects(
      () =>
        runRewardStage(sft, tokenizer, task, `${dir}/sft`, {
          ...base,
          trainPrompts: 0,
          checkpointDir: `${dir}/rm2`,
          humanLabels: [`${dir}/missing.jsonl`],
        }),
      /missing\.jsonl: label file not found/,
    );
    for (const r of [both, again, only]) disposeRewardModel(r.rm);
  } finally {
    disposeGPT2(sft);
    await Deno.remove(dir, { recursive: true });
  }
});

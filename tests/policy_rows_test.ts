/**
 * The round trip: a policy exported for the engines (exportPolicy, the
 * GPT2LMHeadModel directory of the bundle) loads back and gets the same row
 * as the checkpoint it came from; SFT against itself has KL 0 and no gain;
 * another policy gets its own row; a policy of another vocabulary is refused
 * by name; a directory saved as an engine saves a trained policy (bfloat16,
 * `lm_head.weight`, no vocab.txt; reference/engine_like_save.py) reads back
 * with PyTorch's logits and gets a row; `deno task evaluate` refuses bad
 * input in one line.
 */
import { basename } from "node:path";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { savePretrained } from "../lib/pretrained.ts";
import { createRewardModel, disposeRewardModel } from "../lib/reward/reward_model.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
import { poetryTask } from "../lib/tasks/poetry_zh/task.ts";
import { loadValenceList } from "../lib/tasks/poetry_zh/mood.ts";
import type { Poem } from "../lib/corpus/poems.ts";
import { exportPolicy } from "../lib/export/hf_models.ts";
import { loadPolicyFor, policyRows } from "../lib/pipeline/policy_rows.ts";
import { torchAvailable } from "../lib/bench/torch_reference.ts";
import { logits } from "../lib/gpt2/forward.ts";
import { encodePrompt } from "../lib/tokenizer/chat_template.ts";
import { tf } from "../lib/tf.ts";
import { assert, maxAbsDiff, runScript, withTempDir } from "./helpers.ts";

const hasTorch = await torchAvailable();

const poems: Poem[] = Array.from({ length: 6 }, (_, i) => ({
  id: `p${i}`,
  title: `春晓${i}`,
  author: "孟浩然",
  lines: ["春眠不觉晓，", "处处闻啼鸟。", "夜来风雨声，", "花落知多少。"],
  chars_per_line: 5,
  n_lines: 4,
  split: i < 2 ? "train" : "heldout",
}));

/** A tiny run to measure against: the task, its tokenizer, an SFT model and a reward model (free them with `dispose`). */
async function tinyBase() {
  await initBackend({ quiet: true });
  const task = poetryTask(poems, { valence: await loadValenceList() });
  const tokenizer = buildCharVocab(task.vocabularyTexts(), { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const config = resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 128, n_embd: 16, n_layer: 1, n_head: 2 });
  const sft = createGPT2(config, { seed: 1 });
  const rm = createRewardModel(sft, { seed: 3 });
  const dispose = () => (disposeRewardModel(rm), disposeGPT2(sft));
  return { base: { task, sft, tokenizer, rm }, config, dispose };
}

Deno.test("an exported policy loads back with the same held-out row as its checkpoint", async () => {
  const { base, config, dispose } = await tinyBase();
  const { sft, tokenizer } = base;
  const other = createGPT2(config, { seed: 2 });
  try {
    await withTempDir(async (dir) => {
      await savePretrained({ ...sft, tokenizer }, `${dir}/sft`);
      await exportPolicy(sft, tokenizer, `${dir}/bundle/models/sft`);
      await savePretrained({ ...other, tokenizer }, `${dir}/other`);
      const rows = await policyRows(base, [`${dir}/sft`, `${dir}/bundle/models/sft`, `${dir}/other`], { requests: 4, answers: 1 });
      assert.deepEqual(rows.map((r) => r.name), ["SFT", `${basename(dir)}/sft`, "models/sft", "other"]);
      const [sftRow, checkpoint, exported, otherRow] = rows;
      for (const r of [checkpoint, exported]) {
        assert.equal(r.kl, 0);
        assert.equal(r.gainOverSft.mean, 0);
        assert.equal(r.gold, sftRow.gold);
      }
      const { dir: _a, name: _na, ...a } = checkpoint;
      const { dir: _b, name: _nb, ...b } = exported;
      assert.deepEqual(b, a);
      assert.ok(otherRow.kl > 0.1, `another policy drifts from SFT: KL ${otherRow.kl}`);

      const smaller = createGPT2(resolveGPT2Config({ ...config, vocab_size: config.vocab_size - 1 }), { seed: 4 });
      await savePretrained(smaller, `${dir}/smaller`);
      disposeGPT2(smaller);
      await assert.rejects(() => policyRows(base, [`${dir}/smaller`], { requests: 2, answers: 1 }), /smaller: vocabulary of \d+ ids/);
    });
  } finally {
    disposeGPT2(other);
    dispose();
  }
});

Deno.test({
  name: "a policy saved as an engine saves one (bfloat16, lm_head.weight, no vocab.txt) reads back exactly and gets a row",
  ignore: !hasTorch,
  fn: async () => {
    const { base, dispose } = await tinyBase();
    const { task, sft, tokenizer } = base;
    try {
      await withTempDir(async (dir) => {
        await exportPolicy(sft, tokenizer, `${dir}/bundle/models/sft`);
        const rows = task.prompts("heldout", 0).map((p) => encodePrompt(p.messages, tokenizer));
        const script = new URL("../reference/engine_like_save.py", import.meta.url).pathname;
        const out = await new Deno.Command("/usr/bin/python3", {
          args: [script, `${dir}/bundle/models/sft`, `${dir}/out/grpo`, "5", JSON.stringify(rows)],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        const torchLogits = JSON.parse(new TextDecoder().decode(out.stdout)).logits as number[][];
        const policy = await loadPolicyFor(`${dir}/out/grpo`, base);
        try {
          let worst = 0;
          for (const [i, row] of rows.entries()) {
            const ours = tf.tidy(() => logits(policy, tf.tensor2d([row], undefined, "int32")));
            worst = Math.max(worst, maxAbsDiff(await ours.data(), torchLogits[i]));
            ours.dispose();
          }
          assert.ok(worst <= 1e-4, `logits differ by ${worst}`);
        } finally {
          disposeGPT2(policy);
        }
        const [, grpo] = await policyRows(base, [`${dir}/out/grpo`], { requests: 4, answers: 1 });
        assert.equal(grpo.name, "grpo");
        assert.ok(grpo.kl > 0.01, `the moved policy drifts from SFT: KL ${grpo.kl}`);
      });
    } finally {
      dispose();
    }
  },
});

Deno.test("deno task evaluate: bad input ends in one line naming the flag, exit status 2", async () => {
  await withTempDir(async (dir) => {
    const cases: [string[], RegExp][] = [
      [[], /--policy: expected one or more policy directories/],
      [["--policy", `${dir}/none`], /--policy .*none: no config.json/],
      [["--policy", dir, "--answers", "0"], /--answers 0: expected an integer 1–64/],
    ];
    for (const [args, message] of cases) {
      const { code, err } = await runScript("evaluate", args);
      assert.equal(code, 2, err);
      assert.match(err, message);
      assert.equal(err.trim().split("\n").length, 1, err);
    }
  });
});

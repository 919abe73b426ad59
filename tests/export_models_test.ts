/**
 * The exported policy and reward model load by their Hugging Face names and
 * compute what ours compute: PyTorch (reference/hf_export_check.py, the way
 * GPT2LMHeadModel, GPT2ForSequenceClassification — TRL, OpenRLHF — and
 * GPT2ForTokenClassification as verl reads it) reproduces our logits and
 * normalised rewards on 32 answers, max |Δ| ≤ 1e-4. Runs where Debian's
 * python3-torch is installed; reported as ignored elsewhere.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { logits } from "../lib/gpt2/forward.ts";
import { createRewardModel, disposeRewardModel, normalisedReward, rawRewards } from "../lib/reward/reward_model.ts";
import { encodeForReward } from "../lib/reward/train_reward.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS, type ChatMessage, encodeChat } from "../lib/tokenizer/chat_template.ts";
import { exportPolicy, exportRewardModel } from "../lib/export/hf_models.ts";
import { torchAvailable } from "../lib/bench/torch_reference.ts";
import { Rng } from "../lib/rng.ts";
import { assert, maxAbsDiff, withTempDir } from "./helpers.ts";

const hasTorch = await torchAvailable();
const SCRIPT = new URL("../reference/hf_export_check.py", import.meta.url).pathname;

async function torchSays(kind: string, dir: string, rows: number[][]): Promise<Record<string, number[] | number[][]>> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [SCRIPT, kind, dir, JSON.stringify(rows)],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** 32 conversations (request + answer) of different lengths over the vocabulary's characters. */
function conversations(chars: string): { prompt: ChatMessage[]; response: string }[] {
  const rng = new Rng(3);
  const text = (n: number) => Array.from({ length: n }, () => chars[rng.nextInt(chars.length)]).join("");
  return Array.from(
    { length: 32 },
    () => ({ prompt: [{ role: "user", content: text(2 + rng.nextInt(6)) }], response: text(1 + rng.nextInt(20)) }),
  );
}

Deno.test({
  name: "PyTorch reads the exported policy and both reward-model layouts by their HF names and gets our logits and rewards",
  ignore: !hasTorch,
  fn: async () => {
    await initBackend({ quiet: true });
    const chars = "床前明月光疑是地上霜举头望低思故乡，。";
    const tokenizer = buildCharVocab([chars], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
    const config = resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 48, n_embd: 16, n_layer: 2, n_head: 2 });
    const policy = createGPT2(config, { seed: 5 });
    const rm = createRewardModel(policy, { seed: 6 });
    rm.head.bias.assign(tf.tensor1d([0.37]));
    rm.normalisation = { gain: 1.7, bias: -0.3 };
    const items = conversations(chars);
    try {
      await withTempDir(async (dir) => {
        // Policy: the logits of every position of each conversation.
        await exportPolicy(policy, tokenizer, `${dir}/policy`);
        const rows = items.map((c) => encodeChat([...c.prompt, { role: "assistant", content: c.response }], tokenizer).ids);
        const torchLogits = (await torchSays("lm", `${dir}/policy`, rows)).logits as number[][];
        let worst = 0;
        for (const [i, row] of rows.entries()) {
          const ours = tf.tidy(() => logits(policy, tf.tensor2d([row], undefined, "int32")));
          worst = Math.max(worst, maxAbsDiff(await ours.data(), torchLogits[i]));
          ours.dispose();
        }
        assert.ok(worst <= 1e-4, `policy logits differ by ${worst}`);

        // Reward model: our normalised reward of each answer, read at its last real token.
        const enc = encodeForReward(tokenizer, items, config.n_positions);
        const raw = tf.tidy(() => rawRewards(rm, tf.tensor2d(enc.ids, undefined, "int32"), enc.lastIndex));
        const want = [...await raw.data()].map((r) => normalisedReward(rm, r));
        raw.dispose();
        const unpadded = enc.ids.map((r, i) => r.slice(0, enc.lastIndex[i] + 1));

        const seq = await exportRewardModel(rm, tokenizer, `${dir}/rm`, "sequence-classification");
        const s = await torchSays("sequence", `${dir}/rm`, unpadded);
        assert.ok(maxAbsDiff((s.scores as number[]).map((x) => x + seq.offset), want) <= 1e-4, "GPT2ForSequenceClassification + offset");
        assert.ok(maxAbsDiff(s.openrlhf as number[], want) <= 1e-4, "OpenRLHF's (score − mean) / std");

        await exportRewardModel(rm, tokenizer, `${dir}/rm-verl`, "token-classification");
        const t = await torchSays("token", `${dir}/rm-verl`, unpadded);
        assert.ok(maxAbsDiff(t.scores as number[], want) <= 1e-4, "GPT2ForTokenClassification at verl's last position");
        // The answers differ in their rewards, so the check compares something.
        assert.ok(Math.max(...want) - Math.min(...want) > 0.01);
      });
    } finally {
      disposeRewardModel(rm);
      disposeGPT2(policy);
    }
  },
});

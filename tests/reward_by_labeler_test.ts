import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { rewardDisagreement, rewardModelRowsBy, rewardModelsBy } from "../lib/labeling/reward_by_labeler.ts";
import type { RankRecord } from "../lib/reward/labels.ts";
import { disposeRewardModel } from "../lib/reward/reward_model.ts";
import { evaluateRewardModel } from "../lib/reward/train_reward.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
import { Rng } from "../lib/rng.ts";
import { assert } from "./helpers.ts";

Deno.test("rewardModelsBy(): a reward model per labeler learns that labeler's preference; two opposite labelers' models disagree", async () => {
  const tok = buildCharVocab(["月山水花风雨写诗"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const rng = new Rng(5);
  const count = (s: string, c: string) => [...s].filter((x) => x === c).length;
  // "moon" ranks by 月, "rain" by 雨; both rank the same answers.
  const answers = () => {
    const set = new Set<string>();
    while (set.size < 4) set.add(Array.from({ length: 6 }, () => "月山水花风雨"[rng.nextInt(6)]).join(""));
    return [...set];
  };
  const rank = (labeler: string, char: string, responses: string[], i: number): RankRecord => ({
    prompt_id: `p${i}`,
    prompt: [{ role: "user", content: "写诗" }],
    responses: [...responses].sort((a, b) => count(b, char) - count(a, char) || (a < b ? -1 : 1)),
    labeler,
    time: "2026-01-01T00:00:00Z",
    checkpoint: "sft",
  });
  const items = Array.from({ length: 160 }, () => answers());
  const lists = items.flatMap((r, i) => [rank("moon", "月", r, i), rank("rain", "雨", r, i)]);
  const heldout = Array.from({ length: 40 }, () => answers());
  const sft = createGPT2(resolveGPT2Config({ vocab_size: tok.vocabSize, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 }), { seed: 1 });
  const models = await rewardModelsBy(sft, tok, lists, { train: { epochs: 3, lr: 3e-3 }, seed: 1 });
  // Each labeler's model on the other labeler's lists (a held-out labeler): worse than on its own.
  const rows = await rewardModelRowsBy(sft, tok, lists.slice(0, 120), { train: { epochs: 3, lr: 3e-3 }, seed: 1 });
  disposeGPT2(sft);
  assert.deepEqual(rows.map((r) => [r.group, r.lists]), [["moon", 60], ["rain", 60]]);
  assert.ok(rows.every((r) => r.own > r.others + 0.1), JSON.stringify(rows));
  try {
    assert.deepEqual(models.map((m) => [m.group, m.lists]), [["moon", 160], ["rain", 160]]);
    const [moon, rain] = models;
    const moonHeld = heldout.map((r, i) => rank("moon", "月", r, 1000 + i));
    const rainHeld = heldout.map((r, i) => rank("rain", "雨", r, 1000 + i));
    const own = [
      (await evaluateRewardModel(moon.rm, tok, moonHeld)).pairwise,
      (await evaluateRewardModel(rain.rm, tok, rainHeld)).pairwise,
    ];
    assert.ok(own.every((a) => a > 0.7), `each fits its labeler: ${own}`);
    const d = await rewardDisagreement(moon.rm, rain.rm, tok, moonHeld);
    assert.equal(d.pairs, 40 * 6);
    assert.ok(d.disagreement > 0.3, `moon vs rain disagree on ${d.disagreement}`);
    const self = await rewardDisagreement(moon.rm, moon.rm, tok, moonHeld);
    assert.deepEqual([self.disagreement, +self.spearman.toFixed(6)], [0, 1]);
  } finally {
    for (const m of models) disposeRewardModel(m.rm);
  }
});

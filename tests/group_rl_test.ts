/**
 * Critic-free RL (RLOO, GRPO): the group advantages against a naive loop (a
 * group whose answers all score the same gives 0, never NaN); one iteration
 * leaks no tensors; both methods raise a toy reward, with the KL in the
 * reward or in the loss.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { cloneGPT2, createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { groupAdvantages } from "../lib/group/group_advantages.ts";
import { GROUP_DEFAULTS, groupIteration } from "../lib/group/group_step.ts";
import { AdamW } from "../lib/train/adamw.ts";
import { Rng } from "../lib/rng.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });

Deno.test("group advantages: RLOO's leave-one-out mean and GRPO's standardisation, group by group; a flat group gives 0", () => {
  const rewards = [1, 2, 3, 6, 5, 5, 5, 5];
  const G = 4;
  const naiveRloo: number[] = [];
  const naiveGrpo: number[] = [];
  for (let g = 0; g < rewards.length; g += G) {
    const group = rewards.slice(g, g + G);
    const m = group.reduce((a, b) => a + b, 0) / G;
    const sd = Math.sqrt(group.reduce((a, r) => a + (r - m) ** 2, 0) / (G - 1));
    group.forEach((r, i) => {
      const others = group.filter((_, j) => j !== i);
      naiveRloo.push(r - others.reduce((a, b) => a + b, 0) / others.length);
      naiveGrpo.push((r - m) / (sd + 1e-4));
    });
  }
  const close = (a: number[], b: number[]) => a.every((x, i) => Math.abs(x - b[i]) < 1e-12);
  assert.ok(close(groupAdvantages(rewards, G, "rloo"), naiveRloo));
  assert.ok(close(groupAdvantages(rewards, G, "grpo"), naiveGrpo));
  assert.deepEqual(groupAdvantages(rewards, G, "grpo").slice(4), [0, 0, 0, 0]);
  assert.deepEqual(groupAdvantages(rewards, G, "rloo").slice(4), [0, 0, 0, 0]);
  assert.throws(() => groupAdvantages([1, 2, 3], 2, "rloo"), /not a whole number of groups/);
});

for (const [method, klIn] of [["grpo", "loss"], ["rloo", "reward"]] as const) {
  Deno.test(`${method} (KL in the ${klIn}) raises a toy reward with no value head, and leaks no tensors`, async () => {
    const sft = createGPT2(resolveGPT2Config({ vocab_size: 8, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 }), { seed: 1 });
    const lm = cloneGPT2(sft, { trainable: true });
    const reference = cloneGPT2(sft, { trainable: false });
    disposeGPT2(sft);
    const optimizer = new AdamW(lm.params, { weightDecay: 0 });
    const config = { ...GROUP_DEFAULTS, method, klIn, groupSize: 4, beta: 0.02, lr: 3e-3, epochs: 2, miniBatchSize: 8, maxNewTokens: 6 };
    const reward = (_: number[], responses: number[][]) => Promise.resolve(responses.map((r) => r.filter((t) => t === 3).length));
    const rng = new Rng(4);
    const scores: number[] = [];
    const tensors: number[] = [];
    for (let it = 0; it < 8; it++) {
      const { stats } = await groupIteration({
        lm,
        reference,
        optimizer,
        prompts: [[0, 1], [0], [1], [2, 1]],
        reward,
        config,
        stopId: 7,
        padId: 0,
        rng,
      });
      assert.ok(Object.values(stats).every(Number.isFinite), JSON.stringify(stats));
      scores.push(stats["objective/scores"]);
      if (it === 0 || it === 7) tensors.push(tf.memory().numTensors);
    }
    assert.equal(tensors[1], tensors[0], "tensors leaked across iterations");
    const gain = (scores[6] + scores[7]) / 2 - (scores[0] + scores[1]) / 2;
    assert.ok(gain > 0.5, `${method}: ${scores.map((s) => s.toFixed(2)).join(" → ")}`);
    optimizer.dispose();
    disposeGPT2(lm);
    disposeGPT2(reference);
  });
}

/**
 * DPO: the pairs are the reward model's untied pairs; the batched loss and its
 * gradient equal a naive computation pair by pair (each conversation alone, no
 * padding); training leaks no tensors; and a toy preference is learned.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { cloneGPT2, createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { logits } from "../lib/gpt2/forward.ts";
import { dpoLoss, sequenceLogprobs, sequenceLogprobsComposite } from "../lib/dpo/dpo_loss.ts";
import { pairAsTemplatedText, preferencePairs } from "../lib/dpo/preference_pairs.ts";
import { encodePairs, trainDpo } from "../lib/dpo/train_dpo.ts";
import { ReferenceLogprobs } from "../lib/dpo/reference_logprobs.ts";
import { sftBatch } from "../lib/data/sft_batches.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS, encodeChat } from "../lib/tokenizer/chat_template.ts";
import type { RankRecord } from "../lib/reward/labels.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });
const tokenizer = buildCharVocab(["写诗喜悲山水，。"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
const config = resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2, dropout: 0 });
const prompt = [{ role: "user" as const, content: "写诗" }];
const list = (responses: string[], ranks?: number[]): RankRecord => ({
  prompt_id: "p",
  prompt,
  responses,
  labeler: "t",
  time: "2026-12-01T00:00:00Z",
  checkpoint: "c",
  ...(ranks ? { ranks } : {}),
});

Deno.test("preference pairs: every untied pair of each list, better first; TRL-style text with the chat template", () => {
  const pairs = preferencePairs([list(["喜", "山", "悲"], [1, 2, 2]), list(["水", "悲"])]);
  assert.deepEqual(pairs.map((p) => [p.chosen, p.rejected]), [["喜", "山"], ["喜", "悲"], ["水", "悲"]]);
  const text = pairAsTemplatedText(pairs[0], tokenizer);
  assert.equal(text.prompt, "<|user|>写诗<|end|><|assistant|>");
  assert.equal(text.chosen, "喜<|end|>");
  assert.equal(text.rejected, "山<|end|>");
});

/** log π(answer | prompt) of one conversation alone, from the logits array (no padding, no mask tensor). */
function naiveLogprob(model: ReturnType<typeof createGPT2>, answer: string): tf.Scalar {
  return tf.tidy(() => {
    const { ids, lossMask } = encodeChat([...prompt, { role: "assistant", content: answer }], tokenizer);
    const z = logits(model, tf.tensor2d([ids.slice(0, -1)], undefined, "int32")); // [1, T, V]
    const logp = tf.logSoftmax(tf.squeeze(z, [0]) as tf.Tensor2D); // [T, V]
    const terms = ids.slice(1).map((target, t) => (lossMask[t + 1] ? logp.slice([t, target], [1, 1]).reshape([]) : tf.scalar(0)));
    return tf.addN(terms) as tf.Scalar;
  });
}

Deno.test("the batched DPO loss and its gradient equal a pair-by-pair computation without padding", () => {
  const policy = createGPT2(config, { seed: 1 });
  const reference = createGPT2(config, { seed: 2 });
  const pairs = [{ prompt, chosen: "喜山水", rejected: "悲" }, { prompt, chosen: "山", rejected: "悲水，山水。" }];
  const beta = 0.3;
  const { encoded } = encodePairs(pairs, tokenizer, 32);
  const batch = sftBatch([...encoded.map((p) => p.chosen), ...encoded.map((p) => p.rejected)], tokenizer.eosId);
  const batched = () => {
    const lp = sequenceLogprobs(policy, batch);
    const ref = sequenceLogprobs(reference, batch);
    return dpoLoss(lp.slice(0, 2), lp.slice(2, 2), ref.slice(0, 2), ref.slice(2, 2), beta).loss;
  };
  const naive = () => {
    const losses = pairs.map((p) => {
      const margin = tf.mul(
        beta,
        tf.sub(
          tf.sub(naiveLogprob(policy, p.chosen), naiveLogprob(reference, p.chosen)),
          tf.sub(naiveLogprob(policy, p.rejected), naiveLogprob(reference, p.rejected)),
        ),
      );
      return tf.neg(tf.log(tf.sigmoid(margin)));
    });
    return tf.div(tf.addN(losses), pairs.length) as tf.Scalar;
  };
  const vars = Object.values(policy.params);
  const a = tf.variableGrads(batched, vars);
  const b = tf.variableGrads(naive, vars);
  assert.ok(Math.abs(a.value.dataSync()[0] - b.value.dataSync()[0]) < 1e-5, `${a.value.dataSync()[0]} vs ${b.value.dataSync()[0]}`);
  for (const v of vars) {
    const [ga, gb] = [a.grads[v.name].dataSync(), b.grads[v.name].dataSync()];
    const scale = Math.max(1e-6, ...gb.map(Math.abs));
    const worst = Math.max(...ga.map((x, i) => Math.abs(x - gb[i])));
    assert.ok(worst / scale < 1e-3, `${v.name}: max |Δ| ${worst} against max |g| ${scale}`);
  }
  tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
  disposeGPT2(policy);
  disposeGPT2(reference);
});

Deno.test("sequenceLogprobs() projects only the response's positions and equals the full-logits formula, gradients too; no tensor left", () => {
  const model = createGPT2(config, { seed: 3 });
  const { encoded } = encodePairs(
    [{ prompt, chosen: "喜山水，山水。", rejected: "悲" }, { prompt, chosen: "山", rejected: "水" }],
    tokenizer,
    32,
  );
  const batch = sftBatch([...encoded.map((p) => p.chosen), ...encoded.map((p) => p.rejected)], tokenizer.eosId);
  const vars = Object.values(model.params);
  const sum = (f: typeof sequenceLogprobs) => () => tf.sum(tf.mul(f(model, batch), tf.tensor1d([1, -2, 0.5, 3]))) as tf.Scalar;
  const warm = tf.variableGrads(sum(sequenceLogprobs), vars); // first use of each kernel out of the count
  tf.dispose([warm.value, ...Object.values(warm.grads)]);
  const before = tf.memory().numTensors;
  const [fast, plain] = [sequenceLogprobs(model, batch), sequenceLogprobsComposite(model, batch)];
  const worst = Math.max(...fast.dataSync().map((x, i) => Math.abs(x - plain.dataSync()[i])));
  assert.ok(worst < 1e-4, `values differ by ${worst}`);
  const a = tf.variableGrads(sum(sequenceLogprobs), vars);
  const b = tf.variableGrads(sum(sequenceLogprobsComposite), vars);
  for (const v of vars) {
    const [ga, gb] = [a.grads[v.name].dataSync(), b.grads[v.name].dataSync()];
    const scale = Math.max(1e-6, ...gb.map(Math.abs));
    const diff = Math.max(...ga.map((x, i) => Math.abs(x - gb[i])));
    assert.ok(diff / scale < 1e-4, `${v.name}: max |Δ| ${diff} against max |g| ${scale}`);
  }
  tf.dispose([fast, plain, a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
  assert.equal(tf.memory().numTensors, before);
  disposeGPT2(model);
});

Deno.test("DPO learns a toy preference (喜 over 悲) with the reference frozen, and leaks no tensors", async () => {
  const reference = createGPT2(config, { seed: 4 });
  const policy = cloneGPT2(reference, { trainable: true });
  const lists = Array.from({ length: 16 }, (_, i) => list([`喜${"山水"[i % 2]}`, `悲${"山水"[i % 2]}`]));
  const pairs = preferencePairs(lists);
  const referenceBefore = await Promise.all(Object.values(reference.params).map((v) => v.data()));
  const tensors = tf.memory().numTensors;
  const history = await trainDpo(policy, reference, tokenizer, pairs, { beta: 0.5, lr: 3e-3, epochs: 6, pairsPerStep: 8, quiet: true });
  assert.equal(tf.memory().numTensors, tensors, "tensors leaked across DPO steps");
  const first = history.train[0], last = history.train.at(-1)!;
  assert.ok(Math.abs(first["rewards/margins"]) < 1e-5, "the policy starts as the reference: implicit rewards 0");
  assert.ok(last["rewards/accuracies"] === 1 && last["rewards/margins"] > 0.5, JSON.stringify(last));
  assert.ok(last.loss < first.loss - 0.2, `loss ${first.loss} → ${last.loss}`);
  const referenceAfter = await Promise.all(Object.values(reference.params).map((v) => v.data()));
  assert.deepEqual(referenceAfter, referenceBefore, "the reference is frozen");
  disposeGPT2(policy);
  disposeGPT2(reference);
});

Deno.test("ReferenceLogprobs: runs that share the reference's log-probs train exactly as runs that compute them; a second run adds none", async () => {
  const reference = createGPT2(config, { seed: 5 });
  const lists = Array.from({ length: 12 }, (_, i) => list([`喜${"山水"[i % 2]}`, `悲水，${"山水"[i % 2]}`]));
  const pairs = preferencePairs(lists);
  const settings = { lr: 3e-3, epochs: 2, pairsPerStep: 4, quiet: true };
  const train = async (beta: number, shared?: ReferenceLogprobs) => {
    const policy = cloneGPT2(reference, { trainable: true });
    const history = await trainDpo(policy, reference, tokenizer, pairs, { ...settings, beta }, { referenceLogprobs: shared });
    const weights = await Promise.all(Object.values(policy.params).map((v) => v.data()));
    disposeGPT2(policy);
    return { history, weights };
  };
  const shared = new ReferenceLogprobs(reference);
  const tensors = tf.memory().numTensors;
  const firstShared = await train(0.5, shared);
  const held = shared.size;
  assert.equal(held, firstShared.history.train.length, "one entry per batch");
  const secondShared = await train(0.1, shared);
  assert.equal(shared.size, held, "the second run's batches were all known");
  assert.equal(tf.memory().numTensors, tensors, "no tensor left by the cache");
  for (const [beta, got] of [[0.5, firstShared], [0.1, secondShared]] as const) {
    const alone = await train(beta);
    assert.deepEqual(got.history, alone.history, `β ${beta}: the same history`);
    assert.deepEqual(got.weights, alone.weights, `β ${beta}: the same weights`);
  }
  const other = createGPT2(config, { seed: 6 });
  const otherPolicy = cloneGPT2(other, { trainable: true });
  await assert.rejects(
    () => trainDpo(otherPolicy, other, tokenizer, pairs, settings, { referenceLogprobs: shared }),
    /another reference model/,
  );
  disposeGPT2(otherPolicy);
  disposeGPT2(other);
  disposeGPT2(reference);
});

Deno.test("export-prefs: the records are the label file's untied pairs, in order, with the chat template", async () => {
  const { exportPreferencePairs } = await import("../lib/dpo/export_pairs.ts");
  const { appendLabels, loadLabels } = await import("../lib/reward/labels.ts");
  const dir = await Deno.makeTempDir();
  try {
    await appendLabels(`${dir}/labels.jsonl`, [list(["喜", "山", "悲"], [1, 2, 2]), list(["水", "悲"])]);
    const lists = await loadLabels(`${dir}/labels.jsonl`);
    assert.equal(await exportPreferencePairs(lists, tokenizer, `${dir}/prefs.jsonl`), 3);
    const records = (await Deno.readTextFile(`${dir}/prefs.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => [r.chosen, r.rejected]), [["喜<|end|>", "山<|end|>"], ["喜<|end|>", "悲<|end|>"], [
      "水<|end|>",
      "悲<|end|>",
    ]]);
    assert.ok(records.every((r) => r.prompt === "<|user|>写诗<|end|><|assistant|>"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

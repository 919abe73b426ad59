/** Reward-model pieces: the ranking loss against a naive loop, accuracy, the simulated labeler, label files. */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { rankingAccuracy, rankingLoss, rankPairs } from "../lib/reward/ranking_loss.ts";
import { SimulatedLabeler } from "../lib/reward/simulated_labeler.ts";
import { appendLabels, loadLabels, type RankRecord, uniqueRankLists } from "../lib/reward/labels.ts";
import { createRewardModel, disposeRewardModel, fitNormalisation, rawRewards, rewardModelParams } from "../lib/reward/reward_model.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { assert, assertAllClose, assertNoLeak } from "./helpers.ts";

await initBackend({ quiet: true });

Deno.test("rankingLoss() equals a naive loop over all C(K,2) pairs, and so does its gradient", async () => {
  const scores = [[2.0, 0.5, -1.0, 0.3], [0.1, 0.2, 0.3, -0.4]];
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  let naive = 0;
  const naiveGrad = scores.map((r) => r.map(() => 0));
  const P = rankPairs(4).length;
  assert.equal(P, 6);
  scores.forEach((row, l) => {
    for (const [i, j] of rankPairs(4)) {
      naive += -Math.log(sigmoid(row[i] - row[j])) / (P * scores.length);
      const g = -(1 - sigmoid(row[i] - row[j])) / (P * scores.length);
      naiveGrad[l][i] += g;
      naiveGrad[l][j] -= g;
    }
  });
  const s = tf.tensor2d(scores);
  const loss = rankingLoss(s);
  assertAllClose([(await loss.data())[0]], [naive], { atol: 1e-6 });
  const grad = tf.grad((x: tf.Tensor) => rankingLoss(x as tf.Tensor2D))(s);
  assertAllClose(await grad.data(), naiveGrad.flat(), { atol: 1e-6 });
  tf.dispose([s, loss, grad]);
});

Deno.test("rankingAccuracy() counts ordered pairs and fully ordered lists", () => {
  assert.deepEqual(rankingAccuracy([[3, 2, 1], [3, 1, 2]]), { pairwise: 5 / 6, exactOrder: 0.5 });
});

Deno.test("ties: rankingLoss() and rankingAccuracy() leave tied pairs out (naive loop over strict pairs)", async () => {
  const scores = [[2.0, 0.5, -1.0, 0.3], [0.1, 0.2, 0.3, -0.4], [1, 2, 3, 4]];
  const ranks = [[1, 2, 2, 3], undefined, [1, 1, 1, 1]]; // list 2 all tied: says nothing
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  // Mean over each list's strict pairs, then over the lists that have any (here lists 0 and 1).
  const strictPairs = (l: number) => rankPairs(4).filter(([i, j]) => !ranks[l] || ranks[l]![i] < ranks[l]![j]);
  assert.equal(strictPairs(0).length, 5);
  assert.equal(strictPairs(2).length, 0);
  let naive = 0;
  const naiveGrad = scores.map((r) => r.map(() => 0));
  for (const l of [0, 1]) {
    const pairs = strictPairs(l);
    for (const [i, j] of pairs) {
      const m = scores[l][i] - scores[l][j];
      naive += -Math.log(sigmoid(m)) / pairs.length / 2;
      const g = -(1 - sigmoid(m)) / pairs.length / 2;
      naiveGrad[l][i] += g;
      naiveGrad[l][j] -= g;
    }
  }
  const s = tf.tensor2d(scores);
  const loss = rankingLoss(s, ranks);
  assertAllClose([(await loss.data())[0]], [naive], { atol: 1e-6 });
  const grad = tf.grad((x: tf.Tensor) => rankingLoss(x as tf.Tensor2D, ranks))(s);
  assertAllClose(await grad.data(), naiveGrad.flat(), { atol: 1e-6 });
  tf.dispose([s, loss, grad]);
  // Accuracy of list 0: (1, 2) is tied and skipped; of the 5 strict pairs only (2, 3) is wrong (−1 < 0.3).
  assert.deepEqual(rankingAccuracy([scores[0]], [ranks[0]]), { pairwise: 4 / 5, exactOrder: 0 });
  assert.deepEqual(rankingAccuracy([[3, 1, 2]], [[1, 2, 2]]), { pairwise: 1, exactOrder: 1 });
  assert.deepEqual(rankingAccuracy([[1, 2]], [[1, 1]]), { pairwise: 0, exactOrder: 0 }, "no strict pair: nothing counted");
});

Deno.test("SimulatedLabeler: exact at temperature 0, noisy but mostly right above it, seeded", () => {
  assert.deepEqual(new SimulatedLabeler({ temperature: 0 }).rank([0.2, 0.9, 0.5]), [1, 2, 0]);
  // The noise is part of the name unless it is the pipeline's: rank lists of two noise levels never pass for each other.
  assert.equal(new SimulatedLabeler({ seed: 1, preference: "mood" }).name, "simulated:mood:1");
  assert.equal(new SimulatedLabeler({ temperature: 0.2, seed: 1, preference: "mood" }).name, "simulated:mood:1:noise0.2");
  assert.notEqual(new SimulatedLabeler({ temperature: 0 }).name, new SimulatedLabeler({}).name);
  const a = new SimulatedLabeler({ temperature: 0.1, seed: 3 });
  const b = new SimulatedLabeler({ temperature: 0.1, seed: 3 });
  const orders = Array.from({ length: 400 }, () => a.rank([0.2, 0.9, 0.5]));
  assert.deepEqual(Array.from({ length: 400 }, () => b.rank([0.2, 0.9, 0.5])), orders);
  const firstIsBest = orders.filter((o) => o[0] === 1).length / orders.length;
  assert.ok(firstIsBest > 0.8 && firstIsBest < 1, `best first in ${firstIsBest}`);
  assert.equal(a.name, "simulated:3:noise0.1");
});

Deno.test("SimulatedLabeler with a key: a list's ranking depends on (seed, key) only, not on what was ranked before", () => {
  const scores = [0.5, 0.52, 0.48, 0.51]; // close calls at temperature 0.1: the noise decides
  const keys = Array.from({ length: 40 }, (_, i) => `tang.1.${i}`);
  const alone = keys.map((key) => new SimulatedLabeler({ temperature: 0.1, seed: 7 }).rank(scores, key));
  const shared = new SimulatedLabeler({ temperature: 0.1, seed: 7 });
  shared.rank(scores); // an unkeyed draw first moves the stream; keyed rankings must not notice
  const inReverse = [...keys].reverse().map((key) => shared.rank(scores, key)).reverse();
  assert.deepEqual(inReverse, alone);
  assert.ok(new Set(alone.map((o) => o.join())).size > 5, "different keys draw different noise");
  const otherSeed = keys.map((key) => new SimulatedLabeler({ temperature: 0.1, seed: 8 }).rank(scores, key));
  assert.notDeepEqual(otherSeed, alone);
});

Deno.test("SimulatedLabeler.tiedRanks(): equal scores next to each other share a rank", () => {
  const labeler = new SimulatedLabeler({ temperature: 0 });
  const scores = [0.5, 0.9, 0.5, 0.2];
  const order = labeler.rank(scores);
  assert.deepEqual(order, [1, 0, 2, 3]);
  assert.deepEqual(labeler.tiedRanks(scores, order), [1, 2, 2, 3]);
  assert.equal(labeler.tiedRanks([0.1, 0.2], [1, 0]), undefined, "a strict order has no ranks");
  assert.equal(new SimulatedLabeler({ temperature: 0, ties: false }).tiedRanks(scores, order), undefined);
});

const record = (responses: string[], labeler = "simulated:0"): RankRecord => ({
  prompt_id: "tang.1.2",
  prompt: [{ role: "user", content: "写一首五言绝句" }],
  responses,
  labeler,
  time: "2026-11-28T18:00:00Z",
  checkpoint: "checkpoints/sft",
});

Deno.test("label files: atomic appends keep old lines, skip repeats, refuse conflicts", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/labels/poetry.jsonl`;
  try {
    await Deno.mkdir(`${dir}/labels`);
    assert.equal(await appendLabels(path, [record(["a", "b", "c"])]), 1);
    const firstBytes = await Deno.readTextFile(path);
    assert.equal(await appendLabels(path, [record(["a", "b", "c"]), record(["x", "y"], "李老师")]), 1);
    assert.ok((await Deno.readTextFile(path)).startsWith(firstBytes), "old lines kept byte for byte");
    assert.equal((await loadLabels(path)).length, 2);
    await assert.rejects(
      () => appendLabels(path, [record(["b", "a", "c"])]),
      /poetry\.jsonl:1: "simulated:0" already ranked these responses/,
    );
    assert.equal((await loadLabels(path)).length, 2, "a refused append changes nothing");
    // A hand-edited conflicting file names both lines.
    await Deno.writeTextFile(path, [record(["a", "b"]), record(["b", "a"])].map((r) => JSON.stringify(r)).join("\n"));
    await assert.rejects(() => loadLabels(path), /poetry\.jsonl:2: conflicts with .*poetry\.jsonl:1/);
    // Ties: a ranking that marks different ties is a conflict; bad ranks name the field.
    await Deno.writeTextFile(path, "");
    assert.equal(await appendLabels(path, [{ ...record(["a", "b", "c"]), ranks: [1, 2, 2] }]), 1);
    assert.deepEqual((await loadLabels(path))[0].ranks, [1, 2, 2]);
    await assert.rejects(() => appendLabels(path, [record(["a", "b", "c"])]), /already ranked these responses .* in another order/);
    await assert.rejects(
      () => appendLabels(path, [{ ...record(["p", "q", "r"]), ranks: [1, 3, 3] }]),
      /field "ranks" must give each response its rank/,
    );
    await assert.rejects(() => appendLabels(path, [{ ...record(["p", "q", "r"]), ranks: [1, 2] }]), /field "ranks"/);
    await Deno.writeTextFile(path, JSON.stringify({ ...record(["a", "b"]), responses: ["a"] }));
    await assert.rejects(() => loadLabels(path), /poetry\.jsonl:1: field "responses" must list at least 2/);
    assert.deepEqual(await loadLabels(`${dir}/missing.jsonl`), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("label files: a refused ranking says why in words (file:line, labeler, prompt) and how to change a ranking", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/poetry.jsonl`;
  try {
    await appendLabels(path, [record(["a", "b", "c"])]);
    const err = await appendLabels(path, [record(["c", "b", "a"])]).then(() => undefined, (e: Error) => e);
    assert.ok(err, "a conflicting ranking is refused");
    assert.match(err.message, /poetry\.jsonl:1: "simulated:0" already ranked these responses of prompt "tang\.1\.2"/);
    assert.match(err.message, /rank it again/);
    assert.doesNotMatch(err.message, /appendLabels|record \d/, "no internal names");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("label files: a line repeated in a file counts once; uniqueRankLists() keeps the first of identical lists", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/poetry.jsonl`;
  try {
    const tied = { ...record(["a", "b", "c"]), ranks: [1, 2, 2] };
    const lines = [
      record(["a", "b"]),
      record(["a", "b"]),
      record(["x", "y"], "李老师"),
      { ...record(["a", "b"]), time: "2026-12-01T00:00:00Z" },
      tied,
      tied,
    ];
    await Deno.writeTextFile(path, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    const loaded = await loadLabels(path);
    assert.deepEqual(loaded.map((l) => [l.labeler, l.responses]), [["simulated:0", ["a", "b"]], ["李老师", ["x", "y"]], ["simulated:0", [
      "a",
      "b",
      "c",
    ]]]);
    assert.equal(loaded[0].time, "2026-11-28T18:00:00Z", "the first copy is kept");
    // Merged files: the same list from two files once; another labeler's, another order's or other ties' lists stay.
    const strict = record(["a", "b", "c"]);
    const merged = uniqueRankLists([
      record(["a", "b"]),
      strict,
      { ...strict, ranks: [1, 2, 3] },
      tied,
      record(["a", "b"], "李老师"),
      record(["b", "a"]),
    ]);
    assert.deepEqual(merged.map((l) => [l.labeler, l.responses, l.ranks]), [
      ["simulated:0", ["a", "b"], undefined],
      ["simulated:0", ["a", "b", "c"], undefined], // [1, 2, 3] is the same strict order
      ["simulated:0", ["a", "b", "c"], [1, 2, 2]],
      ["李老师", ["a", "b"], undefined],
      ["simulated:0", ["b", "a"], undefined],
    ]);
    const first = record(["a", "b"]);
    assert.equal(uniqueRankLists([first, { ...first, time: "2027-01-01T00:00:00Z" }])[0], first, "the first occurrence itself");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reward model: reads the last real token, normalises, trains without leaks", async () => {
  const sft = createGPT2(resolveGPT2Config({ vocab_size: 20, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 }), { seed: 1 });
  const rm = createRewardModel(sft, { seed: 2 });
  disposeGPT2(sft); // the reward model has its own copy
  const ids = tf.tensor2d([[1, 2, 3, 0, 0], [1, 2, 3, 4, 5]], undefined, "int32");
  const alone = tf.tensor2d([[1, 2, 3]], undefined, "int32");
  const [padded, short] = [rawRewards(rm, ids, [2, 4]), rawRewards(rm, alone, [2])];
  assertAllClose([(await padded.data())[0]], [(await short.data())[0]], { atol: 1e-5, what: "padding ignored" });
  fitNormalisation(rm, [1, 2, 3, 4]);
  assertAllClose([rm.normalisation.gain * 2.5 + rm.normalisation.bias], [0], { atol: 1e-9 });
  const { AdamW } = await import("../lib/train/adamw.ts");
  const optimizer = new AdamW(rewardModelParams(rm));
  await assertNoLeak(async () => {
    const { value, grads } = tf.variableGrads(() => rankingLoss(tf.reshape(rawRewards(rm, ids, [2, 4]), [1, 2]) as tf.Tensor2D));
    const named = Object.fromEntries(Object.entries(rewardModelParams(rm)).map(([k, v]) => [k, grads[v.name]]));
    optimizer.step(named, 1e-3);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  }, "reward-model step");
  optimizer.dispose();
  tf.dispose([ids, alone, padded, short]);
  disposeRewardModel(rm);
});

Deno.test("trainRewardModel() learns a preference from rank lists and generalises to held-out lists", async () => {
  const { buildCharVocab } = await import("../lib/tokenizer/char_vocab.ts");
  const { CHAT_SPECIAL_TOKENS } = await import("../lib/tokenizer/chat_template.ts");
  const { trainRewardModel, evaluateRewardModel } = await import("../lib/reward/train_reward.ts");
  const { Rng } = await import("../lib/rng.ts");
  const tok = buildCharVocab(["月山水花风雨写诗"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  // The "person" prefers responses with more 月: rank lists of 4 random 6-character responses.
  const rng = new Rng(5);
  const makeList = (i: number): RankRecord => {
    const responses = new Set<string>();
    while (responses.size < 4) responses.add(Array.from({ length: 6 }, () => "月山水花风雨"[rng.nextInt(6)]).join(""));
    const moons = (s: string) => [...s].filter((c) => c === "月").length;
    const sorted = [...responses].sort((a, b) => moons(b) - moons(a) || (a < b ? -1 : 1));
    return { ...record(sorted), prompt_id: `p${i}` };
  };
  const strict = (l: RankRecord) => new Set(l.responses.map((s) => [...s].filter((c) => c === "月").length)).size === 4;
  const train = Array.from({ length: 160 }, (_, i) => makeList(i));
  const heldout = Array.from({ length: 40 }, (_, i) => makeList(1000 + i)).filter(strict);
  const sft = createGPT2(resolveGPT2Config({ vocab_size: tok.vocabSize, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 }), { seed: 1 });
  const rm = createRewardModel(sft, { seed: 1 });
  disposeGPT2(sft);
  const before = await evaluateRewardModel(rm, tok, heldout);
  const history = await trainRewardModel(rm, tok, train, { epochs: 3, lr: 3e-3, quiet: true });
  const after = await evaluateRewardModel(rm, tok, heldout);
  assert.ok(history.train.at(-1)!.lr < history.train[0].lr, "the learning rate anneals");
  assert.ok(after.pairwise > 0.8 && after.pairwise > before.pairwise + 0.2, `pairwise ${before.pairwise} → ${after.pairwise}`);
  disposeRewardModel(rm);
});

Deno.test("scoreRankLists() batches lists of different K and gives each list its own answers' rewards, the same in any batching", async () => {
  const { buildCharVocab } = await import("../lib/tokenizer/char_vocab.ts");
  const { CHAT_SPECIAL_TOKENS } = await import("../lib/tokenizer/chat_template.ts");
  const { scoreRankLists, encodeForReward, rawRewardsOfPairs } = await import("../lib/reward/train_reward.ts");
  const tok = buildCharVocab(["月山水花风雨写诗"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const sft = createGPT2(resolveGPT2Config({ vocab_size: tok.vocabSize, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 }), { seed: 3 });
  const rm = createRewardModel(sft, { seed: 4 });
  disposeGPT2(sft);
  // 19 lists (more than one batch of 16) with K = 2, 3, 4 and answers of different lengths.
  const chars = "月山水花风雨";
  const lists = Array.from(
    { length: 19 },
    (_, i) => record(Array.from({ length: 2 + (i % 3) }, (_, j) => chars.slice(0, 1 + ((i + j) % 6)) + chars[(i * 5 + j) % 6])),
  );
  const scores = await scoreRankLists(rm, tok, lists);
  // Naive: each answer alone, unpadded.
  const alone = async (response: string) => {
    const enc = encodeForReward(tok, [{ prompt: lists[0].prompt, response }], 32);
    const r = tf.tidy(() => rawRewards(rm, tf.tensor2d(enc.ids, undefined, "int32"), enc.lastIndex));
    const value = (await r.data())[0];
    r.dispose();
    return value;
  };
  assert.deepEqual(scores.map((row) => row.length), lists.map((l) => l.responses.length));
  for (let i = 0; i < lists.length; i++) {
    assertAllClose(scores[i], await Promise.all(lists[i].responses.map(alone)), { atol: 1e-5, what: `list ${i}` });
  }
  // Passes of 5 pairs, shortest first, give the very numbers of one pass over all pairs in their order.
  const pairs = lists.flatMap((l) => l.responses.map((response) => ({ prompt: l.prompt, response })));
  assert.deepEqual(await rawRewardsOfPairs(rm, tok, pairs, 5), await rawRewardsOfPairs(rm, tok, pairs, pairs.length));
  disposeRewardModel(rm);
});

Deno.test("spearman() matches hand-computed values, with ties", async () => {
  const { spearman } = await import("../lib/eval/spearman.ts");
  assertAllClose([spearman([1, 2, 3, 4], [10, 20, 30, 40])], [1], { atol: 1e-12 });
  assertAllClose([spearman([1, 2, 3, 4], [4, 3, 2, 1])], [-1], { atol: 1e-12 });
  // ranks x: 1,2,3 ; y with a tie: 1.5,1.5,3 → r = 0.866…
  assertAllClose([spearman([1, 2, 3], [5, 5, 9])], [Math.sqrt(3) / 2], { atol: 1e-12 });
});

Deno.test("trainRewardModel() stops at the first non-finite loss, naming the step, with nothing saved", async () => {
  const { buildCharVocab } = await import("../lib/tokenizer/char_vocab.ts");
  const { CHAT_SPECIAL_TOKENS } = await import("../lib/tokenizer/chat_template.ts");
  const { trainRewardModel } = await import("../lib/reward/train_reward.ts");
  const tok = buildCharVocab(["月山水花"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const sft = createGPT2(resolveGPT2Config({ vocab_size: tok.vocabSize, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 }), { seed: 1 });
  const rm = createRewardModel(sft, { seed: 1 });
  disposeGPT2(sft);
  rm.head.bias.assign(tf.tensor1d([NaN])); // a broken weight: every reward, and so the loss, is NaN
  const lists = Array.from({ length: 8 }, (_, i) => ({ ...record(["月月", "月山", "山水", "水花"]), prompt_id: `p${i}` }));
  await assert.rejects(
    () => trainRewardModel(rm, tok, lists, { epochs: 1, quiet: true }),
    /reward model training diverged at step 0: loss is NaN \(nothing saved\)/,
  );
  disposeRewardModel(rm);
});

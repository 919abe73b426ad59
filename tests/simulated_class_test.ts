import { classAgreement } from "../lib/labeling/class_agreement.ts";
import { assignClassLists } from "../lib/labeling/overlap.ts";
import { LABELER_MIXES, rankAsClass, type ScoredItem, simulatedClass } from "../lib/labeling/simulated_class.ts";
import { Rng } from "../lib/rng.ts";
import { saveClassItems } from "../lib/labeling/class_items.ts";
import { simulatedLabelerVsPeople } from "../lib/labeling/labeler_vs_people.ts";
import { SimulatedLabeler } from "../lib/reward/simulated_labeler.ts";
import { assert } from "./helpers.ts";

/** Items of 4 answers with random gold parts shaped like the mood task's (form parts, variety, mood). */
function items(n: number, seed = 1): ScoredItem[] {
  const rng = new Rng(seed);
  const gold = () => {
    const parts = { line_count: 1, chars_per_line: rng.nextFloat(), punctuation: 1, clean: 1, variety: 1, mood: rng.nextFloat() };
    return { parts, total: ((3 + parts.chars_per_line) / 4) * parts.mood };
  };
  return Array.from({ length: n }, (_, i) => ({
    prompt_id: `p${i}`,
    prompt: [{ role: "user" as const, content: "写诗" }],
    responses: ["甲", "乙", "丙", "丁"],
    gold: [gold(), gold(), gold(), gold()],
  }));
}

Deno.test("simulated classroom: identical labelers agree perfectly (pairwise 1, W 1, α 1)", () => {
  const exact = { name: "exact", temperature: 0, score: (g: { total: number }) => g.total };
  const lists = rankAsClass(items(30), simulatedClass(4, { mixes: [exact] }), { checkpoint: "sft" });
  const a = classAgreement(lists);
  assert.equal(a.pairwise.pooled.agreement, 1);
  assert.equal(a.pairwise.pooled.pairs, 6 * 30 * 6); // 6 labeler pairs × 30 lists × 6 answer pairs
  assert.equal(a.kendallW.mean, 1);
  assert.equal(a.alpha.value, 1);
  assert.ok(a.majority.every((m) => m.agreement === 1));
});

Deno.test("simulated classroom: independent random labelers agree on ≈ half the pairs; α and W near chance", () => {
  const lists = rankAsClass(items(200), simulatedClass(5, { mixes: ["random"] }), { checkpoint: "sft" });
  const a = classAgreement(lists);
  assert.equal(a.pairwise.pooled.pairs, 10 * 200 * 6);
  assert.ok(Math.abs(a.pairwise.pooled.agreement - 0.5) < 0.03, `pooled ${a.pairwise.pooled.agreement}`);
  assert.ok(Math.abs(a.alpha.value) < 0.05, `α ${a.alpha.value}`);
  // E[W] = 1/m under no agreement (m = 5 raters).
  assert.ok(Math.abs(a.kendallW.mean - 0.2) < 0.05, `W ${a.kendallW.mean}`);
});

Deno.test("simulated classroom: bright students agree with each other, a sorrowful one disagrees with them", () => {
  const lists = rankAsClass(items(100), simulatedClass(3, { mixes: ["bright", "bright", "sorrowful"] }), { checkpoint: "sft" });
  const by = Object.fromEntries(classAgreement(lists).pairwise.byPair.map((p) => [`${p.a}|${p.b}`, p.agreement]));
  assert.ok(by["simulated:class-bright:0|simulated:class-bright:1"] > 0.9);
  assert.ok(by["simulated:class-bright:0|simulated:class-sorrowful:2"] < 0.5);
  assert.throws(() => simulatedClass(1, { mixes: ["toString"] }), Error, 'unknown labeler mix "toString"');
  assert.ok(LABELER_MIXES.noisy.temperature > LABELER_MIXES.bright.temperature);
});

Deno.test("assignClassLists(): the overlap set to everyone, every other list to perList students, loads even, orders shuffled", () => {
  const a = assignClassLists(20, { overlap: 5, perList: 2, students: 6, seed: 3 });
  assert.equal(a.overlap.length, 5);
  const counts = new Array(20).fill(0);
  const queues = Array.from({ length: 6 }, (_, s) => a.queue(s));
  for (const q of queues) {
    assert.equal(new Set(q).size, q.length, "no list twice in a queue");
    for (const i of a.overlap) assert.ok(q.includes(i));
    for (const i of q) counts[i]++;
  }
  for (let i = 0; i < 20; i++) assert.equal(counts[i], a.overlap.includes(i) ? 6 : 2, `list ${i}`);
  assert.deepEqual(queues.map((q) => q.length), [10, 10, 10, 10, 10, 10]); // 5 + 15 × 2 / 6
  assert.notDeepEqual(queues[0].filter((i) => a.overlap.includes(i)), queues[1].filter((i) => a.overlap.includes(i)));
  assert.deepEqual([...a.queue(6)].sort(), [...queues[0]].sort(), "student 7 of a class of 6 gets student 1's lists");
  assert.deepEqual(assignClassLists(20, { seed: 3, students: 6 }).queue(2), queues[2], "the same seed, the same assignment");
  assert.throws(() => assignClassLists(20, { perList: 0 }), Error, '"perList" must be an integer ≥ 1');
});

Deno.test("simulatedLabelerVsPeople(): the simulated labeler ranks a class session's items (gold from its items file) and is compared with each person", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/class.jsonl`;
    const scored = items(40);
    await saveClassItems(file, { checkpoint: "sft", items: scored });
    const people = rankAsClass(scored, simulatedClass(2, { mixes: ["bright", "sorrowful"] }), { checkpoint: "sft" });
    const rows = await simulatedLabelerVsPeople([file], people, new SimulatedLabeler({ temperature: 0 }));
    const by = Object.fromEntries(rows.map((r) => [r.labeler, r]));
    assert.ok(by["simulated:class-bright:0"].agreement > 0.9, JSON.stringify(rows));
    assert.ok(by["simulated:class-sorrowful:1"].agreement < 0.5, JSON.stringify(rows));
    assert.equal(by["simulated:class-bright:0"].pairs > 0, true);
    assert.deepEqual(await simulatedLabelerVsPeople([`${dir}/none.jsonl`], people, new SimulatedLabeler()), [], "no items file: nothing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

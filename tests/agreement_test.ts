import { kendallW, krippendorffAlpha, majorityAgreement, midRanks, pairwiseAgreement } from "../lib/labeling/agreement.ts";
import { agreementWith, classAgreement, listsRankedByAll } from "../lib/labeling/class_agreement.ts";
import type { RankRecord } from "../lib/reward/labels.ts";
import { Rng } from "../lib/rng.ts";
import { assert } from "./helpers.ts";

const list = (labeler: string, responses: string[], prompt_id = "p1", ranks?: number[]): RankRecord => ({
  prompt_id,
  prompt: [{ role: "user", content: "写诗" }],
  responses,
  labeler,
  time: "2026-01-01T00:00:00Z",
  checkpoint: "sft",
  ...(ranks ? { ranks } : {}),
});

Deno.test("pairwiseAgreement() counts shared untied pairs only (hand-computed)", () => {
  const out = pairwiseAgreement([
    list("ann", ["甲", "乙", "丙"]),
    list("bo", ["丙", "甲", "乙"]), // agrees with ann on 甲>乙 only
    list("cy", ["甲", "乙", "丙"], "p1", [1, 2, 2]), // 乙 = 丙 tied: two pairs
    list("ann", ["x", "y"], "p2"), // nobody else ranked p2
  ]);
  const by = Object.fromEntries(out.byPair.map((p) => [`${p.a}-${p.b}`, [p.pairs, p.agreement]]));
  assert.deepEqual(by["ann-bo"], [3, 1 / 3]);
  assert.deepEqual(by["ann-cy"], [2, 1]);
  assert.deepEqual(by["bo-cy"], [2, 0.5]); // 甲>乙 agree; 甲>丙 bo says 丙
  assert.deepEqual(out.pooled, { pairs: 7, agreement: 4 / 7 });
});

Deno.test("majorityAgreement() leaves the labeler out and skips even splits", () => {
  const lists = [list("a", ["x", "y"]), list("b", ["x", "y"]), list("c", ["y", "x"]), list("d", ["y", "x"])];
  // Each labeler's three others split 2:1 against them → every labeler disagrees with the majority of the others.
  assert.deepEqual(majorityAgreement(lists).map((m) => [m.labeler, m.pairs, m.agreement]), [
    ["a", 1, 0],
    ["b", 1, 0],
    ["c", 1, 0],
    ["d", 1, 0],
  ]);
  const three = majorityAgreement(lists.slice(0, 2).concat(lists[3]));
  assert.deepEqual(three.map((m) => [m.labeler, m.pairs, m.agreement]), [["a", 0, NaN], ["b", 0, NaN], ["d", 1, 0]]);
});

Deno.test("midRanks() gives tied values the mean of their places", () => {
  assert.deepEqual(midRanks([1, 2, 2, 3]), [1, 2.5, 2.5, 4]);
  assert.deepEqual(midRanks([3, 1, 2]), [3, 1, 2]);
});

/** Spearman's ρ of two rankings without ties. */
function spearman(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const d2 = a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

Deno.test("kendallW() matches the mean Spearman ρ identity ρ̄ = (mW − 1)/(m − 1) on random rankings", () => {
  const rng = new Rng(3);
  for (const [m, n] of [[2, 4], [5, 4], [8, 6]]) {
    const ranks = Array.from({ length: m }, () => rng.shuffle(Array.from({ length: n }, (_, i) => i + 1)));
    let [sum, count] = [0, 0];
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) [sum, count] = [sum + spearman(ranks[i], ranks[j]), count + 1];
    const W = kendallW(ranks);
    assert.ok(Math.abs(sum / count - (m * W - 1) / (m - 1)) < 1e-12, `m=${m} n=${n}`);
  }
  assert.equal(kendallW([[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]), 1);
  assert.equal(kendallW([[1, 2], [2, 1]]), 0);
  // Ties: two raters giving the same tied order still agree perfectly (the correction makes W = 1).
  assert.ok(Math.abs(kendallW([[1, 2, 2, 3], [1, 2, 2, 3]]) - 1) < 1e-12);
  assert.ok(Number.isNaN(kendallW([[1, 2]])));
});

// Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the example with missing values:
// 4 coders, 12 units; α nominal 0.743, ordinal 0.815, interval 0.849.
const _ = undefined;
const TEXTBOOK = [
  [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
  [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
];

Deno.test("krippendorffAlpha() reproduces Krippendorff's worked example (nominal, ordinal, interval)", () => {
  assert.equal(krippendorffAlpha(TEXTBOOK, { metric: "nominal" }).toFixed(3), "0.743");
  assert.equal(krippendorffAlpha(TEXTBOOK, { metric: "ordinal" }).toFixed(3), "0.815");
  assert.equal(krippendorffAlpha(TEXTBOOK, { metric: "interval" }).toFixed(3), "0.849");
});

/** α ordinal from its definition over pairs of values: D_o within units, D_e over all pairable values. */
function naiveOrdinalAlpha(data: (number | undefined)[][]): number {
  const units: number[][] = [];
  for (let u = 0; u < data[0].length; u++) {
    const vs = data.map((r) => r[u]).filter((v): v is number => v !== undefined);
    if (vs.length >= 2) units.push(vs);
  }
  const all = units.flat();
  const n = all.length;
  const count = (g: number) => all.filter((v) => v === g).length;
  const distinct = [...new Set(all)].sort((a, b) => a - b);
  const d2 = (a: number, b: number) => {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const between = distinct.filter((g) => g >= lo && g <= hi).reduce((s, g) => s + count(g), 0);
    return (between - (count(a) + count(b)) / 2) ** 2;
  };
  let Do = 0;
  for (const u of units) {
    for (let i = 0; i < u.length; i++) for (let j = 0; j < u.length; j++) if (i !== j) Do += d2(u[i], u[j]) / (u.length - 1);
  }
  let De = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) De += d2(all[i], all[j]);
  return 1 - (Do / n) / (De / (n * (n - 1)));
}

Deno.test("krippendorffAlpha() ordinal equals the pair-by-pair definition on random data with gaps", () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 5; trial++) {
    const data = Array.from({ length: 4 }, () => Array.from({ length: 9 }, () => (rng.nextFloat() < 0.2 ? undefined : 1 + rng.nextInt(4))));
    assert.ok(Math.abs(krippendorffAlpha(data) - naiveOrdinalAlpha(data)) < 1e-9, `trial ${trial}`);
  }
  assert.equal(krippendorffAlpha([[1, 2, 3], [1, 2, 3]]), 1);
});

Deno.test("classAgreement(): W and α over the shared lists, with counts; agreementWith() picks one labeler's row", () => {
  const lists = [
    list("ann", ["甲", "乙", "丙"]),
    list("bo", ["甲", "乙", "丙"]),
    list("sim", ["丙", "乙", "甲"]),
    list("ann", ["x", "y"], "p2"), // ranked by one labeler: not in the overlap set
  ];
  const a = classAgreement(lists);
  assert.deepEqual(a.labelers, [{ labeler: "ann", lists: 2 }, { labeler: "bo", lists: 1 }, { labeler: "sim", lists: 1 }]);
  assert.deepEqual(a.kendallW.items, 1);
  assert.deepEqual(a.kendallW.raters, [3, 3]);
  assert.deepEqual([a.alpha.units, a.alpha.values], [3, 9]);
  assert.ok(Math.abs(a.kendallW.mean - kendallW([[1, 2, 3], [1, 2, 3], [3, 2, 1]])) < 1e-12);
  assert.deepEqual(agreementWith(a, "sim").map((r) => [r.labeler, r.pairs, r.agreement]), [["ann", 3, 0], ["bo", 3, 0]]);
});

Deno.test("listsRankedByAll(): the items every labeler ranked; the people's W and α are taken over them", () => {
  const item = (labeler: string, prompt: string, order: string[]) => ({
    prompt_id: prompt,
    prompt: [{ role: "user" as const, content: prompt }],
    responses: order,
    labeler,
    time: "2026-12-07T00:00:00Z",
    checkpoint: "c",
  });
  const lists = [
    item("ann", "p1", ["甲", "乙"]),
    item("bo", "p1", ["乙", "甲"]),
    item("cy", "p1", ["甲", "乙"]),
    item("ann", "p2", ["丙", "丁"]),
    item("bo", "p2", ["丙", "丁"]),
  ];
  const shared = listsRankedByAll(lists);
  assert.equal(shared.size, 1, "only p1 was ranked by all three");
  const overAll = classAgreement(lists, { overlap: shared });
  assert.equal(overAll.kendallW.items, 1);
  assert.deepEqual(overAll.kendallW.raters, [3, 3]);
  assert.equal(classAgreement(lists).kendallW.items, 2, "without the set: every item two or more ranked");
});

import { assert } from "./helpers.ts";
import { agreementByPart } from "../lib/eval/agreement_by_part.ts";

Deno.test("agreementByPart() sorts pairs by the gold part that differs and counts the reward model's agreement (hand-computed)", () => {
  // One list of three answers. a vs b differ only in rhyme, a vs c in rhyme and form, b vs c only in form.
  const a = { form: 1, rhyme: 1 };
  const b = { form: 1, rhyme: 0 };
  const c = { form: 0, rhyme: 0 };
  const tie = { form: 0, rhyme: 1 }; // same total as b: skipped
  const rewards = [[0.1, 0.5, -1, 0.2]];
  const gold = (parts: Record<string, number>) => ({ parts, total: (parts.form + parts.rhyme) / 2 });
  const out = agreementByPart(rewards, [[a, b, c, tie].map(gold)]);
  const byKind = Object.fromEntries(out.map((o) => [o.kind, o]));
  // Pairs (gold order; reward order): (a,b) rhyme, a better; 0.1 < 0.5 ✗. (a,c) several; 0.1 > −1 ✓.
  // (a,tie) form, a better; 0.1 < 0.2 ✗. (b,c) form; 0.5 > −1 ✓. (b,tie) equal totals: skipped.
  // (c,tie) rhyme, tie better; −1 < 0.2 ✓.
  assert.deepEqual(byKind.rhyme, { kind: "rhyme", pairs: 2, agreement: 0.5 });
  assert.deepEqual(byKind.form, { kind: "form", pairs: 2, agreement: 0.5 });
  assert.deepEqual(byKind.several, { kind: "several", pairs: 1, agreement: 1 });
  assert.equal(out.reduce((n, o) => n + o.pairs, 0), 5, "the pair with equal totals is skipped");
});

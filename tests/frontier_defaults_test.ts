/**
 * The defaults of DPO, RLOO and GRPO are read off the committed frontier sweep, not picked by hand: each is
 * the β of its method's strongest run that keeps the poems' form (lib/frontier/leash_choice.ts). A new
 * sweep that moves the choice fails here until the default follows it.
 */
import { assert } from "./helpers.ts";
import { readPoints } from "../lib/frontier/points.ts";
import { FORM_TOLERANCE, keepsForm, strongestFormKeepingRun } from "../lib/frontier/leash_choice.ts";
import { DPO_DEFAULTS } from "../lib/dpo/train_dpo.ts";
import { GROUP_BETA } from "../lib/group/group_step.ts";
import { loadTask } from "../lib/tasks/registry.ts";

const COMMITTED = new URL("../docs/runs/frontier/points.jsonl", import.meta.url).pathname;

Deno.test("DPO's, RLOO's and GRPO's default β is the committed sweep's strongest setting that keeps the form", async () => {
  const points = await readPoints(COMMITTED);
  const part = (await loadTask()).preference?.part;
  const defaults = { dpo: DPO_DEFAULTS.beta, rloo: GROUP_BETA.rloo, grpo: GROUP_BETA.grpo };
  for (const [method, beta] of Object.entries(defaults) as [keyof typeof defaults, number][]) {
    const chosen = strongestFormKeepingRun(points, method, part);
    assert.ok(chosen, `${method}: no run of the sweep keeps the form`);
    assert.equal(chosen.settings.beta, beta, `${method}: the sweep picks ${chosen.run}`);
    const sft = points.find((p) => p.method === "sft")!;
    assert.ok(chosen.gold.mean > sft.gold.mean, `${method}: gold above SFT's`);
  }
});

Deno.test("keepsForm() leaves the preference free and holds every other part within the tolerance", () => {
  const at = (parts: Record<string, number>) => ({ parts });
  const sft = at({ line_count: 0.99, variety: 1, mood: 0.4 });
  assert.ok(keepsForm(at({ line_count: 0.99 - FORM_TOLERANCE, variety: 1, mood: 0 }), sft, "mood"));
  assert.ok(!keepsForm(at({ line_count: 0.99 - FORM_TOLERANCE - 0.001, variety: 1, mood: 1 }), sft, "mood"));
  assert.ok(!keepsForm(at({ line_count: 0.99, mood: 1 }), sft, "mood"), "a part the point lacks is not kept");
  assert.ok(!keepsForm(at({ line_count: 0.99, variety: 1, mood: 0 }), sft, undefined), "without a preference every part counts");
});

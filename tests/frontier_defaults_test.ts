/**
 * The defaults of DPO, RLOO and GRPO are read off the committed frontier sweep, not picked by hand: each is
 * the β of its method's strongest run that keeps the poems' form (lib/frontier/leash_choice.ts). A new
 * sweep that moves the choice fails here until the default follows it.
 */
import { assert } from "./helpers.ts";
import { readPoints } from "../lib/frontier/points.ts";
import { FORM_TOLERANCE, keepsForm, keepsFormThroughout, strongestFormKeepingRun } from "../lib/frontier/leash_choice.ts";
import type { FrontierPoint } from "../lib/frontier/points.ts";
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

Deno.test("strongestFormKeepingRun() trusts only a run that kept the form at every measured point", () => {
  const point = (run: string, step: number, gold: number, line_count: number, final = false) =>
    ({
      run,
      method: run === "sft" ? "sft" : "rloo",
      step,
      final,
      gold: { mean: gold, se: 0.01 },
      parts: { line_count, mood: 0.5 },
    }) as unknown as FrontierPoint;
  const points = [
    point("sft", 0, 0.4, 0.98, true),
    point("tight", 10, 0.6, 0.98),
    point("tight", 20, 0.7, 0.97, true),
    point("loose", 10, 0.8, 0.9), // broke the form on the way …
    point("loose", 20, 0.9, 0.97, true), // … and came back within the tolerance at the end
  ];
  const sft = points[0];
  assert.ok(keepsForm(points[4], sft, "mood"), "its last point alone keeps the form");
  assert.ok(!keepsFormThroughout(points, "loose", sft, "mood"));
  assert.ok(keepsFormThroughout(points, "tight", sft, "mood"));
  assert.equal(strongestFormKeepingRun(points, "rloo", "mood")?.run, "tight");
});

/** The people's agreement and the reward models per labeler, as the run's report and metrics.json show them. */
import { assert } from "./helpers.ts";
import { classAgreement } from "../lib/labeling/class_agreement.ts";
import { labelerAgreementParagraph, rewardModelsPerMetrics } from "../lib/report/labeler_agreement.ts";

const list = (labeler: string, prompt: string, responses: string[]) => ({
  prompt_id: prompt,
  prompt: [{ role: "user" as const, content: prompt }],
  responses,
  labeler,
  time: "2026-12-07T00:00:00Z",
  checkpoint: "c",
});

Deno.test("the report shows each labeler's own reward model beside the agreement; metrics.json keeps its accuracies (NaN as null)", () => {
  const agreement = classAgreement([list("ann", "p", ["甲", "乙"]), list("bo", "p", ["乙", "甲"])]);
  const per = {
    per: "labeler" as const,
    rows: [{ group: "ann", lists: 12, own: 0.9, others: 0.55 }, { group: "bo", lists: 1, own: 1, others: NaN }],
  };
  const rw = { labelerAgreement: agreement, heldoutAccuracy: { pairwise: 0.95, exactOrder: 0.6 }, simulatedVsPeople: [] };
  const html = labelerAgreementParagraph(rw, per);
  assert.match(html, /one reward model per labeler/);
  assert.match(html, /ann: 12 lists, own 90\.0 %, others 55\.0 %/);
  assert.match(html, /bo: 1 lists, own 100\.0 %, others –/);
  assert.ok(!labelerAgreementParagraph(rw).includes("one reward model per"), "without --rm-per: no such lines");
  assert.deepEqual(rewardModelsPerMetrics(per), {
    per: "labeler",
    groups: { ann: { lists: 12, own_lists: 0.9, others_lists: 0.55 }, bo: { lists: 1, own_lists: 1, others_lists: null } },
  });
});

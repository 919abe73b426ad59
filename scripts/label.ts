/**
 * `deno task label`: rank answers yourself in the browser — the "human" of
 * RLHF. Samples K answers per request from a checkpoint and serves the
 * labelling page on 127.0.0.1; rankings go to the same JSONL files as the
 * simulated labeler's (data/labels/), one atomic append per ranking.
 *
 *   deno task label --labeler 李老师
 *   deno task label --checkpoint checkpoints/sft --prompts 20 --k 4 --port 8765
 */
import { parseArgs } from "node:util";
import { initBackend } from "../lib/backend.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { loadPretrained } from "../lib/pretrained.ts";
import { sampleCandidates } from "../lib/reward/collect.ts";
import { loadTask } from "../lib/tasks/registry.ts";
import { LabelSession } from "../lib/labeling/session.ts";
import { startLabelServer } from "../lib/labeling/server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    checkpoint: { type: "string", default: "checkpoints/sft" },
    task: { type: "string", default: "poetry-zh" },
    labeler: { type: "string", default: Deno.env.get("USER") ?? "" },
    prompts: { type: "string", default: "20" },
    k: { type: "string", default: "4" },
    port: { type: "string", default: "8765" },
    labels: { type: "string" },
    seed: { type: "string", default: "7" },
  },
});
if (!values.labeler) throw new Error("--labeler NAME: say who ranks (it is stored with every ranking)");

await initBackend();
const task = await loadTask(values.task);
const model = await loadPretrained(values.checkpoint);
if (!model.tokenizer) throw new Error(`${values.checkpoint}: no tokenizer files; run \`deno task rlhf\` first`);
console.log(`[label] sampling ${values.k} answers for ${values.prompts} requests from ${values.checkpoint} …`);
const candidates = await sampleCandidates(
  model,
  model.tokenizer,
  task.prompts("train", Number(values.seed)).slice(0, Number(values.prompts)),
  {
    k: Number(values.k),
    seed: Number(values.seed),
  },
);
disposeGPT2(model);
const session = new LabelSession(
  candidates.filter((c) => c.responses.length >= 2).map((c) => ({
    prompt_id: c.prompt.id,
    prompt: c.prompt.messages,
    responses: c.responses,
  })),
  { labelsPath: values.labels ?? `data/labels/${task.name}-human.jsonl`, labeler: values.labeler, checkpoint: values.checkpoint },
);
const server = startLabelServer(session, { port: Number(values.port) });
console.log(
  `[label] open ${server.url} — rankings are saved to ${values.labels ?? `data/labels/${task.name}-human.jsonl`} (Ctrl-C to stop)`,
);

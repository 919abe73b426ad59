/**
 * `deno task label`: rank answers yourself in the browser — the "human" of
 * RLHF. Samples K answers per request from a checkpoint and serves the
 * labelling page on 127.0.0.1; rankings go to the same JSONL files as the
 * simulated labeler's (data/labels/), one atomic append per ranking.
 *
 *   deno task label --labeler 李老师
 *   deno task label --checkpoint checkpoints/sft --prompts 20 --k 4 --port 8765
 */
import { initBackend } from "../lib/backend.ts";
import { checkpointFingerprint } from "../lib/checkpoint/fingerprint.ts";
import { numberFlag, parseCommand, positiveIntFlag, runMain, usageError } from "../lib/cli.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { loadPretrained } from "../lib/pretrained.ts";
import { sampleCandidates } from "../lib/reward/collect.ts";
import { DEFAULT_TASK, loadTask, TASKS } from "../lib/tasks/registry.ts";
import { LabelSession } from "../lib/labeling/session.ts";
import { startLabelServer } from "../lib/labeling/server.ts";

const { values: v } = parseCommand({
  command: "deno task label",
  summary:
    "Rank answers yourself in the browser: samples K answers per request from a checkpoint and serves the labelling page on 127.0.0.1.",
  flags: {
    labeler: { type: "string", default: Deno.env.get("USER") ?? "", value: "NAME", help: "who ranks (stored with every ranking)" },
    checkpoint: { type: "string", default: "checkpoints/sft", value: "DIR", help: "the model that answers" },
    task: { type: "string", default: DEFAULT_TASK, value: "NAME", help: `the task: ${Object.keys(TASKS).join(" | ")}` },
    prompts: { type: "string", default: "20", value: "N", help: "requests to rank" },
    k: { type: "string", default: "4", value: "K", help: "answers per request (≥ 2)" },
    port: { type: "string", default: "8765", value: "PORT", help: "port on 127.0.0.1 (0: any free port)" },
    labels: { type: "string", value: "FILE", help: "where rankings are appended (default data/labels/<task>-human.jsonl)" },
    seed: { type: "string", default: "7", value: "N", help: "which requests and answers" },
  },
  examples: ["deno task label --labeler 李老师", "deno task label --checkpoint checkpoints/sft --prompts 20 --k 4 --port 8765"],
});
const values = {
  labeler: v.labeler as string,
  checkpoint: v.checkpoint as string,
  task: v.task as string,
  labels: v.labels as string | undefined,
  prompts: positiveIntFlag(v, "prompts")!,
  k: numberFlag(v, "k", (n) => Number.isInteger(n) && n >= 2, "an integer ≥ 2")!,
  port: numberFlag(v, "port", (n) => Number.isInteger(n) && n >= 0 && n < 65536, "a port number 0–65535")!,
  seed: numberFlag(v, "seed", (n) => Number.isInteger(n) && n >= 0, "an integer ≥ 0")!,
};
if (!values.labeler) usageError("--labeler NAME: say who ranks (it is stored with every ranking)");
if (!(values.task in TASKS)) usageError(`--task ${values.task}: expected one of ${Object.keys(TASKS).join(", ")}`);
// The port is checked before minutes of sampling, not after.
if (values.port !== 0) {
  try {
    Deno.listen({ hostname: "127.0.0.1", port: values.port }).close();
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    usageError(`--port ${values.port}: another program is listening on it; pick a free one, e.g. --port ${values.port + 1}`);
  }
}
await runMain(async () => {
  await initBackend();
  const task = await loadTask(values.task);
  const model = await loadPretrained(values.checkpoint);
  if (!model.tokenizer) throw new Error(`${values.checkpoint}: no tokenizer files; run \`deno task rlhf\` first`);
  console.log(`[label] sampling ${values.k} answers for ${values.prompts} requests from ${values.checkpoint} …`);
  const candidates = await sampleCandidates(
    model,
    model.tokenizer,
    task.prompts("train", values.seed).slice(0, values.prompts),
    {
      k: values.k,
      seed: values.seed,
    },
  );
  disposeGPT2(model);
  const session = new LabelSession(
    candidates.filter((c) => c.responses.length >= 2).map((c) => ({
      prompt_id: c.prompt.id,
      prompt: c.prompt.messages,
      responses: c.responses,
    })),
    {
      labelsPath: values.labels ?? `data/labels/${task.name}-human.jsonl`,
      labeler: values.labeler,
      checkpoint: await checkpointFingerprint(values.checkpoint),
    },
  );
  const server = startLabelServer(session, { port: values.port });
  console.log(
    `[label] open ${server.url} — rankings are saved to ${values.labels ?? `data/labels/${task.name}-human.jsonl`} (Ctrl-C to stop)`,
  );
});

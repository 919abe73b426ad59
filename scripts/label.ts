/**
 * `deno task label`: rank answers yourself in the browser — the "human" of
 * RLHF. Samples K answers per request from a checkpoint and serves the
 * labelling page on 127.0.0.1; rankings go to the same JSONL files as the
 * simulated labeler's (data/labels/), one atomic write per ranking. A restart
 * goes on at the first item this labeler has not ranked (see lib/labeling/session.ts).
 *
 *   deno task label --labeler 李老师
 *   deno task label --checkpoint checkpoints/sft --prompts 20 --k 4 --port 8765
 */
import { initBackend } from "../lib/backend.ts";
import { checkpointFingerprint } from "../lib/checkpoint/fingerprint.ts";
import { choiceFlag, numberFlag, parseCommand, runMain, usageError } from "../lib/cli.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { loadPretrained } from "../lib/pretrained.ts";
import { sampleCandidates } from "../lib/reward/collect.ts";
import { DEFAULT_TASK, loadTask, TASKS } from "../lib/tasks/registry.ts";
import { LabelSession } from "../lib/labeling/session.ts";
import { startLabelServer } from "../lib/labeling/server.ts";
import { loadLabels } from "../lib/reward/labels.ts";
import { withFileLock } from "../lib/file_lock.ts";
import { unknownTokenIds } from "../lib/tokenizer/coverage.ts";

/** Bounds checked as the flags are parsed: more is a typo, not a labelling session (and would sample for hours first). */
const MAX_PROMPTS = 1000; // more than a person ranks in a day; a restart goes on where the labeler left off
const MAX_K = 9; // InstructGPT's labelers ranked 4 to 9 answers; more cards than that is hard to order by hand

const { values: v } = parseCommand({
  command: "deno task label",
  summary:
    "Rank answers yourself in the browser: samples K answers per request from a checkpoint and serves the labelling page on 127.0.0.1.",
  flags: {
    labeler: { type: "string", default: Deno.env.get("USER") ?? "", value: "NAME", help: "who ranks (stored with every ranking)" },
    checkpoint: { type: "string", default: "checkpoints/sft", value: "DIR", help: "the model that answers" },
    task: { type: "string", default: DEFAULT_TASK, value: "NAME", help: `the task: ${Object.keys(TASKS).join(" | ")}` },
    prompts: { type: "string", default: "20", value: "N", range: [1, MAX_PROMPTS], help: "requests to rank" },
    k: { type: "string", default: "4", value: "K", range: [2, MAX_K], help: "answers per request" },
    port: { type: "string", default: "8765", value: "PORT", help: "port on 127.0.0.1 (0: any free port)" },
    labels: {
      type: "string",
      value: "FILE",
      help: "where rankings are saved (default data/labels/<task>-human.jsonl); a restart goes on at your first unranked item",
    },
    seed: { type: "string", default: "7", value: "N", help: "which requests and answers" },
  },
  examples: ["deno task label --labeler 李老师", "deno task label --checkpoint checkpoints/sft --prompts 20 --k 4 --port 8765"],
});
const values = {
  labeler: (v.labeler as string).trim(), // "李老师 " and "李老师" are one person
  checkpoint: v.checkpoint as string,
  task: choiceFlag(v, "task", TASKS)!,
  labels: (v.labels as string | undefined) ?? `data/labels/${v.task}-human.jsonl`,
  prompts: Number(v.prompts), // checked against its range as the flags were parsed
  k: Number(v.k),
  port: numberFlag(v, "port", (n) => Number.isInteger(n) && n >= 0 && n < 65536, "a port number 0–65535")!,
  seed: numberFlag(v, "seed", (n) => Number.isInteger(n) && n >= 0, "an integer ≥ 0")!,
};
// Everything below is checked before minutes of sampling, not after.
if (!values.labeler) usageError(`--labeler ${JSON.stringify(v.labeler)}: expected a name (not blank); it is stored with every ranking`);
checkPortFree(values.port);
await checkCheckpointDir(values.checkpoint);
await checkLabelsPath(values.labels);

function checkPortFree(port: number): void {
  if (port === 0) return;
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    usageError(`--port ${port}: another program is listening on it; pick a free one, e.g. --port ${port + 1}`);
  }
}

async function checkCheckpointDir(dir: string): Promise<void> {
  const info = await Deno.stat(dir).catch(() => undefined);
  if (!info?.isDirectory) usageError(`--checkpoint ${dir}: no such directory; train one with \`deno task rlhf\` or name another`);
}

/**
 * The label file must be one the server can read and write: not a directory, every existing line a
 * ranking (else each page load would fail), and its directory writable (taking the file's lock creates
 * `.<name>.lock` there, as every save will).
 */
async function checkLabelsPath(path: string): Promise<void> {
  const info = await Deno.stat(path).catch(() => undefined);
  if (info?.isDirectory) usageError(`--labels ${path}: is a directory; expected a .jsonl file (it is created when missing)`);
  try {
    await withFileLock(path, () => Promise.resolve());
  } catch (err) {
    usageError(`--labels ${path}: cannot write there (${(err as Error).message})`);
  }
  try {
    await loadLabels(path);
  } catch (err) {
    usageError(`--labels: ${(err as Error).message.split("\n")[0]}`);
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
    // No [UNK] on the page: a person cannot judge a character the vocabulary does not have.
    { k: values.k, seed: values.seed, suppressIds: unknownTokenIds(model.tokenizer) },
  );
  disposeGPT2(model);
  const session = new LabelSession(
    candidates.filter((c) => c.responses.length >= 2).map((c) => ({
      prompt_id: c.prompt.id,
      prompt: c.prompt.messages,
      responses: c.responses,
    })),
    {
      labelsPath: values.labels,
      labeler: values.labeler,
      checkpoint: await checkpointFingerprint(values.checkpoint),
    },
  );
  const server = startLabelServer(session, { port: values.port });
  const { done, total } = await session.state();
  console.log(
    `[label] open ${server.url} — rankings are saved to ${values.labels}; ${values.labeler} has ranked ${done} of ${total} (Ctrl-C to stop)`,
  );
});

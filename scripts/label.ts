/**
 * `deno task label`: rank answers yourself in the browser — the "human" of
 * RLHF. Samples K answers per request from a checkpoint and serves the
 * labelling page on 127.0.0.1; rankings go to the same JSONL files as the
 * simulated labeler's (data/labels/), one atomic write per ranking. A restart
 * goes on at the first item this labeler has not ranked (see lib/labeling/session.ts).
 *
 * With --classroom, a class session (lib/labeling/classroom.ts): the page is
 * served on the address the teacher names (--host), students join with a
 * code and a name, and the teacher's view shows progress and agreement. With
 * --simulated-labelers N, a simulated class ranks the same lists instead, and
 * its agreement is printed.
 *
 *   deno task label --labeler 李老师
 *   deno task label --checkpoint checkpoints/sft --prompts 20 --k 4 --port 8765
 *   deno task label --classroom --host 192.168.1.20 --session class-7a
 *   deno task label --simulated-labelers 6 --mix bright,sorrowful,form-first,noisy
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
import { runClassSession, simulateClassSession } from "../lib/labeling/class_run.ts";
import { LABELER_MIXES } from "../lib/labeling/simulated_class.ts";
import { loadClassItems } from "../lib/labeling/class_items.ts";

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
    classroom: { type: "boolean", default: false, help: "a class session: students join from their own devices (--host)" },
    host: {
      type: "string",
      default: "127.0.0.1",
      value: "ADDRESS",
      help: "with --classroom: the address to listen on and print, e.g. this machine's on the class network",
    },
    session: { type: "string", value: "NAME", help: "with --classroom or --simulated-labelers: the session (default class-<date>)" },
    overlap: {
      type: "string",
      default: "5",
      value: "N",
      range: [0, MAX_PROMPTS],
      help: "lists every student ranks (agreement is measured on them)",
    },
    "per-list": { type: "string", default: "2", value: "N", range: [1, 100], help: "students who rank each of the other lists" },
    students: { type: "string", default: "30", value: "N", range: [1, 1000], help: "the class size the other lists are spread over" },
    "simulated-labelers": {
      type: "string",
      value: "N",
      range: [2, 1000],
      help: "no people: N simulated students rank the session's lists (no server) and their agreement is printed",
    },
    mix: {
      type: "string",
      value: "MIX[,MIX…]",
      help: `with --simulated-labelers: the students' preferences, cycled: ${Object.keys(LABELER_MIXES).join(", ")}`,
    },
  },
  examples: [
    "deno task label --labeler 李老师",
    "deno task label --checkpoint checkpoints/sft --prompts 20 --k 4 --port 8765",
    "deno task label --classroom --host 192.168.1.20 --session class-7a",
    "deno task label --simulated-labelers 6 --mix bright,sorrowful,form-first,noisy",
  ],
});
const classMode = v.classroom === true || v["simulated-labelers"] !== undefined;
const session = ((v.session as string | undefined) ?? `class-${new Date().toISOString().slice(0, 10)}`).trim();
if (!/^[\p{L}\p{N}_.-]{1,60}$/u.test(session)) {
  usageError(`--session ${JSON.stringify(v.session)}: expected 1–60 letters, digits, _ . or -`);
}
const values = {
  labeler: (v.labeler as string).trim(), // "李老师 " and "李老师" are one person
  checkpoint: v.checkpoint as string,
  task: choiceFlag(v, "task", TASKS)!,
  labels: (v.labels as string | undefined) ?? (classMode ? `data/labels/${v.task}-${session}.jsonl` : `data/labels/${v.task}-human.jsonl`),
  prompts: Number(v.prompts), // checked against its range as the flags were parsed
  k: Number(v.k),
  port: numberFlag(v, "port", (n) => Number.isInteger(n) && n >= 0 && n < 65536, "a port number 0–65535")!,
  seed: numberFlag(v, "seed", (n) => Number.isInteger(n) && n >= 0, "an integer ≥ 0")!,
  host: (v.host as string).trim(),
  assignment: { overlap: Number(v.overlap), perList: Number(v["per-list"]), students: Number(v.students), seed: Number(v.seed) },
  simulated: v["simulated-labelers"] === undefined ? undefined : Number(v["simulated-labelers"]),
  mixes: (v.mix as string | undefined)?.split(",").map((m) => m.trim()).filter(Boolean),
};
for (const m of values.mixes ?? []) {
  if (!Object.hasOwn(LABELER_MIXES, m)) usageError(`--mix ${v.mix}: unknown mix "${m}"; expected ${Object.keys(LABELER_MIXES).join(", ")}`);
}
if (values.mixes && values.simulated === undefined) {
  usageError("--mix names the simulated students' preferences; add --simulated-labelers N");
}
if (v.classroom === true && values.simulated !== undefined) {
  usageError("--classroom serves people, --simulated-labelers simulates them; pick one");
}
if (values.host === "0.0.0.0" || values.host === "::" || !values.host) {
  usageError(
    `--host ${JSON.stringify(v.host)}: expected the address students type (this machine's on the class network, e.g. 192.168.1.20)`,
  );
}
if (values.host !== "127.0.0.1" && !v.classroom) {
  usageError(`--host ${values.host}: only a class session (--classroom) listens beyond 127.0.0.1`);
}
// Everything below is checked before minutes of sampling, not after.
if (!values.labeler && !classMode) {
  usageError(`--labeler ${JSON.stringify(v.labeler)}: expected a name (not blank); it is stored with every ranking`);
}
if (values.simulated === undefined) checkPortFree(values.host, values.port);
await checkCheckpointDir(values.checkpoint);
await checkLabelsPath(values.labels);

function checkPortFree(hostname: string, port: number): void {
  try {
    Deno.listen({ hostname, port }).close();
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      usageError(`--port ${port}: another program is listening on it; pick a free one, e.g. --port ${port + 1}`);
    }
    if (err instanceof Deno.errors.AddrNotAvailable) usageError(`--host ${hostname}: not an address of this machine`);
    throw err;
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
  const checkpoint = await checkpointFingerprint(values.checkpoint);
  const saved = classMode ? await loadClassItems(values.labels) : undefined;
  if (saved && saved.checkpoint !== checkpoint) {
    throw new Error(
      `${values.labels}: this session's answers were sampled from ${saved.checkpoint}, not ${checkpoint}; name another --session`,
    );
  }
  let items = saved?.items;
  if (saved) console.log(`[label] the session's answers, sampled once, are read back from ${values.labels}.items.json`);
  if (!items) {
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
    items = candidates.filter((c) => c.responses.length >= 2).map((c) => ({
      prompt_id: c.prompt.id,
      prompt: c.prompt.messages,
      responses: c.responses,
      gold: c.responses.map((r) => task.score(c.prompt, r)),
    }));
  }
  if (classMode) {
    const options = { labelsPath: values.labels, session, checkpoint, items, assignment: values.assignment, saveItems: !saved };
    if (values.simulated !== undefined) await simulateClassSession({ ...options, students: values.simulated, mixes: values.mixes });
    else await runClassSession({ ...options, host: values.host, port: values.port });
    return;
  }
  const labelSession = new LabelSession(
    items.map(({ prompt_id, prompt, responses }) => ({ prompt_id, prompt, responses })),
    { labelsPath: values.labels, labeler: values.labeler, checkpoint },
  );
  const server = startLabelServer(labelSession, { port: values.port });
  const { done, total } = await labelSession.state();
  console.log(
    `[label] open ${server.url} — rankings are saved to ${values.labels}; ${values.labeler} has ranked ${done} of ${total} (Ctrl-C to stop)`,
  );
});

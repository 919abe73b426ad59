/// <reference lib="dom" />
/**
 * The playground page: loads the site's model into the memory platform, then the steps in order (sample,
 * rank, fit the reward model, PPO or RLOO with live charts, before/after, downloads, reset). State for a
 * test or a curious reader is on `window.playground`.
 */
import {
  type BrowserBackendName,
  LabelSession,
  loadLabels,
  platform,
  type PretrainedGPT2,
  type RankRecord,
  Rng,
  savePretrained,
  SimulatedLabeler,
  type Task,
  tf,
} from "../lib/browser.ts";
import { fetchSite, loadModelAndTask, type Manifest } from "./assets.ts";
import { chooseBackend } from "./backend.ts";
import { drawLineChart } from "./chart.ts";
import {
  disposeRewardModel,
  fineTuneInPage,
  fitRewardModel,
  type IterationRow,
  type RewardFit,
  RLSession,
  sampleAnswers,
  type SampledItem,
  simulatedLists,
} from "./flow.ts";
import { mountRanking } from "./ranking.ts";
import { type PlaygroundSettings, settingsFromQuery } from "./settings.ts";

const $ = (id: string) => document.getElementById(id)!;
const button = (id: string) => $(id) as HTMLButtonElement;
/**
 * Lets the browser paint and handle input. The backends' reads resolve as microtasks, so a step's awaits alone
 * never return to the event loop: the page would freeze (and not draw the charts) until the step ends.
 */
const nextFrame = () => new Promise((resolve) => setTimeout(resolve, 0));
const LABELS_PATH = "/labels/playground.jsonl";
const PERSON = "browser";

/** What the page has done so far, for tests and the console. */
interface PageState {
  ready: boolean;
  error?: string;
  backend?: string;
  backendNote?: string;
  model?: string;
  /** The loss of each step of SFT in the page, when it ran. */
  sftLosses?: number[];
  /** Live tensors once SFT in the page is done (the same as after loading: the optimiser is gone). */
  tensorsAfterSft?: number;
  step: string;
  items: number;
  lists?: { person: number; simulated: number };
  fit?: Omit<RewardFit, "rm">;
  rows: IterationRow[];
  tensorsBeforeRL?: number;
  /** Live tensors once the model is loaded, and after a reset (the same when nothing leaked). */
  tensorsAtLoad?: number;
  tensorsAfterReset?: number;
  timings: Record<string, number>;
  exported?: string[];
}
const state: PageState = { ready: false, step: "load", items: 0, rows: [], timings: {} };
(globalThis as unknown as { playground: PageState }).playground = state;

let settings: PlaygroundSettings;
let manifest: Manifest;
let sft: PretrainedGPT2;
let task: Task;
let items: SampledItem[] = [];
let fit: RewardFit | undefined;
let session: RLSession | undefined;

function fail(err: unknown) {
  const message = err instanceof Error ? err.message : String(err);
  state.error = message;
  $("error").textContent = message;
  console.error(err);
}
/** Runs a step, times it, reports its error on the page, and re-enables the buttons after it. */
async function timed(name: string, f: () => Promise<void>) {
  const t0 = performance.now();
  for (const b of document.querySelectorAll("button.step")) (b as HTMLButtonElement).disabled = true;
  try {
    state.step = name;
    print("working", `计算中 working: ${name}…`);
    await nextFrame();
    await f();
    state.timings[name] = (state.timings[name] ?? 0) + (performance.now() - t0) / 1000;
    state.step = `${name} done`;
  } catch (err) {
    fail(err);
  } finally {
    print("working", "");
    refreshButtons();
  }
}
function refreshButtons() {
  button("sample").disabled = false;
  button("fit").disabled = items.length === 0;
  button("run").disabled = !fit;
  button("export").disabled = !session || session.rows.length === 0;
}
const show = (id: string) => ($(id).hidden = false);
const print = (id: string, text: string) => ($(id).textContent = text);

/** SFT in the page (offered for a base model): the model is fine-tuned in place, then every later step uses it. */
async function fineTune() {
  const losses: number[] = (state.sftLosses = []);
  await fineTuneInPage(sft, sft.tokenizer!, task, {
    steps: settings.sftSteps,
    batch: settings.sftBatch,
    seed: settings.seed,
    onStep: async (step, loss) => {
      losses.push(loss);
      print("sft-status", `第 ${step}/${settings.sftSteps} 步 step, loss ${loss.toFixed(3)}`);
      if (step % 5 === 0) await nextFrame();
    },
  });
  state.model = `${manifest.model.name} + SFT in the page (${settings.sftSteps} steps)`;
  print("model", `${manifest.model.name} + 页面内 SFT ${settings.sftSteps} 步 (SFT in the page)`);
  print("sft-status", `loss ${losses[0].toFixed(3)} → ${losses.at(-1)!.toFixed(3)}`);
  button("sft").hidden = true;
  state.tensorsAfterSft = tf.memory().numTensors;
}

async function sample() {
  const rng = new Rng(settings.seed);
  const requests = task.prompts("train", settings.seed).slice(0, settings.requests);
  items = await sampleAnswers(sft, sft.tokenizer!, requests, { k: settings.k, tokens: settings.tokens, rng });
  state.items = items.length;
  await platform().remove(LABELS_PATH).catch(() => {});
  const labels = new LabelSession(items, { labelsPath: LABELS_PATH, labeler: PERSON, checkpoint: manifest.model.name });
  show("rank");
  await mountRanking(labels, (s) => print("fit-yours", `你的排序 your rank lists: ${s.done}`));
}

async function fitReward() {
  const yours = (await loadLabels(LABELS_PATH).catch(() => [] as RankRecord[])).filter((l) => l.labeler === PERSON);
  const missing = Math.max(0, settings.minLists - yours.length);
  const labeler = new SimulatedLabeler({ preference: task.preference?.name, seed: settings.seed });
  print("working", `模拟标注者补齐 ${missing} 条排序 sampling answers for ${missing} simulated rank lists…`);
  await nextFrame();
  const extra = task.prompts("train", settings.seed).slice(settings.requests, settings.requests + missing);
  const simulated = missing > 0
    ? simulatedLists(
      task,
      await sampleAnswers(sft, sft.tokenizer!, extra, { k: settings.k, tokens: settings.tokens, rng: new Rng(settings.seed + 2) }),
      labeler,
      manifest.model.name,
    )
    : [];
  state.lists = { person: yours.length, simulated: simulated.length };
  if (fit) disposeRewardModel(fit.rm);
  print("working", "拟合奖励模型 fitting the reward model…");
  await nextFrame();
  fit = await fitRewardModel(sft, sft.tokenizer!, [...yours, ...simulated], settings);
  const { rm: _, ...shown } = fit;
  state.fit = shown;
  print(
    "fit-result",
    `排序 rank lists: 你的 yours ${yours.length} + 模拟 simulated (${labeler.name}) ${simulated.length}；训练 train ${fit.trainLists}，留出 held-out ${fit.heldoutLists}\n` +
      `留出准确率 held-out pairwise accuracy: 训练前 untrained ${fit.before.toFixed(3)} → 训练后 fitted ${
        fit.after.toFixed(3)
      }（随机 chance 0.5）\n` +
      `loss: ${fit.losses.map((l) => l.toFixed(3)).join(" → ")}`,
  );
  show("rl");
}

function drawCharts(rows: readonly IterationRow[]) {
  drawLineChart($("chart-score") as unknown as SVGSVGElement, "奖励模型分数 RM score", rows.map((r) => r.score), {
    color: "#4a7bd0",
    band: rows.map((r) => r.scoreSE),
  });
  drawLineChart($("chart-kl") as unknown as SVGSVGElement, "KL(π‖π_SFT)", rows.map((r) => r.kl), { color: "#c05030" });
  drawLineChart($("chart-gold") as unknown as SVGSVGElement, "金标准分 gold score (simulated)", rows.map((r) => r.gold), {
    color: "#2a8a3a",
  });
}

async function runRL() {
  settings.method = ($("method") as HTMLSelectElement).value as "ppo" | "rloo";
  settings.iters = Number(($("iters") as HTMLInputElement).value);
  session?.dispose();
  state.rows = [];
  state.tensorsBeforeRL = tf.memory().numTensors;
  session = new RLSession(sft, sft.tokenizer!, task, fit!.rm, task.prompts("train", settings.seed + 1), settings);
  for (let i = 0; i < settings.iters; i++) {
    const row = await session.step();
    state.rows = [...session.rows];
    drawCharts(session.rows);
    print(
      "rl-status",
      `${settings.method.toUpperCase()} iteration ${row.iteration}/${settings.iters} · ${
        row.seconds.toFixed(1)
      } s · tensors ${row.tensors}`,
    );
  }
  await beforeAfter();
  show("after");
}

async function beforeAfter() {
  const requests = task.prompts("heldout", settings.seed).slice(0, 3);
  const one = { k: 1, tokens: settings.tokens };
  const before = await sampleAnswers(sft, sft.tokenizer!, requests, { ...one, rng: new Rng(settings.seed + 3) });
  const after = await sampleAnswers(session!.lm, sft.tokenizer!, requests, { ...one, rng: new Rng(settings.seed + 3) });
  const body = $("compare");
  body.replaceChildren();
  requests.forEach((r, i) => {
    const tr = document.createElement("tr");
    const cell = (text: string) => Object.assign(document.createElement("td"), { textContent: text });
    const gold = (t: string) => task.score(r, t).total.toFixed(2);
    const [b, a] = [before[i].responses[0] ?? "", after[i].responses[0] ?? ""];
    tr.append(cell(r.messages.at(-1)!.content), cell(`${b}\n(gold ${gold(b)})`), cell(`${a}\n(gold ${gold(a)})`));
    body.append(tr);
  });
}

function downloadLink(name: string, data: Uint8Array | string, type: string): HTMLAnchorElement {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([data as BlobPart], { type }));
  a.download = name;
  a.textContent = name;
  return a;
}

async function exportModel() {
  const dir = `/export/${settings.method}`;
  await savePretrained({ ...session!.lm, tokenizer: sft.tokenizer }, dir);
  const links = $("model-links");
  links.replaceChildren();
  state.exported = [];
  for await (const e of platform().readDir(dir)) {
    links.append(downloadLink(e.name, await platform().readFile(`${dir}/${e.name}`), "application/octet-stream"), " ");
    state.exported.push(e.name);
  }
}

async function downloadRankings() {
  const text = await platform().readTextFile(LABELS_PATH).catch(() => "");
  downloadLink("playground.jsonl", text, "application/jsonl").click();
}

function reset() {
  session?.dispose();
  session = undefined;
  if (fit) disposeRewardModel(fit.rm);
  fit = undefined;
  items = [];
  Object.assign(state, { step: "reset", items: 0, rows: [], lists: undefined, fit: undefined, exported: undefined });
  for (const id of ["rank", "rl", "after"]) $(id).hidden = true;
  for (const id of ["fit-result", "rl-status", "model-links", "compare", "error"]) $(id).replaceChildren();
  drawCharts([]);
  platform().remove(LABELS_PATH).catch(() => {});
  state.tensorsAfterReset = tf.memory().numTensors;
  refreshButtons();
}

async function start() {
  const t0 = performance.now();
  settings = settingsFromQuery(new URLSearchParams(location.search));
  const base = new URL(".", location.href);
  const forced = new URLSearchParams(location.search).get("backend") as BrowserBackendName | null;
  const backend = await chooseBackend(new URL("wasm/", base).href, forced ?? undefined);
  Object.assign(state, { backend: backend.name, backendNote: backend.note });
  print("backend", `${backend.name}（${backend.note}）`);
  manifest = await fetchSite(base);
  ({ model: sft, task } = await loadModelAndTask());
  state.model = manifest.model.name;
  print(
    "model",
    `${manifest.model.name} — ${
      manifest.model.kind === "sft" ? "SFT 检查点 SFT checkpoint" : "预训练基座 base model (no SFT checkpoint was built)"
    }`,
  );
  print("min-lists", String(settings.minLists));
  ($("method") as HTMLSelectElement).value = settings.method;
  ($("iters") as HTMLInputElement).value = String(settings.iters);
  for (const id of ["k", "requests", "batch", "tokens"]) print(`s-${id}`, String(settings[id as "k"]));
  if (manifest.model.kind === "base") show("sft-step");
  button("sft").onclick = () => timed("sft", fineTune);
  print("s-sft-steps", String(settings.sftSteps));
  button("sample").onclick = () => timed("sample", sample);
  button("fit").onclick = () => timed("fit", fitReward);
  button("run").onclick = () => timed("rl", runRL);
  button("export").onclick = () => timed("export", exportModel);
  button("download-rankings").onclick = () => downloadRankings().catch(fail);
  button("reset").onclick = reset;
  drawCharts([]);
  refreshButtons();
  state.timings.load = (performance.now() - t0) / 1000;
  state.tensorsAtLoad = tf.memory().numTensors;
  state.ready = true;
}

start().catch(fail);

/**
 * The playground as a person meets it: `deno task playground` builds the site into a temporary directory,
 * headless Chromium (playwright-core) loads it from there (the test serves the files itself, page.route: no
 * server), ranks the sampled answers with scripted moves (↓, =, drag, save, undo, skip, ↑), fits the reward
 * model, runs a few PPO iterations and exports the model. Small sizes (URL settings) keep it short. It checks:
 * the backend is wasm (--disable-gpu gives software WebGL, which the page skips), the rank lists saved are
 * the person's (the downloaded JSONL reads back as `deno task label`'s), the reward model ranks held-out
 * lists above chance, the reward-model score rises by more than its standard error, the tensor count is flat
 * from iteration to iteration (PPO, then three RLOO iterations) and back to its loaded value after Reset, the
 * model files come out, nothing is fetched after loading, and no console error. Reported as ignored where /usr/bin/chromium is missing (CI installs it).
 */
import { chromium, type Page } from "playwright-core";
import { join } from "node:path";
import { pathExists } from "../lib/fs.ts";
import { loadLabels } from "../lib/reward/labels.ts";
import { settingsFromQuery } from "../playground/settings.ts";
import { assert, runDeno } from "./helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const ORIGIN = "http://playground.test";
/**
 * The test's sizes: 3 requests of 4 answers to rank, 40 rank lists in all, answers of 32 tokens at most, 5 PPO iterations of 16
 * answers; higher learning rates than the page's (reward model 3e-3, policy 3e-4) so that so few steps move them.
 * PLAYGROUND_QUERY="?" runs the page's default flow instead (docs/PERFORMANCE.md).
 */
const QUERY = Deno.env.get("PLAYGROUND_QUERY") ?? "?requests=3&k=4&minLists=40&iters=5&batch=16&tokens=32&lr=0.0003&rmLr=0.003";
const SETTINGS = settingsFromQuery(new URLSearchParams(QUERY));

interface PageState {
  ready: boolean;
  error?: string;
  backend: string;
  backendNote: string;
  model: string;
  step: string;
  items: number;
  lists: { person: number; simulated: number };
  fit: { before: number; after: number; trainLists: number; heldoutLists: number };
  rows: { score: number; scoreSE: number; kl: number; gold: number; tensors: number; seconds: number }[];
  timings: Record<string, number>;
  exported?: string[];
  tensorsAtLoad: number;
  tensorsAfterReset?: number;
}

const stateOf = (tab: Page) => tab.evaluate("window.playground") as Promise<PageState>;
async function waitStep(tab: Page, step: string) {
  await tab.waitForFunction(`window.playground.step === "${step}" || window.playground.error`, undefined, { timeout: 900_000 });
  const s = await stateOf(tab);
  assert.equal(s.error, undefined, s.error);
}

/** The site, built once for this file's tests by `deno task playground --out …` (removed when the tests end). */
let builtSite: Promise<string> | undefined;
function site(): Promise<string> {
  return builtSite ??= (async () => {
    const dir = await Deno.makeTempDir();
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const built = await runDeno(["run", "-A", "scripts/playground.ts", "--out", dir]);
    assert.equal(built.code, 0, built.err);
    return dir;
  })();
}

/**
 * Opens the built site at `query` in a fresh headless Chromium (the test serves its files: page.route, no
 * server), waits until the page is ready without an error, and hands the tab over with what it collects: the
 * console's errors and every path fetched.
 */
async function withPage(
  query: string,
  use: (tab: Page, seen: { dir: string; errors: string[]; fetched: string[] }) => Promise<void>,
): Promise<void> {
  const dir = await site();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
  try {
    const tab = await browser.newPage();
    const seen = { dir, errors: [] as string[], fetched: [] as string[] };
    tab.on("console", (m) => m.type() === "error" && seen.errors.push(m.text()));
    tab.on("pageerror", (e) => seen.errors.push(e.message));
    await tab.route(`${ORIGIN}/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      seen.fetched.push(path);
      return route.fulfill({ path: join(dir, path === "/" ? "index.html" : path) });
    });
    await tab.goto(`${ORIGIN}/index.html${query}`);
    await tab.waitForFunction("window.playground?.ready || window.playground?.error", undefined, { timeout: 60_000 });
    const s = await stateOf(tab);
    assert.equal(s.error, undefined, s.error);
    await use(tab, seen);
  } finally {
    await browser.close();
  }
}

Deno.test({
  name: "playground: built site, ranked by scripted moves, reward model above chance, PPO raises the reward-model score",
  ignore: !(await pathExists(CHROMIUM)),
  sanitizeResources: false, // the browser's pipes outlive the test's bookkeeping
  sanitizeOps: false,
  fn: () =>
    withPage(QUERY, async (tab, { dir, errors, fetched }) => {
      let s = await stateOf(tab);
      assert.equal(s.backend, "wasm", s.backendNote);
      assert.match(await tab.textContent("#backend") ?? "", /wasm/);
      const loaded = fetched.length;

      // 1. Sample, 2. rank: ↓ then save; drag the last card to the top, save, undo, save again; skip the third.
      await tab.click("#sample");
      await waitStep(tab, "sample done");
      const cards = tab.locator("#rank-answers li");
      assert.equal(await cards.count(), SETTINGS.k);
      await cards.nth(0).locator("button.down").click();
      await cards.nth(2).locator("button.tie").click(); // the last two equally good
      await tab.click("#rank-save");
      await tab.waitForFunction(`document.querySelector("#rank-status").textContent.includes("第 2")`);
      await cards.nth(2).dragTo(cards.nth(0));
      await tab.click("#rank-save");
      await tab.waitForFunction(`document.querySelector("#rank-status").textContent.includes("你已排 2")`);
      await tab.click("#rank-undo");
      await tab.waitForFunction(`document.querySelector("#rank-status").textContent.includes("你已排 1")`);
      await cards.nth(2).locator("button.up").click();
      await tab.click("#rank-save");
      await tab.waitForFunction(`document.querySelector("#rank-status").textContent.includes("你已排 2")`);
      await tab.click("#rank-skip");
      const [download] = await Promise.all([tab.waitForEvent("download"), tab.click("#download-rankings")]);
      const labelsFile = join(dir, "downloaded.jsonl");
      await download.saveAs(labelsFile);
      const saved = await loadLabels(labelsFile); // the reader of `deno task label`'s files checks every line
      assert.deepEqual(saved.map((l) => [l.labeler, l.responses.length]), [["browser", SETTINGS.k], ["browser", SETTINGS.k]]);
      assert.deepEqual(saved[0].ranks, Array.from({ length: SETTINGS.k }, (_, i) => (i < 2 ? i + 1 : i))); // 1, 2, 2, 3, …

      // 3. The reward model: the person's 2 lists plus simulated ones up to the minimum, a quarter held out.
      await tab.click("#fit");
      await waitStep(tab, "fit done");
      s = await stateOf(tab);
      assert.equal(s.lists.person, 2);
      const simulated = SETTINGS.minLists - 2;
      assert.ok(s.lists.simulated <= simulated && s.lists.simulated >= simulated - 4, JSON.stringify(s.lists)); // a list whose K answers are one answer is dropped
      assert.ok(s.fit.after > 0.5, `held-out pairwise accuracy ${s.fit.after} (untrained ${s.fit.before})`);

      // 4. PPO.
      await tab.click("#run");
      await waitStep(tab, "rl done");
      s = await stateOf(tab);
      const seconds = Object.entries(s.timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ");
      console.log(
        `playground ${QUERY}: ${s.model} on ${s.backend}; seconds: ${seconds}; total ${
          Object.values(s.timings).reduce((a, b) => a + b, 0).toFixed(1)
        }`,
      );
      // The score of the first and the last third of the iterations, each a mean of batch means with its standard error.
      const third = Math.max(1, Math.floor(s.rows.length / 3));
      const meanOf = (rows: PageState["rows"]) => rows.reduce((a, r) => a + r.score, 0) / rows.length;
      const seOf = (rows: PageState["rows"]) => Math.sqrt(rows.reduce((a, r) => a + r.scoreSE ** 2, 0)) / rows.length;
      const [early, late] = [s.rows.slice(0, third), s.rows.slice(-third)];
      const se = Math.hypot(seOf(early), seOf(late));
      const series = (f: (r: PageState["rows"][number]) => number) => s.rows.map((r) => f(r).toFixed(2)).join(" ");
      assert.ok(
        meanOf(late) - meanOf(early) > se,
        `RM score ${series((r) => r.score)}; gold ${series((r) => r.gold)}; KL ${series((r) => r.kl)}; SE of the difference ${
          se.toFixed(3)
        }`,
      );
      const last = s.rows.at(-1)!;
      const tensors = s.rows.slice(1).map((r) => r.tensors);
      assert.deepEqual(tensors, tensors.map(() => tensors[0]), `tensors per iteration: ${s.rows.map((r) => r.tensors)}`);
      assert.equal(await tab.locator("#compare tr").count(), 3);

      const ppo = s;

      // RLOO as the choice: three iterations, the tensor count flat between them too.
      await tab.selectOption("#method", "rloo");
      await tab.fill("#iters", "3");
      await tab.click("#run");
      await waitStep(tab, "rl done");
      s = await stateOf(tab);
      assert.equal(s.rows.length, 3);
      assert.equal(s.rows[2].tensors, s.rows[1].tensors, `RLOO tensors per iteration: ${s.rows.map((r) => r.tensors)}`);

      // 6. The model files, in the HF layout.
      await tab.click("#export");
      await waitStep(tab, "export done");
      s = await stateOf(tab);
      for (const f of ["config.json", "model.safetensors", "vocab.txt"]) assert.ok(s.exported?.includes(f), `${f} in ${s.exported}`);
      assert.equal(fetched.length, loaded, `fetched after loading: ${fetched.slice(loaded)}`);
      await tab.click("#reset");
      const afterReset = await stateOf(tab);
      assert.equal(afterReset.tensorsAfterReset, afterReset.tensorsAtLoad, "live tensors after a reset against after loading");
      assert.deepEqual(errors, []);
      console.log(
        `playground test: backend ${s.backend}; RM held-out ${s.fit.before.toFixed(3)} → ${s.fit.after.toFixed(3)}; ` +
          `PPO score ${ppo.rows.map((r) => r.score.toFixed(2)).join(" ")}; KL ${last.kl.toFixed(3)}; ` +
          `RLOO score ${s.rows.map((r) => r.score.toFixed(2)).join(" ")}; ` +
          `seconds ${JSON.stringify(Object.fromEntries(Object.entries(s.timings).map(([k, v]) => [k, +v.toFixed(1)])))}`,
      );
    }),
});

Deno.test({
  name: "playground: a site that shipped the base model offers SFT in the page; a few steps lower the loss and leave no tensor",
  ignore: !(await pathExists(CHROMIUM)),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const query = Deno.env.get("PLAYGROUND_SFT_QUERY") ?? "?sftSteps=8&sftBatch=4";
    await withPage(query, async (tab, { dir, errors }) => {
      const manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
      const offered = await tab.isVisible("#sft");
      assert.equal(offered, manifest.model.kind === "base", `SFT offered for a ${manifest.model.kind} model`);
      if (!offered) return; // a site built beside a finished SFT checkpoint ships it
      await tab.click("#sft");
      await waitStep(tab, "sft done");
      const s = await tab.evaluate("window.playground") as PageState & { sftLosses: number[]; tensorsAfterSft: number };
      const steps = settingsFromQuery(new URLSearchParams(query)).sftSteps;
      assert.equal(s.sftLosses.length, steps);
      console.log(
        `playground SFT ${query}: loss ${s.sftLosses[0].toFixed(3)} → ${s.sftLosses.at(-1)!.toFixed(3)}; ${JSON.stringify(s.timings)}`,
      );
      assert.ok(s.sftLosses.at(-1)! < s.sftLosses[0], `loss ${s.sftLosses.map((l) => l.toFixed(3)).join(" ")}`);
      assert.equal(s.tensorsAfterSft, s.tensorsAtLoad, "live tensors after SFT against after loading");
      assert.ok(s.model.includes(`SFT in the page (${steps} steps)`), s.model);
      assert.deepEqual(errors, []);
    });
  },
});

/**
 * The labelling page end to end in a real browser (Debian chromium driven by
 * playwright-core): rank with the buttons, save, reload, count, skip, undo,
 * a refused repeat, a tie and "all bad". Reported as ignored where /usr/bin/chromium is missing
 * (CI installs it).
 */
import { chromium } from "playwright-core";
import { pathExists } from "../lib/fs.ts";
import { LabelSession } from "../lib/labeling/session.ts";
import { startLabelServer } from "../lib/labeling/server.ts";
import { loadLabels } from "../lib/reward/labels.ts";
import { ITEMS } from "./fixtures/label_items.ts";
import { assert } from "./helpers.ts";

/** Runs in the page (a string: the test's TypeScript has no DOM types). */
const textOf = (selector: string) => `(document.querySelector(${JSON.stringify(selector)})?.textContent ?? "")`;

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await pathExists(CHROMIUM);

/** A label server for ITEMS that writes to `path`, and a browser page showing its first item; `close` ends both. */
async function openLabelPage(path: string, checkpoint: string) {
  const server = startLabelServer(new LabelSession(ITEMS, { labelsPath: path, labeler: "李老师", checkpoint }), { port: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] })
    .catch(async (err) => {
      await server.shutdown();
      throw err;
    });
  const close = async () => {
    await browser.close();
    await server.shutdown();
  };
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForSelector("li.card");
  return { page, close };
}

Deno.test({
  name: "labelling page: rank, save, reload, count, skip and undo in a real browser",
  ignore: !hasChromium,
  sanitizeResources: false, // the browser's pipes outlive the test's bookkeeping
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/human.jsonl`;
    const server = startLabelServer(new LabelSession(ITEMS, { labelsPath: path, labeler: "李老师", checkpoint: "checkpoints/sft" }), {
      port: 0,
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      await page.waitForSelector("li.card");
      assert.equal(await page.textContent("#prompt"), "写一首五言绝句");
      assert.match((await page.textContent("#status")) ?? "", /第 1 \/ 2 条 · 已保存 0 条/);
      // Move the first answer down one place: order 乙答, 甲答, 丙答.
      await page.click("li.card:nth-child(1) button.down");
      assert.deepEqual(await page.$$eval("li.card pre", (els) => els.map((e) => e.textContent)), ["乙答", "甲答", "丙答"]);
      await page.click("#save");
      await page.waitForFunction(`${textOf("#status")}.includes("已保存 1 条")`);
      assert.deepEqual((await loadLabels(path)).map((r) => r.responses), [["乙答", "甲答", "丙答"]]);

      await page.reload();
      await page.waitForFunction(`${textOf("#status")}.includes("第 2 / 2 条 · 已保存 1 条")`);
      assert.equal(await page.textContent("#prompt"), "写一首七言绝句");

      await page.click("#skip");
      await page.waitForSelector("#done", { state: "visible" });
      await page.click("#undo"); // undo the skip
      await page.waitForFunction(`${textOf("#prompt")} === "写一首七言绝句"`);
      await page.click("#undo"); // undo the ranking: it leaves the file
      await page.waitForFunction(`${textOf("#status")}.includes("第 1 / 2 条 · 已保存 0 条")`);
      assert.equal((await loadLabels(path)).length, 0);

      // A tie sent by hand is refused and the page shows why.
      const status = await page.evaluate(
        `fetch("/api/rank", { method: "POST", headers: { "content-type": "application/json", "x-label-token": LABEL_TOKEN }, body: JSON.stringify({ order: [0, 0, 1], index: 0 }) }).then((r) => r.status)`,
      );
      assert.equal(status, 409);
      // A page on another local origin cannot write, even with no-cors (its POST arrives without the token).
      const other = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        () => new Response("<p>other</p>", { headers: { "content-type": "text/html" } }),
      );
      try {
        const foreign = await browser.newPage();
        await foreign.goto(`http://127.0.0.1:${other.addr.port}/`);
        await foreign.evaluate(
          `fetch(${
            JSON.stringify(server.url + "api/rank")
          }, { method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body: JSON.stringify({ order: [0, 1, 2] }) }).catch(() => {})`,
        );
        await foreign.evaluate(
          `fetch(${JSON.stringify(server.url + "api/skip")}, { method: "POST", mode: "no-cors", body: "{}" }).catch(() => {})`,
        );
        assert.equal((await loadLabels(path)).length, 0, "the foreign page saved nothing");
        await page.reload();
        await page.waitForFunction(`${textOf("#status")}.includes("第 1 / 2 条 · 已保存 0 条")`);
      } finally {
        await other.shutdown();
      }
    } finally {
      await browser.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "labelling page: '=' ties a card with the one above, 'all bad' ties the list; both are saved as ranks",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/human.jsonl`;
    const { page, close } = await openLabelPage(path, "checkpoints/sft");
    try {
      assert.ok(await page.isDisabled("li.card:nth-child(1) button.tie"), "the top card has nothing above to tie with");
      await page.click("li.card:nth-child(3) button.tie"); // 丙答 as good as 乙答
      assert.deepEqual(await page.$$eval("li.card b", (els) => els.map((e) => e.textContent)), ["1.", "2.", "2."]);
      await page.click("li.card:nth-child(3) button.up"); // the tie moves with its card: 甲答, 丙答 (tied with 甲答), 乙答
      assert.deepEqual(await page.$$eval("li.card b", (els) => els.map((e) => e.textContent)), ["1.", "1.", "2."]);
      await page.click("#save");
      await page.waitForFunction(`${textOf("#status")}.includes("已保存 1 条")`);
      await page.click("#allbad");
      await page.waitForSelector("#done", { state: "visible" });
      const saved = await loadLabels(path);
      assert.deepEqual(saved.map((r) => [r.responses, r.ranks]), [[["甲答", "丙答", "乙答"], [1, 1, 2]], [["一", "二"], [1, 1]]]);
      await page.click("#back"); // the earlier ranking comes back with its ties
      await page.waitForFunction(`${textOf("#prompt")} === "写一首七言绝句"`);
      assert.deepEqual(await page.$$eval("li.card b", (els) => els.map((e) => e.textContent)), ["1.", "1."]);
      assert.match(await page.textContent("p.hint") ?? "", /tied pair trains nothing/);
    } finally {
      await close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "rank in the page, then train: the reward model trains on the saved lists, and its checkpoint records the files and counts",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { initBackend } = await import("../lib/backend.ts");
    const { loadPretrained } = await import("../lib/pretrained.ts");
    const { disposeGPT2 } = await import("../lib/gpt2/init.ts");
    const { loadTask } = await import("../lib/tasks/registry.ts");
    const { runRewardStage } = await import("../lib/pipeline/reward_stage.ts");
    const { disposeRewardModel } = await import("../lib/reward/reward_model.ts");
    await initBackend({ quiet: true });
    const dir = await Deno.makeTempDir();
    const sftDir = new URL("./fixtures/uer-tiny", import.meta.url).pathname; // a tiny model in the book's layout, as the "SFT model"
    const path = `${dir}/poetry-zh-human.jsonl`;
    const { page, close } = await openLabelPage(path, "checkpoints/sft@test");
    try {
      await page.click("#save"); // the first list as shown
      await page.waitForFunction(`${textOf("#status")}.includes("已保存 1 条")`);
      await page.click("li.card:nth-child(1) button.down"); // the second list: 二 above 一
      await page.click("#save");
      await page.waitForFunction(`${textOf("#status")}.includes("已保存 2 条")`);
    } finally {
      await close();
    }
    const sft = await loadPretrained(sftDir);
    try {
      const result = await runRewardStage(sft, sft.tokenizer!, await loadTask("poetry-zh"), sftDir, {
        checkpointDir: `${dir}/rm`,
        labelsPath: `${dir}/simulated.jsonl`,
        humanLabels: [path],
        trainPrompts: 0, // the person's rankings alone
        heldoutPrompts: 2,
        k: 2,
        train: { epochs: 1 },
        quiet: true,
      });
      assert.deepEqual(result.listsByLabeler, { "李老师": 2 });
      const record = JSON.parse(await Deno.readTextFile(`${dir}/rm/reward.json`));
      assert.deepEqual(record.labels, { files: [`${dir}/simulated.jsonl`, path], listsByLabeler: { "李老师": 2 } });
      assert.deepEqual((await loadLabels(path)).map((l) => l.responses), [["甲答", "乙答", "丙答"], ["二", "一"]]);
      disposeRewardModel(result.rm);
    } finally {
      disposeGPT2(sft);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

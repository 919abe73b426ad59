/**
 * A class session in real browsers (Debian chromium driven by playwright-core): several students, each in
 * their own browser context (own storage, as on their own laptops), join with the code and rank at once;
 * the teacher's view shows them. Reported as ignored where /usr/bin/chromium is missing.
 */
import { chromium } from "playwright-core";
import { pathExists } from "../lib/fs.ts";
import { Classroom } from "../lib/labeling/classroom.ts";
import { startClassServer } from "../lib/labeling/class_server.ts";
import { loadLabels } from "../lib/reward/labels.ts";
import { CLASS_ITEMS } from "./fixtures/class_items.ts";
import { assert } from "./helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await pathExists(CHROMIUM);
const textOf = (selector: string) => `(document.querySelector(${JSON.stringify(selector)})?.textContent ?? "")`;

Deno.test({
  name: "class pages: 4 students in their own browser contexts join and rank at once; the teacher's view shows each one's progress",
  ignore: !hasChromium,
  sanitizeResources: false, // the browser's pipes outlive the test's bookkeeping
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const labelsPath = `${dir}/class.jsonl`;
    const items = CLASS_ITEMS.slice(0, 8);
    const room = await Classroom.open(items, {
      labelsPath,
      session: "s1",
      checkpoint: "sft",
      assignment: { overlap: 2, perList: 2, students: 4 },
    });
    const server = startClassServer(room, { port: 0 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
    try {
      const names = ["甲同学", "乙同学", "丙同学", "丁同学"];
      const student = async (name: string, i: number) => {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(server.url);
        await page.fill("#code", room.code.toLowerCase());
        await page.fill("#name", name);
        await page.click("button[type=submit]");
        await page.waitForURL(/\/label$/);
        const total = room.assignment.queue(i).length;
        for (let k = 0; k < total; k++) {
          await page.waitForFunction(`${textOf("#status")}.includes("你已排 ${k} 条")`);
          if (k % 2) await page.click("li.card:nth-child(1) button.down"); // a different order on every other list
          await page.click("#save");
        }
        await page.waitForSelector("#done", { state: "visible" });
        return total;
      };
      const totals = await Promise.all(names.map(student));
      const lists = await loadLabels(labelsPath);
      assert.equal(lists.length, totals.reduce((a, b) => a + b, 0));
      for (const [i, name] of names.entries()) assert.equal(lists.filter((l) => l.labeler === name).length, totals[i], name);

      // A student's page cannot read the teacher's view; the teacher's can.
      const teacher = await (await browser.newContext()).newPage();
      await teacher.goto(server.teacherUrl);
      await teacher.waitForFunction(`document.querySelectorAll("#students tr").length === 4`);
      const rows = await teacher.$$eval("#students tr", (trs) => trs.map((tr) => tr.textContent ?? ""));
      for (const [i, name] of names.entries()) {
        assert.ok(rows.some((r) => r.includes(name) && r.includes(`${totals[i]} / ${totals[i]}`)), name);
      }
      assert.match((await teacher.textContent("#agreement")) ?? "", /Kendall's W [\d.]+ [\s\S]*Krippendorff's α \(ordinal\) -?[\d.]+/);
      const forged = await teacher.evaluate(`fetch("/api/class", { headers: { "x-label-token": "guess" } }).then((r) => r.status)`);
      assert.equal(forged, 403);
    } finally {
      await browser.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

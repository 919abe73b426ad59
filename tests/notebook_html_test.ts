import { pathExists } from "../lib/fs.ts";
import { markdownWithMath, notebookToHtml } from "../lib/report/notebook_html.ts";
import { assert } from "./helpers.ts";

const CHROMIUM = "/usr/bin/chromium";

Deno.test("markdownWithMath(): TeX becomes MathML (subscripts intact), code spans keep their dollars", () => {
  const html = markdownWithMath(
    "损失 $\\sigma(r_i - r_j)$ 和\n\n$$L = -\\tfrac{1}{K}\\sum_{i<j} \\log x_i$$\n\n代码 `${dir}/a_b` 与 **粗体**",
  );
  assert.equal(html.match(/<math/g)?.length, 2);
  assert.match(html, /<math display="block"/);
  assert.match(html, /<msub><mi>r<\/mi><mi>i<\/mi><\/msub>/);
  assert.match(html, /<code>\$\{dir\}\/a_b<\/code>/);
  assert.match(html, /<strong>粗体<\/strong>/);
  assert.ok(!html.includes("$$") && !html.includes("@@MATH"));
});

Deno.test("notebookToHtml(): charts as SVG, tables as HTML, text escaped, errors shown; the Plotly copy left out", () => {
  const html = notebookToHtml({
    cells: [
      { cell_type: "markdown", source: ["# 标题\n"] },
      {
        cell_type: "code",
        source: ["lineChart(x);"],
        outputs: [
          { output_type: "display_data", data: { "application/vnd.plotly.v1+json": "{}", "image/svg+xml": "<svg><text>c</text></svg>" } },
          { output_type: "stream", text: ["a < b\n"] },
          { output_type: "error", ename: "Error", evalue: "\u001b[31mboom\u001b[0m" },
        ],
      },
      {
        cell_type: "code",
        source: "t",
        outputs: [{ output_type: "execute_result", data: { "text/html": "<table><tr><td>1</td></tr></table>" } }],
      },
    ],
  }, "测试");
  assert.match(html, /<h1>标题<\/h1>/);
  assert.match(html, /<div class="chart"><svg><text>c<\/text><\/svg><\/div>/);
  assert.match(html, /<pre class="out">a &lt; b\n<\/pre>/);
  assert.match(html, /<pre class="out error">Error: boom<\/pre>/);
  assert.match(html, /<table><tr><td>1<\/td><\/tr><\/table>/);
  assert.ok(!html.includes("plotly"));
});

Deno.test({
  name: "notebookToHtml(): a long code line wraps inside the page and a wide output scrolls in its box (real browser)",
  ignore: !(await pathExists(CHROMIUM)),
  sanitizeResources: false, // the browser's pipes outlive the test's bookkeeping
  sanitizeOps: false,
  fn: async () => {
    const { chromium } = await import("playwright-core");
    const longLine = `const settings = { ${Array.from({ length: 40 }, (_, i) => `key${i}: ${i}`).join(", ")} };`;
    const html = notebookToHtml({
      cells: [{
        cell_type: "code",
        source: [longLine],
        outputs: [{ output_type: "stream", text: ["column ".repeat(60) + "\n"] }],
      }],
    }, "wide");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
    try {
      const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
      await page.setContent(html);
      const sizes = await page.evaluate(`(() => {
        const box = (sel) => { const e = document.querySelector(sel); return [e.scrollWidth, e.clientWidth]; };
        return { code: box("pre.code"), out: box("pre.out"), page: [document.documentElement.scrollWidth, window.innerWidth] };
      })()`) as { code: number[]; out: number[]; page: number[] };
      assert.ok(sizes.code[0] <= sizes.code[1], `the code line wraps: ${sizes.code}`);
      assert.ok(sizes.out[0] > sizes.out[1], `the output keeps its line and scrolls in its box: ${sizes.out}`);
      assert.ok(sizes.page[0] <= sizes.page[1], `nothing runs past the page's edge: ${sizes.page}`);
    } finally {
      await browser.close();
    }
  },
});

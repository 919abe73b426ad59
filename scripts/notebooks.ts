/**
 * `deno task notebooks`: executes the course notebooks in the real Deno
 * Jupyter kernel (headless, scripts/run_notebook.py) and writes each as an
 * offline HTML page with its charts and formulas, for readers without Jupyter.
 * The notebooks read the pipeline's checkpoints: run `deno task rlhf` first.
 *
 *   deno task notebooks                       # every notebook, full size
 *   deno task notebooks --quick 03_ppo        # one notebook, a few steps
 */
import { basename, join } from "node:path";
import { parseCommand, runMain, usageError } from "../lib/cli.ts";
import { writeTextFileAtomic } from "../lib/checkpoint/atomic.ts";
import { notebookToHtml } from "../lib/report/notebook_html.ts";

const NOTEBOOKS_DIR = new URL("../notebooks/", import.meta.url).pathname;
const RUNNER = new URL("./run_notebook.py", import.meta.url).pathname;

const { values, positionals } = parseCommand({
  command: "deno task notebooks",
  summary: "Execute the course notebooks in the Deno Jupyter kernel and write them as offline HTML (charts as SVG, formulas as MathML).",
  positionals: "[NOTEBOOK …]",
  flags: {
    quick: { type: "boolean", default: false, help: "a few steps per notebook (as the tests run them)" },
    out: { type: "string", default: "reports/notebooks", value: "DIR", help: "where the executed notebooks and HTML pages go" },
  },
  examples: ["deno task notebooks", "deno task notebooks --quick 03_ppo"],
});
const all = [...Deno.readDirSync(NOTEBOOKS_DIR)].map((e) => e.name).filter((n) => n.endsWith(".ipynb")).sort();
const wanted = positionals.length ? positionals.map((n) => (n.endsWith(".ipynb") ? n : `${n}.ipynb`)) : all;
for (const name of wanted) if (!all.includes(name)) usageError(`${name}: no such notebook in notebooks/ (${all.join(", ")})`);

await runMain(async () => {
  const out = values.out as string;
  await Deno.mkdir(out, { recursive: true });
  for (const name of wanted) {
    const started = performance.now();
    const executed = join(out, name);
    const { code } = await new Deno.Command("/usr/bin/python3", {
      args: [RUNNER, join(NOTEBOOKS_DIR, name), executed],
      env: { RLHF_NOTEBOOK_QUICK: values.quick ? "1" : "0" },
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (code !== 0) throw new Error(`${name}: a cell failed in the kernel (the executed part is in ${executed})`);
    const html = join(out, basename(name, ".ipynb") + ".html");
    const nb = JSON.parse(await Deno.readTextFile(executed));
    await writeTextFileAtomic(html, notebookToHtml(nb, basename(name, ".ipynb")));
    const cells = (nb.cells as { metadata?: { execution_seconds?: number } }[]).map((c, i) =>
      [i, c.metadata?.execution_seconds ?? 0] as const
    );
    const [slowest, seconds] = cells.reduce((a, b) => (b[1] > a[1] ? b : a));
    console.log(
      `[notebooks] ${name}: ${((performance.now() - started) / 1000).toFixed(0)} s (slowest cell ${slowest}: ${seconds} s) → ${html}`,
    );
  }
});

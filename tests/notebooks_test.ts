/**
 * Every notebook runs top to bottom, twice over:
 * 1. its code cells, extracted in order into a .ts file beside it, pass
 *    `deno check` and `deno run` (the kernel does not catch type errors,
 *    missing exports or unhandled rejections);
 * 2. the real Deno Jupyter kernel executes it headlessly (scripts/run_notebook.py),
 *    every cell succeeds, and chart and table cells really produce their
 *    Plotly/SVG and HTML outputs (none lost to the kernel's idle race), and
 *    every number its prose quotes is one a cell printed, a setting in its
 *    code, or in a committed file the prose names (tests/prose_numbers.ts).
 * Both with RLHF_NOTEBOOK_QUICK=1 (a few steps). 01 runs before 02, which
 * starts from 01's checkpoint. Part 2 is reported as ignored where Debian's
 * Jupyter packages are missing (CI installs them).
 */
import { join } from "node:path";
import { assert } from "./helpers.ts";
import { unsupportedProseNumbers } from "./prose_numbers.ts";

const DIR = new URL("../notebooks/", import.meta.url).pathname;
const NOTEBOOKS = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".ipynb")).sort();
const env = { RLHF_NOTEBOOK_QUICK: "1", NO_COLOR: "1" };

interface Cell {
  cell_type: string;
  source: string[];
  outputs?: unknown[];
}
const cellsOf = (name: string): Cell[] => JSON.parse(Deno.readTextFileSync(join(DIR, name))).cells;
const code = (cell: Cell) => cell.source.join("");

const hasJupyter = await new Deno.Command("/usr/bin/python3", {
  args: ["-c", "import jupyter_client, ipykernel"],
  stdout: "null",
  stderr: "null",
})
  .output().then((o) => o.success, () => false);

/** 01 starts from scratch each time (a finished checkpoint would skip its training). */
async function freshStart(name: string) {
  if (name.startsWith("01")) await Deno.remove(join(DIR, "../checkpoints/notebook-quick"), { recursive: true }).catch(() => {});
}

async function run(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, cwd, env: { ...env, ...extraEnv }, stdout: "piped", stderr: "piped" }).output();
  return { ok: out.success, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("notebooks exist, in the chapter's order, committed without outputs", () => {
  assert.deepEqual(NOTEBOOKS, [
    "01_pretrain_sft.ipynb",
    "02_reward_model.ipynb",
    "03_ppo.ipynb",
    "04_chat_and_evaluate.ipynb",
    "05_dpo.ipynb",
    "06_rloo_grpo.ipynb",
    "07_frontier.ipynb",
  ]);
  for (const name of NOTEBOOKS) {
    assert.ok(Deno.statSync(join(DIR, name)).size < 100_000, `${name} is large`);
    assert.ok(cellsOf(name).every((c) => (c.outputs ?? []).length === 0), `${name} has committed outputs`);
  }
});

for (const name of NOTEBOOKS) {
  Deno.test(`${name}: extracted code type-checks and runs top to bottom`, async () => {
    const script = join(DIR, `.check-${name.replace(".ipynb", ".ts")}`);
    await freshStart(name);
    await Deno.writeTextFile(script, cellsOf(name).filter((c) => c.cell_type === "code").map(code).join("\n\n") + "\n");
    try {
      const check = await run("deno", ["check", script], DIR);
      assert.ok(check.ok, `deno check ${name}:\n${check.stderr}`);
      const exec = await run("deno", ["run", "-A", script], DIR);
      assert.ok(exec.ok, `deno run ${name}:\n${exec.stderr.slice(-3000)}`);
    } finally {
      await Deno.remove(script);
    }
  });
}

/** The experiments a notebook's switch offers (the keys of its `const EXPERIMENTS = { … }`, "" left out). */
function experimentsOf(name: string): string[] {
  const block = cellsOf(name).map(code).join("\n").match(/const EXPERIMENTS(?::[^=]*)? = \{([\s\S]*?)\n\};/)?.[1] ?? "";
  return [...block.matchAll(/^\s*"?([\w.-]+)"?\s*:/gm)].map((m) => m[1]);
}

// Every experiment a notebook invites ("set EXPERIMENT to …") runs as written, at the quick size; a notebook that
// checkpoints what it trains (settingsDirectory) puts it in a directory of its own under checkpoints/…/experiments/,
// never the pipeline's, which the other notebooks read.
for (const name of NOTEBOOKS) {
  for (const experiment of experimentsOf(name)) {
    Deno.test(`${name}, EXPERIMENT=${experiment}: runs top to bottom, anything it trains in a directory of its own`, async () => {
      const experiments = join(DIR, "../checkpoints/notebook-quick/experiments");
      await Deno.remove(experiments, { recursive: true }).catch(() => {});
      const script = join(DIR, `.check-${name.replace(".ipynb", "")}-${experiment}.ts`);
      await Deno.writeTextFile(script, cellsOf(name).filter((c) => c.cell_type === "code").map(code).join("\n\n") + "\n");
      try {
        const exec = await run("deno", ["run", "-A", script], DIR, { RLHF_NOTEBOOK_EXPERIMENT: experiment });
        assert.ok(exec.ok, `${name} with EXPERIMENT=${experiment}:\n${exec.stderr.slice(-3000)}`);
        if (cellsOf(name).some((c) => code(c).includes("settingsDirectory("))) {
          const made = await Array.fromAsync(Deno.readDir(experiments)).catch(() => []);
          assert.ok(made.length > 0, `${name} with EXPERIMENT=${experiment} trained nothing under ${experiments}`);
        }
      } finally {
        await Deno.remove(script);
      }
    });
  }
}

for (const name of NOTEBOOKS) {
  Deno.test({
    name: `${name}: runs in the Deno Jupyter kernel with every chart and table shown`,
    ignore: !hasJupyter,
    fn: async () => {
      await freshStart(name);
      const out = await Deno.makeTempFile({ suffix: ".ipynb" });
      try {
        const runner = new URL("../scripts/run_notebook.py", import.meta.url).pathname;
        const result = await run("/usr/bin/python3", [runner, join(DIR, name), out], DIR);
        assert.ok(result.ok, `${name} failed in the kernel:\n${result.stderr.slice(-3000)}`);
        const executed: Cell[] = JSON.parse(await Deno.readTextFile(out)).cells;
        executed.forEach((cell, i) => {
          if (cell.cell_type !== "code") return;
          const mimes = new Set((cell.outputs as { data?: Record<string, unknown> }[]).flatMap((o) => Object.keys(o.data ?? {})));
          if (/(lossChart|rewardTrainingChart|lineChart|frontier\w*Chart)\(/.test(code(cell))) {
            assert.ok(mimes.has("application/vnd.plotly.v1+json") && mimes.has("image/svg+xml"), `${name} cell ${i}: chart output missing`);
          }
          if (/^(new Table|equalKlTable)\(/m.test(code(cell))) assert.ok(mimes.has("text/html"), `${name} cell ${i}: table output missing`);
        });
        // Every decimal or percentage the prose quotes is printed by a cell, set in the code, or in a committed file it names.
        const readRepoFile = (path: string) => {
          try {
            return Deno.readTextFileSync(join(DIR, "..", path));
          } catch {
            return undefined;
          }
        };
        assert.deepEqual(unsupportedProseNumbers(executed, readRepoFile), [], `${name}: prose quotes numbers that nothing shows`);
        // The offline page (deno task notebooks) shows every chart as SVG and every formula as MathML.
        const { notebookToHtml } = await import("../lib/report/notebook_html.ts");
        const html = notebookToHtml({ cells: executed } as Parameters<typeof notebookToHtml>[0], name);
        const charts = executed.flatMap((c) => c.outputs ?? []).filter((o) =>
          (o as { data?: object }).data && "image/svg+xml" in (o as { data: object }).data
        );
        assert.equal(html.match(/<div class="chart"><svg/g)?.length ?? 0, charts.length, `${name}: every chart in the HTML`);
        const formulas = executed.filter((c) =>
          c.cell_type === "markdown"
        ).map((c) => code(c)).join("\n").match(/\$\$[\s\S]+?\$\$|\$[^$\n]+?\$/g) ?? [];
        assert.equal(html.match(/<math/g)?.length ?? 0, formulas.length, `${name}: every formula as MathML`);
      } finally {
        await Deno.remove(out);
      }
    },
  });
}

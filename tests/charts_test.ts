import { lineChart } from "../lib/charts/figure.ts";
import { niceTicks } from "../lib/charts/svg.ts";
import { Table } from "../lib/charts/table.ts";
import { lossChart, smooth } from "../lib/charts/training.ts";
import { assert } from "./helpers.ts";

Deno.test("a chart displays as Plotly JSON with an SVG fallback, without Deno.jupyter", () => {
  const chart = lineChart({
    title: "损失 <loss>",
    xTitle: "step",
    yTitle: "loss",
    series: [{ name: "train", x: [1, 2, 3], y: [3, 2, 1.5] }],
  });
  const bundle = chart.mimeBundle();
  const fig = bundle["application/vnd.plotly.v1+json"] as { data: { x: number[]; y: number[]; name: string }[] };
  assert.deepEqual(fig.data[0].y, [3, 2, 1.5]);
  const svg = bundle["image/svg+xml"] as string;
  assert.match(svg, /^<svg /);
  assert.match(svg, /损失 &lt;loss&gt;/);
  assert.match(svg, /<polyline/);
  assert.throws(() => lineChart({ title: "t", xTitle: "", yTitle: "", series: [{ name: "a", x: [1], y: [] }] }), /1 x and 0 y/);
});

Deno.test("niceTicks() and smooth()", () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(3, 47), [10, 20, 30, 40]);
  assert.deepEqual(smooth([1, 3, 5, 7], 2), [1, 2, 4, 6]);
});

Deno.test("lossChart() draws train and held-out curves; Table renders HTML and text", () => {
  const chart = lossChart(
    { train: [{ step: 0, loss: 4, lr: 1, gradNorm: 1, tokensPerSecond: 1 }], eval: [{ step: 1, loss: 3.5 }] },
    "pretrain",
  );
  assert.equal(chart.spec.series.length, 2);
  const table = new Table(["prompt", "answer"], [["写诗", "床前<明月>光"]]);
  assert.match(table.html(), /床前&lt;明月&gt;光/);
  assert.equal(table.text(), "prompt | answer\n写诗 | 床前<明月>光");
  assert.throws(() => new Table(["a"], [["x", "y"]]), /row 0 has 2 cells, expected 1/);
});

/** What is wrong with a chart's SVG: legend entries on the plot, varying series flattened by another series' scale. */
async function chartProblems(spec: import("../lib/charts/chart_spec.ts").ChartSpec): Promise<string[]> {
  const { renderSvg } = await import("../lib/charts/svg.ts");
  const svg = renderSvg(spec);
  const axisY = Number(svg.match(/<line x1="64" y1="([\d.]+)" x2="700"/)![1]); // the x axis: the plot's bottom edge
  const plotHeight = axisY - 44;
  const problems: string[] = [];
  for (const m of svg.matchAll(/<g class="legend"><line x1="[\d.]+" y1="([\d.]+)"/g)) {
    if (Number(m[1]) <= axisY + 20) problems.push(`${spec.title}: a legend entry at y=${m[1]} is on the plot (x axis at ${axisY})`);
  }
  spec.series.forEach((s, i) => {
    const ys = s.y.filter(Number.isFinite);
    if (s.dashed || ys.length < 2 || Math.max(...ys) === Math.min(...ys)) return; // reference levels and constants are flat by design
    const drawn = [...svg.matchAll(new RegExp(`data-series="${i}"[^>]*points="([^"]+)"`, "g"))]
      .flatMap((m) => m[1].split(" ").map((p) => Number(p.split(",")[1])));
    const span = Math.max(...drawn) - Math.min(...drawn);
    if (span < 0.1 * plotHeight) problems.push(`${spec.title}: "${s.name}" drawn over ${span.toFixed(1)} of ${plotHeight} px`);
  });
  return problems;
}

Deno.test("charts of real runs: the legend sits below the plot, and no varying series is flattened by another's scale", async () => {
  const { heldoutGoldChart, heldoutKlChart, heldoutRewardChart } = await import("../lib/charts/training.ts");
  const read = (path: string) => JSON.parse(Deno.readTextFileSync(new URL(`../${path}`, import.meta.url)));
  const charts = [];
  for (const run of ["default", "overoptimisation", "ppo-gold", "ppo-lr3e-5", "rules"]) {
    const m = read(`docs/runs/${run}/metrics.json`);
    const curve = m.stages.ppo.heldout_curve;
    charts.push(heldoutGoldChart(curve, m.preference_part ?? undefined), heldoutRewardChart(curve), heldoutKlChart(curve));
  }
  charts.push(lossChart(read("models/gpt2-poetry-zh/training_log.json").history, "base pretraining"));
  for (const chart of charts) assert.deepEqual(await chartProblems(chart.spec), []);
  // The check can fail: gold (0–1) and KL (0–160 nats) of the over-optimisation run on one axis.
  const curve = read("docs/runs/overoptimisation/metrics.json").stages.ppo.heldout_curve;
  const mixed = lineChart({
    title: "mixed units",
    xTitle: "iteration",
    yTitle: "?",
    series: [
      { name: "gold", x: curve.map((p: { iteration: number }) => p.iteration), y: curve.map((p: { gold: number }) => p.gold) },
      { name: "KL", x: curve.map((p: { iteration: number }) => p.iteration), y: curve.map((p: { kl: number }) => p.kl) },
    ],
  });
  assert.match((await chartProblems(mixed.spec)).join("\n"), /"gold" drawn over/);
});

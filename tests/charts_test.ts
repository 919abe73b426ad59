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

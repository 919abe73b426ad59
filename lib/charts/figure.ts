/**
 * Charts for notebooks and reports: a Plotly figure (interactive in
 * JupyterLab and VS Code through `application/vnd.plotly.v1+json`) together
 * with a static SVG drawing of the same data, so an executed notebook or a
 * report stays readable where Plotly's MIME type is not rendered (classic
 * Notebook, nbconvert HTML, GitHub). Nothing here needs `Deno.jupyter`: the
 * Deno kernel shows any object with a `Symbol.for("Jupyter.display")` method.
 */
import { renderSvg } from "./svg.ts";
import { type ChartSpec, SERIES_COLORS } from "./chart_spec.ts";

export type { ChartSpec, Series } from "./chart_spec.ts";

/** A Plotly figure: `{ data, layout }` as plotly.js takes it. */
export interface PlotlyFigure {
  readonly data: Record<string, unknown>[];
  readonly layout: Record<string, unknown>;
}

/**
 * The Plotly figure (`{ data, layout }`) of a chart: what notebooks display interactively.
 *
 * @example
 * ```ts
 * import { plotlyFigure } from "rlhf";
 * const figure = plotlyFigure({ title: "loss", xTitle: "step", yTitle: "nats", series: [{ name: "train", x: [1, 2, 3], y: [3, 2.5, 2.2] }] });
 * figure.data.length; // 1 trace
 * ```
 */
export function plotlyFigure(spec: ChartSpec): PlotlyFigure {
  return {
    data: spec.series.flatMap((s, i) => {
      const color = SERIES_COLORS[(s.color ?? i) % SERIES_COLORS.length];
      const line = {
        type: "scatter",
        mode: s.mode ?? "lines",
        name: s.name,
        x: [...s.x],
        y: [...s.y],
        line: { color, ...(s.dashed ? { dash: "dash" } : {}) },
        marker: { color },
      };
      if (!s.band) return [line];
      // The band: its lower edge, then the upper edge filled down to it.
      const edge = { type: "scatter", mode: "lines", x: [...s.x], line: { width: 0, color }, showlegend: false, hoverinfo: "skip" };
      return [
        { ...edge, name: `${s.name} (low)`, y: [...s.band.low] },
        { ...edge, name: `${s.name} (high)`, y: [...s.band.high], fill: "tonexty", fillcolor: `${color}33` },
        line,
      ];
    }),
    layout: {
      title: { text: spec.title },
      xaxis: { title: { text: spec.xTitle } },
      yaxis: { title: { text: spec.yTitle } },
      // The legend below the plot, never on the data.
      legend: { orientation: "h", x: 0, xanchor: "left", y: -0.2, yanchor: "top" },
      width: 720,
      height: 400 + 20 * Math.ceil(spec.series.length / 3),
      margin: { l: 60, r: 20, t: 50, b: 50 + 20 * Math.ceil(spec.series.length / 3) },
    },
  };
}

/**
 * A chart that displays itself in the Deno Jupyter kernel (Plotly + SVG fallback).
 *
 * @example
 * ```ts
 * import { Chart } from "rlhf";
 * const chart = new Chart({ title: "loss", xTitle: "step", yTitle: "nats", series: [{ name: "train", x: [1, 2, 3], y: [3, 2.5, 2.2] }] });
 * Object.keys(chart.mimeBundle()); // ["application/vnd.plotly.v1+json", "image/svg+xml", "text/plain"]
 * // As the last expression of a notebook cell, the Deno kernel displays it.
 * ```
 */
export class Chart {
  readonly spec: ChartSpec;
  constructor(spec: ChartSpec) {
    for (const s of spec.series) {
      if (s.x.length !== s.y.length) {
        throw new Error(`chart "${spec.title}": series "${s.name}" has ${s.x.length} x and ${s.y.length} y values`);
      }
    }
    this.spec = spec;
  }

  /** The MIME bundle: interactive Plotly where supported, the SVG elsewhere. */
  mimeBundle(): Record<string, unknown> {
    const svg = renderSvg(this.spec);
    return {
      "application/vnd.plotly.v1+json": plotlyFigure(this.spec),
      "image/svg+xml": svg,
      "text/plain": `[chart] ${this.spec.title}`,
    };
  }

  [Symbol.for("Jupyter.display")](): Record<string, unknown> {
    return this.mimeBundle();
  }
}

/**
 * A line chart of one or more series.
 *
 * @example
 * ```ts
 * import { lineChart } from "rlhf";
 * lineChart({
 *   title: "held-out gold score",
 *   xTitle: "PPO iteration",
 *   yTitle: "score",
 *   series: [{ name: "PPO", x: [0, 10, 20], y: [0.42, 0.5, 0.55] }, { name: "SFT", x: [0, 20], y: [0.42, 0.42], dashed: true }],
 * }); // a Chart: the notebook shows it
 * ```
 */
export function lineChart(spec: ChartSpec): Chart {
  return new Chart(spec);
}

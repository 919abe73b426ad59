/**
 * Charts for notebooks and reports: a Plotly figure (interactive in
 * JupyterLab and VS Code through `application/vnd.plotly.v1+json`) together
 * with a static SVG drawing of the same data, so an executed notebook or a
 * report stays readable where Plotly's MIME type is not rendered (classic
 * Notebook, nbconvert HTML, GitHub). Nothing here needs `Deno.jupyter`: the
 * Deno kernel shows any object with a `Symbol.for("Jupyter.display")` method.
 */
import { renderSvg, SERIES_COLORS } from "./svg.ts";

/** One line (or set of markers) of a chart. */
export interface Series {
  readonly name: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  /** "lines" (default) or "markers" (scatter). */
  readonly mode?: "lines" | "markers";
  /** A shaded band around the line, e.g. ± 1 standard error: its lower and upper edge at each x. */
  readonly band?: { readonly low: readonly number[]; readonly high: readonly number[] };
  /** Draw dashed (reference levels, e.g. the SFT model's score). @default false */
  readonly dashed?: boolean;
}

export interface ChartSpec {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly series: readonly Series[];
}

/** A Plotly figure: `{ data, layout }` as plotly.js takes it. */
export interface PlotlyFigure {
  readonly data: Record<string, unknown>[];
  readonly layout: Record<string, unknown>;
}

export function plotlyFigure(spec: ChartSpec): PlotlyFigure {
  return {
    data: spec.series.flatMap((s, i) => {
      const color = SERIES_COLORS[i % SERIES_COLORS.length];
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
      width: 720,
      height: 400,
      margin: { l: 60, r: 20, t: 50, b: 50 },
    },
  };
}

/** A chart that displays itself in the Deno Jupyter kernel (Plotly + SVG fallback). */
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

/** A line chart of one or more series. */
export function lineChart(spec: ChartSpec): Chart {
  return new Chart(spec);
}

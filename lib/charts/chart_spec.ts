/** What a chart shows, independent of how it is drawn (Plotly in notebooks, SVG everywhere else). */

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
  /** Index into SERIES_COLORS, for series that belong together (a method's points and its envelope). @default the series' own index */
  readonly color?: number;
}

export interface ChartSpec {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly series: readonly Series[];
}

/** One colour per series, in order (the SVG drawing and the Plotly figure use the same). */
export const SERIES_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

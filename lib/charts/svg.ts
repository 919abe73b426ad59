/**
 * A small static SVG renderer for line/scatter charts: axes with a few ticks,
 * one colour per series, a legend below the plot (never on the data). It is
 * the fallback image of every chart (see figure.ts), so it must be readable,
 * not fancy.
 */
import { type ChartSpec, SERIES_COLORS } from "./chart_spec.ts";

const W = 720;
/** Height of the plot with its axes and titles; the legend's rows come below. */
const PLOT_H = 400;
const M = { l: 64, r: 20, t: 44, b: 52 };
const LEGEND_ROW = 20;

/** Rough width of a label in pixels at 12 px (CJK characters are about twice as wide as Latin ones). */
function labelWidth(text: string): number {
  return [...text].reduce((w, c) => w + (c.charCodeAt(0) > 0x2e80 ? 12 : 7), 0);
}

/** Legend entries laid out in rows under the plot: [series index, x, row]. */
function legendLayout(names: readonly string[]): { items: [number, number, number][]; rows: number } {
  const items: [number, number, number][] = [];
  let x = M.l;
  let row = 0;
  names.forEach((name, i) => {
    const width = 18 + labelWidth(name) + 24;
    if (x + width > W - M.r && x > M.l) [x, row] = [M.l, row + 1];
    items.push([i, x, row]);
    x += width;
  });
  return { items, rows: names.length ? row + 1 : 0 };
}
const COLORS = SERIES_COLORS;

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}

/** About five round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

export function renderSvg(spec: ChartSpec): string {
  const xs = spec.series.flatMap((s) => s.x.filter(Number.isFinite));
  const ys = spec.series.flatMap((s) => [...s.y, ...(s.band?.low ?? []), ...(s.band?.high ?? [])].filter(Number.isFinite));
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const legend = legendLayout(spec.series.map((s) => s.name));
  const H = PLOT_H + legend.rows * LEGEND_ROW;
  const bottom = PLOT_H - M.b; // the x axis
  const px = (x: number) => M.l + ((x - x0) / (x1 - x0 || 1)) * (W - M.l - M.r);
  const py = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - M.t);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(spec.title)}</text>`,
    `<line x1="${M.l}" y1="${bottom}" x2="${W - M.r}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${bottom}" stroke="#333"/>`,
  ];
  for (const t of niceTicks(x0, x1)) {
    parts.push(`<text x="${px(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${M.l}" y1="${py(t).toFixed(1)}" x2="${W - M.r}" y2="${py(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${M.l - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
  }
  parts.push(`<text x="${(M.l + W - M.r) / 2}" y="${PLOT_H - 12}" text-anchor="middle">${escapeXml(spec.xTitle)}</text>`);
  parts.push(
    `<text x="16" y="${(M.t + bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(M.t + bottom) / 2})">${
      escapeXml(spec.yTitle)
    }</text>`,
  );
  spec.series.forEach((s, i) => {
    const color = COLORS[(s.color ?? i) % COLORS.length];
    const points = s.x.map((x, k) => [x, s.y[k]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (s.band) {
      const edge = (ys: readonly number[]) => s.x.map((x, k) => [x, ys[k]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      const outline = [...edge(s.band.high), ...edge(s.band.low).reverse()];
      if (outline.length) {
        parts.push(
          `<polygon fill="${color}" fill-opacity="0.18" stroke="none" points="${
            outline.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ")
          }"/>`,
        );
      }
    }
    if (s.mode === "markers") {
      for (const [x, y] of points) {
        parts.push(
          `<circle data-series="${i}" cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}" fill-opacity="0.7"/>`,
        );
      }
    } else if (points.length) {
      parts.push(
        `<polyline data-series="${i}" fill="none" stroke="${color}" stroke-width="1.8"${
          s.dashed ? ' stroke-dasharray="6 4"' : ""
        } points="${points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ")}"/>`,
      );
    }
  });
  for (const [i, x, row] of legend.items) {
    const y = PLOT_H + row * LEGEND_ROW;
    const dash = spec.series[i].dashed ? ' stroke-dasharray="4 3"' : "";
    parts.push(
      `<g class="legend"><line x1="${x}" y1="${y + 2}" x2="${x + 14}" y2="${y + 2}" stroke="${
        COLORS[(spec.series[i].color ?? i) % COLORS.length]
      }" stroke-width="3"${dash}/>` +
        `<text x="${x + 18}" y="${y + 6}">${escapeXml(spec.series[i].name)}</text></g>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n");
}

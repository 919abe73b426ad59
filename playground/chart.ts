/// <reference lib="dom" />
/** A line chart in plain SVG (no library): one series, its points, its axis range and the latest value. */

const SVG = "http://www.w3.org/2000/svg";

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Draws `values` (x = 1, 2, …) into `svg`, replacing what it held; `band` draws ± its value around each point. */
export function drawLineChart(
  svg: SVGSVGElement,
  title: string,
  values: readonly number[],
  o: { color: string; band?: readonly number[] },
): void {
  const [W, H, L, R, T, B] = [300, 160, 40, 10, 22, 22];
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const lows = values.map((v, i) => v - (o.band?.[i] ?? 0));
  const highs = values.map((v, i) => v + (o.band?.[i] ?? 0));
  let [lo, hi] = values.length ? [Math.min(...lows), Math.max(...highs)] : [0, 1];
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const n = Math.max(2, values.length);
  const x = (i: number) => L + (i / (n - 1)) * (W - L - R);
  const y = (v: number) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const last = values.at(-1);
  svg.append(el("text", { x: L, y: 14, "font-size": 12 }, last === undefined ? title : `${title}: ${last.toFixed(3)}`));
  svg.append(el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }));
  svg.append(el("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
  svg.append(el("text", { x: L - 4, y: T + 4, "font-size": 9, "text-anchor": "end" }, hi.toFixed(2)));
  svg.append(el("text", { x: L - 4, y: H - B, "font-size": 9, "text-anchor": "end" }, lo.toFixed(2)));
  svg.append(el("text", { x: W - R, y: H - 6, "font-size": 9, "text-anchor": "end" }, `iteration ${values.length}`));
  if (o.band && values.length) {
    const upper = values.map((_, i) => `${x(i)},${y(highs[i])}`);
    const lower = values.map((_, i) => `${x(i)},${y(lows[i])}`).reverse();
    svg.append(el("polygon", { points: [...upper, ...lower].join(" "), fill: o.color, opacity: 0.15 }));
  }
  svg.append(
    el("polyline", { points: values.map((v, i) => `${x(i)},${y(v)}`).join(" "), fill: "none", stroke: o.color, "stroke-width": 2 }),
  );
  for (const [i, v] of values.entries()) svg.append(el("circle", { cx: x(i), cy: y(v), r: 2.5, fill: o.color }));
}

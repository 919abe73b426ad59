/**
 * An executed notebook as one offline HTML page, for readers without Jupyter:
 * the markdown rendered (markdown-it), every formula as MathML (temml: the
 * browser draws it, no fonts or scripts needed), the code, and each cell's
 * output — the SVG copy of every chart (the interactive Plotly copy needs
 * plotly.js and is left out), tables as HTML, text as text.
 *
 *   deno task notebooks      # executes the course and writes reports/notebooks/*.html
 */
import MarkdownIt from "markdown-it";
import temml from "temml";
import { escapeHtml } from "../charts/table.ts";

/** The parts of an .ipynb file this page reads. */
export interface NotebookJson {
  readonly cells: readonly {
    readonly cell_type: string;
    readonly source: string | readonly string[];
    readonly outputs?: readonly NotebookOutput[];
  }[];
}

interface NotebookOutput {
  readonly output_type: string;
  readonly data?: Readonly<Record<string, string | readonly string[]>>;
  readonly text?: string | readonly string[];
  readonly ename?: string;
  readonly evalue?: string;
}

const joined = (s: string | readonly string[] | undefined) => (Array.isArray(s) ? s.join("") : (s as string | undefined) ?? "");

const markdown = new MarkdownIt({ html: false, linkify: false });

/**
 * Markdown with TeX: `$$…$$` (display) and `$…$` (inline) become MathML; code spans are left alone.
 * The math is cut out before markdown sees it (so `_` and `*` inside a formula stay TeX) and put back after.
 */
export function markdownWithMath(text: string): string {
  const formulas: string[] = [];
  const protectedText = text.replace(/(`+)[\s\S]*?\1|\$\$([\s\S]+?)\$\$|\$([^$\n]+?)\$/g, (match, _ticks, display, inline) => {
    if (display === undefined && inline === undefined) return match; // a code span
    formulas.push(temml.renderToString(display ?? inline, { displayMode: display !== undefined, throwOnError: false }));
    return `@@MATH${formulas.length - 1}@@`;
  });
  return markdown.render(protectedText).replace(/@@MATH(\d+)@@/g, (_, i) => formulas[Number(i)]);
}

/** One output as HTML: the SVG of a chart, a table, an image, or text. */
function outputHtml(o: NotebookOutput): string {
  if (o.output_type === "stream") return `<pre class="out">${escapeHtml(stripAnsi(joined(o.text)))}</pre>`;
  if (o.output_type === "error") return `<pre class="out error">${escapeHtml(stripAnsi(`${o.ename}: ${o.evalue}`))}</pre>`;
  const data = o.data ?? {};
  if (data["image/svg+xml"]) return `<div class="chart">${joined(data["image/svg+xml"])}</div>`;
  if (data["text/html"]) return `<div class="html">${joined(data["text/html"])}</div>`;
  if (data["image/png"]) return `<img alt="" src="data:image/png;base64,${joined(data["image/png"]).trim()}">`;
  if (data["text/plain"]) return `<pre class="out">${escapeHtml(stripAnsi(joined(data["text/plain"])))}</pre>`;
  return "";
}

function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** The whole page. */
export function notebookToHtml(nb: NotebookJson, title: string): string {
  const body = nb.cells.map((cell) => {
    if (cell.cell_type === "markdown") return `<section class="md">${markdownWithMath(joined(cell.source))}</section>`;
    if (cell.cell_type !== "code") return "";
    const code = `<pre class="code"><code>${escapeHtml(joined(cell.source))}</code></pre>`;
    return `<section class="cell">${code}${(cell.outputs ?? []).map(outputHtml).join("\n")}</section>`;
  }).join("\n");
  return `<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; max-width: 60rem; margin: 1rem auto; padding: 0 1rem; line-height: 1.55; }
pre { overflow-x: auto; padding: .5rem; border-radius: 4px; }
/* Code wraps at the page's edge (a long line continues on the next, indentation kept); printed text output too.
   On screen, output keeps its columns and scrolls sideways inside its box. */
pre.code, .md pre { white-space: pre-wrap; overflow-wrap: anywhere; }
@media print { pre { white-space: pre-wrap; overflow-wrap: anywhere; } }
pre.code { background: #f5f5f5; font-size: .85rem; }
pre.out { background: #fff; border-left: 3px solid #ddd; font-size: .85rem; }
pre.error { border-left-color: #c00; color: #900; }
.chart svg, img { max-width: 100%; height: auto; }
.html { overflow-x: auto; }
table { border-collapse: collapse; font-size: .9rem; } td, th { border: 1px solid #ddd; padding: .2rem .4rem; }
math[display="block"] { margin: .8rem 0; overflow-x: auto; }
</style></head>
<body>
${body}
</body></html>
`;
}

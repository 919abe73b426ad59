/**
 * Every measured number in a notebook's prose must come from somewhere a reader can see: the notebook's
 * executed outputs, its code (a setting), or a committed file the same markdown cell names, which must
 * contain it. Prose that says "+0.01" beside a table that prints +0.157 fails here.
 *
 * A quoted number is a decimal (0.97, +0.15, 2.5) or a percentage (47 %, 47%); integers are counts and
 * sizes and are left alone, and so are formulas ($…$) and code spans (`…`). A source number supports a
 * quoted one when it rounds to it at the quoted number's precision (0.3424 supports 0.34; 0.47 supports
 * 47 %). A quoted sign must be written in the source too (+0.157 needs "+0.157…", where an unsigned
 * standard error of 0.0101 would otherwise support a claimed gain of +0.01); an unsigned quote takes any
 * sign (a gain of −0.115 is quoted as a drop of 0.115).
 */

export interface NotebookCell {
  cell_type: string;
  source: string[] | string;
  outputs?: unknown[];
}

/** A number quoted in prose: its text, value, decimals (a percentage counts as its fraction, two decimals more) and written sign. */
interface Quoted {
  readonly text: string;
  readonly value: number;
  readonly decimals: number;
  readonly sign: "+" | "-" | "";
}

/** A number written in a source, with the sign written before it ("" when none). */
interface Written {
  readonly value: number;
  readonly sign: "+" | "-" | "";
}

const signOf = (s: string | undefined) => (s === "+" ? "+" : s === "-" || s === "−" ? "-" : "");

const text = (c: NotebookCell) => (Array.isArray(c.source) ? c.source.join("") : c.source);

/** Files the prose may name as a number's source. */
const FILE_PATTERN = /(?:docs|data|lib|models|notebooks|reference)\/[\w./-]+\.\w+/g;

/** The decimals and percentages of a markdown cell, outside formulas, code spans and dotted names (127.0.0.1, v1.2.3). */
export function quotedNumbers(markdown: string): Quoted[] {
  const prose = markdown
    .replace(/\$\$[\s\S]+?\$\$|\$[^$\n]+?\$/g, " ")
    .replace(/`[^`]*`/g, " ")
    .replace(/\d+(?:\.\d+){2,}/g, " ");
  const quoted: Quoted[] = [];
  for (const m of prose.matchAll(/(?<![\w.])([+−-]?)(\d+(?:\.(\d+))?)( ?%)?(?![\d.]\d)/g)) {
    const [, sign, digits, fraction, percent] = m;
    if (!percent && fraction === undefined) continue; // an integer: a count or a size
    const decimals = (fraction?.length ?? 0) + (percent ? 2 : 0);
    quoted.push({ text: m[0].trim(), value: Number(digits) / (percent ? 100 : 1), decimals, sign: signOf(sign) });
  }
  return quoted;
}

/** Every number written in `source` (outputs, code, a file), with its sign. */
function numbersIn(source: string): Written[] {
  return [...source.matchAll(/([+−-]?)(\d+(?:\.\d+)?(?:e[+-]?\d+)?)/gi)].map((m) => ({ value: Number(m[2]), sign: signOf(m[1]) }));
}

const supports = (source: Written, q: Quoted) =>
  (q.sign === "" || q.sign === source.sign) && Math.abs(Number(source.value.toFixed(q.decimals)) - q.value) < 1e-9;

/** The text a code cell's outputs show (plain text, HTML, streams). */
function outputText(cell: NotebookCell): string {
  return (cell.outputs ?? []).map((o) => {
    const out = o as { text?: string | string[]; data?: Record<string, string | string[]> };
    const parts = [out.text ?? "", out.data?.["text/plain"] ?? "", out.data?.["text/html"] ?? ""];
    return parts.map((p) => (Array.isArray(p) ? p.join("") : p)).join("\n");
  }).join("\n");
}

/**
 * The quoted numbers of an executed notebook that nothing supports, as "cell N: 0.97". `readFile` reads a
 * named file relative to the repository (undefined when it does not exist: a file a reader makes, or a
 * wrong name, supports nothing).
 */
export function unsupportedProseNumbers(cells: readonly NotebookCell[], readFile: (path: string) => string | undefined): string[] {
  const code = cells.filter((c) => c.cell_type === "code");
  const notebookNumbers = numbersIn(code.map((c) => `${text(c)}\n${outputText(c)}`).join("\n"));
  const problems: string[] = [];
  cells.forEach((cell, i) => {
    if (cell.cell_type !== "markdown") return;
    const markdown = text(cell);
    const files = [...new Set(markdown.match(FILE_PATTERN) ?? [])].map((file) => ({ file, content: readFile(file) }));
    const fileNumbers = files.flatMap((f) => (f.content === undefined ? [] : numbersIn(f.content)));
    const named = files.map((f) => (f.content === undefined ? `${f.file} (which does not exist)` : f.file)).join(", ");
    for (const q of quotedNumbers(markdown)) {
      if (!notebookNumbers.some((n) => supports(n, q)) && !fileNumbers.some((n) => supports(n, q))) {
        problems.push(`cell ${i}: ${q.text} is in no output, no code${files.length ? ` and not in ${named}` : " and no named file"}`);
      }
    }
  });
  return problems;
}

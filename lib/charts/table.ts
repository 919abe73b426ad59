/**
 * A table that displays itself in notebooks (HTML) and as plain text
 * elsewhere: for samples side by side and score summaries.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}

/**
 * A table that notebooks show as HTML and everything else as text: samples side by side, score summaries.
 *
 * @example
 * ```ts
 * import { Table } from "rlhf";
 * const table = new Table(["model", "gold"], [["SFT", 0.42], ["PPO", 0.55]]);
 * table.text(); // "model | gold\nSFT | 0.42\nPPO | 0.55"
 * ```
 */
export class Table {
  constructor(readonly columns: readonly string[], readonly rows: readonly (readonly (string | number)[])[]) {
    for (const [i, row] of rows.entries()) {
      if (row.length !== columns.length) throw new Error(`table row ${i} has ${row.length} cells, expected ${columns.length}`);
    }
  }

  html(): string {
    const cell = (v: string | number, tag: string) =>
      `<${tag} style="text-align:left;white-space:pre-wrap">${escapeHtml(String(v))}</${tag}>`;
    return `<table><thead><tr>${this.columns.map((c) => cell(c, "th")).join("")}</tr></thead><tbody>${
      this.rows.map((r) => `<tr>${r.map((v) => cell(v, "td")).join("")}</tr>`).join("")
    }</tbody></table>`;
  }

  text(): string {
    return [this.columns.join(" | "), ...this.rows.map((r) => r.map((v) => String(v).replaceAll("\n", " / ")).join(" | "))].join("\n");
  }

  [Symbol.for("Jupyter.display")](): Record<string, string> {
    return { "text/html": this.html(), "text/plain": this.text() };
  }
}

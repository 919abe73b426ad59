/** The check that keeps the notebooks' prose honest (tests/prose_numbers.ts), on hand-made notebooks. */
import { assert } from "./helpers.ts";
import { quotedNumbers, unsupportedProseNumbers } from "./prose_numbers.ts";

const md = (source: string) => ({ cell_type: "markdown", source: [source] });
const cell = (source: string, shown: string) => ({ cell_type: "code", source: [source], outputs: [{ data: { "text/plain": shown } }] });

Deno.test("quotedNumbers(): decimals and percentages, not integers, formulas, code spans or addresses", () => {
  const q = quotedNumbers("PPO +0.157，明朗 47 % 对 21%，602 个请求，$0.95^{60}\\approx 0.05$，`--kl-coef 0.2`，http://127.0.0.1:8765/");
  assert.deepEqual(q.map((n) => [n.text, n.value, n.decimals]), [["+0.157", 0.157, 3], ["47 %", 0.47, 2], ["21%", 0.21, 2]]);
});

Deno.test("unsupportedProseNumbers(): a number the outputs, the code or a named file support passes; any other is named", () => {
  const files: Record<string, string> = { "docs/RESULTS.md": "| shares | 0.21 / 0.32 / 0.47 |" };
  const read = (path: string) => files[path];
  const notebook = [
    cell("const beta = 0.05;", "PPO − SFT +0.1574 ± 0.0101"),
    md("β = 0.05 时 PPO 提升 +0.157（上表），约 0.16。"),
    md("SFT 的回答 47% 哀愁、21% 明朗（`docs/RESULTS.md`）。"),
    md("PPO 的提升很小（+0.01 左右）。"),
    md("见 docs/MISSING.md：0.97 → 0.86。"),
  ];
  assert.deepEqual(unsupportedProseNumbers(notebook, read), [
    "cell 3: +0.01 is in no output, no code and no named file",
    "cell 4: 0.97 is in no output, no code and not in docs/MISSING.md (which does not exist)",
    "cell 4: 0.86 is in no output, no code and not in docs/MISSING.md (which does not exist)",
  ]);
});

/**
 * `deno task figures`: draws the held-out charts of a finished run
 * (reports/<run>/metrics.json, written by `deno task rlhf`) as SVG files for
 * the README and docs/ — the same charts the report starts with.
 *
 *   deno task figures reports/latest docs/figures/default
 *   deno task figures reports/overoptimisation docs/figures/overoptimisation
 */
import { renderSvg } from "../lib/charts/svg.ts";
import { heldoutGoldChart, heldoutKlChart, type HeldoutPoint, heldoutRewardChart } from "../lib/charts/training.ts";
import { writeTextFileAtomic } from "../lib/checkpoint/atomic.ts";
import { readJsonFile } from "../lib/fs.ts";
import { parseCommand, usageError } from "../lib/cli.ts";

const { positionals } = parseCommand({
  command: "deno task figures",
  summary: "Draw the held-out charts of a finished run (its metrics.json) as SVG files: <prefix>_gold.svg, _rm.svg, _kl.svg.",
  flags: {},
  positionals: "<run directory> <output prefix>",
  examples: ["deno task figures reports/latest docs/figures/default"],
});
const [runDir, outPrefix] = positionals;
if (!runDir || !outPrefix || positionals.length > 2) {
  usageError("expected two arguments: <run directory with metrics.json> <output prefix>");
}
const metricsPath = `${runDir}/metrics.json`;
const metrics = await readJsonFile(metricsPath).catch((err) => usageError((err as Error).message)) as {
  stages?: { ppo?: { heldout_curve?: HeldoutPoint[] } };
  preference_part?: string | null;
};
const curve = metrics.stages?.ppo?.heldout_curve;
if (!Array.isArray(curve) || curve.length === 0) usageError(`${metricsPath}: no "stages.ppo.heldout_curve" (written by deno task rlhf)`);
const part = metrics.preference_part ?? undefined;
const charts = { gold: heldoutGoldChart(curve, part), rm: heldoutRewardChart(curve), kl: heldoutKlChart(curve) };
await Deno.mkdir(new URL(".", `file://${Deno.cwd()}/${outPrefix}`).pathname, { recursive: true });
for (const [name, chart] of Object.entries(charts)) {
  await writeTextFileAtomic(`${outPrefix}_${name}.svg`, renderSvg(chart.spec) + "\n");
  console.log(`${outPrefix}_${name}.svg`);
}

/**
 * `deno task frontier`: every method along its leash, on the gold–KL plane. From the default run's SFT
 * model, rank lists and reward model (`deno task rlhf` first; reused, not retrained), a sweep of PPO, DPO,
 * RLOO and GRPO settings, each run measured at several checkpoints on the same held-out requests, plus
 * best-of-n for n = 1 … 32. Points go to docs/runs/frontier/points.jsonl as they are measured; a killed
 * sweep resumes where it stopped.
 *
 *   deno task frontier            # the default sweep
 *   deno task frontier --quick    # a small sweep from `deno task rlhf --quick`'s models, in minutes
 */
import { initBackend } from "../lib/backend.ts";
import { parseCommand, runMain } from "../lib/cli.ts";
import { loadTask } from "../lib/tasks/registry.ts";
import { FRONTIER_DEFAULTS, FRONTIER_QUICK, type FrontierOptions, runFrontier } from "../lib/frontier/run_frontier.ts";
import { frontierSummary } from "../lib/frontier/summary.ts";
import { frontierGoldChart, frontierProxyChart } from "../lib/frontier/frontier_chart.ts";
import { renderSvg } from "../lib/charts/svg.ts";
import { writeTextFileAtomic } from "../lib/checkpoint/atomic.ts";
import { dirname } from "node:path";

const { values } = parseCommand({
  command: "deno task frontier",
  summary:
    "The methods compared at equal KL: a sweep of each method's leash from the default run's SFT model and reward model, measured on the same held-out requests, with best-of-n beside them.",
  flags: {
    quick: { type: "boolean", default: false, help: "a small sweep from `deno task rlhf --quick`'s models, in minutes" },
    from: {
      type: "string",
      value: "DIR",
      help: "the checkpoint root of the run whose sft/ and rm/ the sweep starts from (default checkpoints)",
    },
    points: {
      type: "string",
      value: "FILE",
      help: `where the points go (default ${FRONTIER_DEFAULTS.pointsPath}; a file of other models' points is refused)`,
    },
    "checkpoint-root": {
      type: "string",
      value: "DIR",
      help: `where each sweep run keeps its checkpoint (default ${FRONTIER_DEFAULTS.checkpointRoot})`,
    },
  },
  examples: ["deno task frontier", "deno task frontier --quick"],
});
const options: Partial<FrontierOptions> = {
  ...(values.quick ? FRONTIER_QUICK : {}),
  ...(values.from
    ? { sftDir: `${values.from}/sft${values.quick ? "-quick" : ""}`, rmDir: `${values.from}/rm${values.quick ? "-quick" : ""}` }
    : {}),
  ...(values.points ? { pointsPath: values.points as string } : {}),
  ...(values["checkpoint-root"] ? { checkpointRoot: values["checkpoint-root"] as string } : {}),
};

await runMain(async () => {
  await initBackend();
  const started = performance.now();
  const task = await loadTask();
  const points = await runFrontier(task, options);
  const summary = frontierSummary(points, task.preference?.part);
  console.log(summary);
  // The figure and the summary beside the points: the gold against KL and √KL, the proxy against KL.
  const dir = dirname(options.pointsPath ?? FRONTIER_DEFAULTS.pointsPath);
  const figures = {
    "gold_kl.svg": frontierGoldChart(points),
    "gold_sqrt_kl.svg": frontierGoldChart(points, "sqrt-kl"),
    "proxy_kl.svg": frontierProxyChart(points),
  };
  for (const [name, chart] of Object.entries(figures)) await writeTextFileAtomic(`${dir}/${name}`, renderSvg(chart.spec) + "\n");
  await writeTextFileAtomic(`${dir}/summary.txt`, summary + "\n");
  console.log(`figures and summary: ${Object.keys(figures).map((f) => `${dir}/${f}`).join(", ")}, ${dir}/summary.txt`);
  console.log(
    `\n${points.length} points in ${options.pointsPath ?? FRONTIER_DEFAULTS.pointsPath} (${
      ((performance.now() - started) / 60_000).toFixed(1)
    } min)`,
  );
});

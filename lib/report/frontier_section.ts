/**
 * The report's "methods at equal KL" section: the gold–KL frontier that `deno task frontier` measured from
 * a default run's SFT and reward models (each method's checkpoints, envelope and best-of-n's curve; the
 * proxy beside it; the gold at equal KL), with this run's PPO placed on it. Without a points file the
 * section says how to make one, so a reader of a single run is never left with gains at different KL.
 */
import { escapeHtml } from "../charts/table.ts";
import { renderSvg } from "../charts/svg.ts";
import type { FrontierPoint } from "../frontier/points.ts";
import { equalKlTable } from "../frontier/summary.ts";
import { frontierGoldChart, frontierProxyChart } from "../frontier/frontier_chart.ts";
import type { PipelineResult } from "../pipeline/pipeline.ts";

/** A frontier the report shows: its points and the file they were read from. */
export interface ReportFrontier {
  readonly path: string;
  readonly points: readonly FrontierPoint[];
}

export function frontierSection(r: PipelineResult, frontier: ReportFrontier | undefined): string {
  const head = "<h2>The methods at equal KL: the gold–KL frontier</h2>";
  const ppo = `This run's PPO ends at KL ${r.ppo.after.kl.toFixed(2)} nats with gold ${r.ppo.after.gold.toFixed(3)} on its held-out view.`;
  if (!frontier?.points.length) {
    return `${head}<p>${escapeHtml(ppo)} No frontier points at ${escapeHtml(frontier?.path ?? "its points file")}: ` +
      `<code>deno task frontier</code> sweeps each method's leash from this run's SFT and reward models and draws them at equal KL.</p>`;
  }
  const charts = [frontierGoldChart(frontier.points), frontierGoldChart(frontier.points, "sqrt-kl"), frontierProxyChart(frontier.points)];
  return `${head}<p>${escapeHtml(ppo)} Each method buys gold with distance from SFT, so methods are compared at the same KL: ` +
    `every point below is one checkpoint of a sweep run (${frontier.points.length} points from ${escapeHtml(frontier.path)}, ` +
    `made by <code>deno task frontier</code> from a default run's SFT and reward models), each line a method's upper envelope, ` +
    `best-of-n's KL exact (log n − (n−1)/n). Where the reward-model score keeps rising while the gold turns, the method ` +
    `over-optimises the proxy.</p>${charts.map((c) => renderSvg(c.spec)).join("\n")}${equalKlTable(frontier.points).html()}`;
}

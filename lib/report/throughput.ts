/**
 * Each stage's throughput: tokens sampled and tokens trained per second (the
 * counters of lib/work.ts, read around each stage), beside what `deno task
 * bench` measured for a model of the same shape on the same machine, when its
 * results file is there.
 */
import type { StageTiming } from "../pipeline/stage_timer.ts";
import type { GPT2Config } from "../gpt2/config.ts";
import { tokensPerSecond, type Work, type WorkKind } from "../work.ts";
import { type BenchRecord, benchRowFor } from "../bench/bench_record.ts";
import { Table } from "../charts/table.ts";

const KINDS: readonly WorkKind[] = ["generate", "train"];

/** metrics.json's `throughput` of one stage: for each kind of work, tokens, seconds and their rate (null when none was done). */
export function stageThroughput(work: Record<WorkKind, Work> | undefined) {
  return Object.fromEntries(KINDS.map((kind) => {
    const w = work?.[kind] ?? { tokens: 0, seconds: 0 };
    return [kind, { tokens: w.tokens, seconds: w.seconds, tokens_per_second: tokensPerSecond(w) }];
  })) as Record<WorkKind, { tokens: number; seconds: number; tokens_per_second: number | null }>;
}

/**
 * The bench's rates for this model on this machine, if `deno task bench` wrote them (null otherwise); the caller passes
 * only a record of the run's own kernels (recordOfBuild).
 */
export function benchReference(bench: BenchRecord | undefined, config: GPT2Config, machine: string) {
  const row = bench && bench.machine === machine ? benchRowFor(bench, config) : undefined;
  return row
    ? {
      date: bench!.date,
      config: row.config,
      train_tokens_per_second: row.train_tokens_per_second,
      generate_tokens_per_second: row.generate_tokens_per_second,
    }
    : null;
}

/** The report's throughput table: a row per stage that sampled or trained, with its share of the bench's rate. */
export function throughputTable(timings: readonly StageTiming[], bench: ReturnType<typeof benchReference>): Table {
  const share = (value: number | null, of: number | undefined) =>
    value !== null && of ? ` (${(100 * value / of).toFixed(0)} % of bench)` : "";
  const cell = (w: Work, of: number | undefined) => {
    const r = tokensPerSecond(w);
    return r === null
      ? "—"
      : `${Math.round(r).toLocaleString("en")}${share(r, of)}; ${Math.round(w.tokens).toLocaleString("en")} in ${w.seconds.toFixed(1)} s`;
  };
  return new Table(
    ["stage", "sampled tok/s", "trained tok/s (positions forward + backward)"],
    timings.filter((t) => t.work.generate.tokens > 0 || t.work.train.tokens > 0).map((t) => [
      t.stage,
      cell(t.work.generate, bench?.generate_tokens_per_second),
      cell(t.work.train, bench?.train_tokens_per_second),
    ]),
  );
}

/** One console line: each stage's sampled and trained tokens per second. */
export function throughputLine(timings: readonly StageTiming[]): string {
  const part = (label: string, w: Work) => {
    const r = tokensPerSecond(w);
    return r === null ? [] : [`${label} ${(r / 1000).toFixed(1)}k tok/s`];
  };
  const stages = timings.flatMap((t) => {
    const parts = [...part("sampled", t.work.generate), ...part("trained", t.work.train)];
    return parts.length ? [`${t.stage} ${parts.join(", ")}`] : [];
  });
  return `throughput: ${stages.length ? stages.join("; ") : "nothing sampled or trained in this session"}`;
}

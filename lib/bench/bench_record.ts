/**
 * What `deno task bench` measured, kept in a file so that a run's report can
 * set each stage's throughput beside the bench's rate for the same model shape
 * on the same machine and kernels (a record of another machine or build is not used).
 */
import type { GPT2Config } from "../gpt2/config.ts";
import { writeJsonAtomic } from "../checkpoint/atomic.ts";
import { pathExists, repoPath } from "../fs.ts";
import { platform } from "../platform/platform.ts";

/** The model shape a bench row measured. */
export type BenchShape = Pick<GPT2Config, "n_layer" | "n_head" | "n_embd" | "vocab_size" | "n_positions">;

export interface BenchRow {
  /** The bench's name for the config, e.g. "gpt2-micro v2048". */
  readonly config: string;
  readonly shape: BenchShape;
  /** Training: positions forward + backward per second (batch × seq per step). */
  readonly train_tokens_per_second: number;
  /** Generation: new tokens per second. */
  readonly generate_tokens_per_second: number;
}

export interface BenchRecord {
  readonly date: string;
  /** machineLine() of the machine that ran the bench. */
  readonly machine: string;
  readonly backend: string;
  /** kernelsBuild() of the bench (the C kernels' flags, OpenBLAS' core type); absent in older records, which then match no run. */
  readonly build?: string;
  readonly rows: readonly BenchRow[];
}

/** Where `deno task bench` writes its record and `deno task rlhf` reads it. */
export const BENCH_RECORD_PATH = "reports/bench/latest.json";

/** `record` if it was measured with the kernels `build` (kernelsBuild() of lib/fast/native_kernels.ts), else undefined. */
export function recordOfBuild(record: BenchRecord | undefined, build: string): BenchRecord | undefined {
  return record?.build === build ? record : undefined;
}

/** The bench's row for a model of `config`'s shape (layers, heads, width, vocabulary), if it measured one. */
export function benchRowFor(record: BenchRecord, config: BenchShape): BenchRow | undefined {
  const keys = ["n_layer", "n_head", "n_embd", "vocab_size"] as const;
  return record.rows.find((row) => keys.every((k) => row.shape[k] === config[k]));
}

/** The record at `path` (default: the repository's), or undefined if there is none or it is not a bench record. */
export async function readBenchRecord(path = repoPath(BENCH_RECORD_PATH)): Promise<BenchRecord | undefined> {
  if (!(await pathExists(path))) return undefined;
  try {
    const record = JSON.parse(await platform().readTextFile(path));
    return typeof record?.machine === "string" && Array.isArray(record.rows) ? record as BenchRecord : undefined;
  } catch {
    return undefined; // a damaged record only loses the comparison, never the run
  }
}

/**
 * `fresh` with the rows of `old` it did not measure again (a `--quick` bench keeps the other configs' rows), when
 * both are of the same machine, backend and kernels' build; else `fresh` alone.
 */
export function mergeBenchRecords(old: BenchRecord | undefined, fresh: BenchRecord): BenchRecord {
  if (!old || old.machine !== fresh.machine || old.backend !== fresh.backend || old.build !== fresh.build) return fresh;
  const measured = new Set(fresh.rows.map((r) => r.config));
  return { ...fresh, rows: [...fresh.rows, ...old.rows.filter((r) => !measured.has(r.config))] };
}

/** Writes the record atomically (a bench cut off never leaves half a file). */
export async function writeBenchRecord(record: BenchRecord, path = repoPath(BENCH_RECORD_PATH)): Promise<void> {
  await platform().mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await writeJsonAtomic(path, record);
}

/**
 * Runs reference/bench_torch.py (the PyTorch half of the benchmark) on the
 * same config and reads its one line of JSON. PyTorch is optional: Debian's
 * `python3-torch`, run by /usr/bin/python3, with OpenBLAS (OpenMP build) when
 * it is installed, as a fair baseline (see reference/README.md).
 */
import type { GPT2Config } from "../gpt2/config.ts";
import type { GenBenchOptions } from "./measure.ts";
import type { KernelTime } from "./kernel_profile.ts";
import { pathExists } from "../fs.ts";
import { chooseOpenBlasCoreType } from "../backend.ts";

const PYTHON = "/usr/bin/python3";
/** Debian's multiarch directory of the OpenMP build of OpenBLAS (Linux only). */
const OPENBLAS_OPENMP = `/usr/lib/${Deno.build.arch}-linux-gnu/openblas-openmp`;

export interface TorchBenchResult {
  train_tokens_per_s: number;
  train_step_ms_median: number;
  gen_tokens_per_s: number;
  gen_ms_median: number;
  threads: number;
  torch: string;
  blas: string;
  /** With `profile`: each op's self CPU time per training step, and the step's wall time with the profiler on. */
  train_profile?: TorchOpProfile;
  /** With `profile`: the same per generation run (prompt + all new tokens). */
  gen_profile?: TorchOpProfile;
}

/** torch.profiler's view of one repeat: ops by self CPU time, largest first. */
export interface TorchOpProfile {
  wall_ms: number;
  ops: KernelTime[];
}

/** True when /usr/bin/python3 can import torch. */
export async function torchAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command(PYTHON, { args: ["-c", "import torch"], stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * On Linux, whether PyTorch will run on the OpenMP build of OpenBLAS (Debian
 * `libopenblas0-openmp`). Without it Debian's PyTorch runs its OpenMP
 * threads beside OpenBLAS' own pthreads on the same cores: 3–4× slower on
 * the project's 2-core machines, which would make the ratios meaningless.
 * Elsewhere (macOS) there is no such package: true.
 */
export async function torchHasOpenMpBlas(): Promise<boolean> {
  return Deno.build.os !== "linux" || await pathExists(OPENBLAS_OPENMP);
}

/** Runs the PyTorch benchmark with the same protocol as lib/bench/measure.ts. */
export async function runTorchBench(
  config: GPT2Config,
  train: { batch: number; seq: number; warmup: number; steps: number; seed: number },
  gen: GenBenchOptions,
  options: { profile?: boolean } = {},
): Promise<TorchBenchResult> {
  const script = new URL("../../reference/bench_torch.py", import.meta.url).pathname;
  const modelConfig = {
    vocab_size: config.vocab_size,
    n_positions: config.n_positions,
    n_embd: config.n_embd,
    n_layer: config.n_layer,
    n_head: config.n_head,
  };
  const env: Record<string, string> = { OMP_NUM_THREADS: "2" };
  if (await pathExists(OPENBLAS_OPENMP)) env.LD_LIBRARY_PATH = OPENBLAS_OPENMP;
  // The same OpenBLAS kernel family as our side uses (see chooseOpenBlasCoreType): a fair comparison.
  const core = chooseOpenBlasCoreType();
  if (core) env.OPENBLAS_CORETYPE = core;
  const args = [
    script,
    "--config",
    JSON.stringify(modelConfig),
    "--batch",
    String(train.batch),
    "--seq",
    String(train.seq),
    "--train-steps",
    String(train.steps),
    "--warmup",
    String(train.warmup),
    "--gen-batch",
    String(gen.batch),
    "--gen-prompt",
    String(gen.promptLength),
    "--gen-new",
    String(gen.newTokens),
    "--gen-warmup",
    String(gen.warmup),
    "--gen-runs",
    String(gen.runs),
    "--threads",
    "2",
    "--seed",
    String(train.seed),
    ...(options.profile ? ["--profile"] : []),
  ];
  const out = await new Deno.Command(PYTHON, { args, env, stdout: "piped", stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`reference/bench_torch.py failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(stdout.split("\n").at(-1)!) as TorchBenchResult;
}

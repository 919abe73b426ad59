/**
 * `deno task bench`: training and generation throughput of this project's
 * GPT-2 on the chosen tfjs backend, and — where PyTorch is installed — of the
 * PyTorch reference on the same configs in the same run, printed as ratios.
 *
 * The last line reads `bench: train_ratio=X gen_ratio=Y` for the default tiny
 * preset (this project ÷ PyTorch), or `n/a` without PyTorch.
 *
 *   deno task bench            # all configs
 *   deno task bench --quick    # the default preset only, fewer repetitions
 *   deno task bench --book     # the book's model size (12 × 768, vocab 21,128), random weights
 *
 * A shared machine's noise only ever slows a measurement down, and it comes
 * and goes over seconds: so each config is measured in several rounds that
 * alternate this project and PyTorch, and each side's best round counts
 * (the lowest, median and highest per-round ratios are printed too).
 */
import { initBackend } from "../lib/backend.ts";
import { machineLine } from "../lib/machine.ts";
import { kernelsBuild, nativeKernelsBuild } from "../lib/fast/native_kernels.ts";
import { parseCommand } from "../lib/cli.ts";
import { tf } from "../lib/tf.ts";
import { type GPT2Config, resolveGPT2Config } from "../lib/gpt2/config.ts";
import { measureGeneration, measureTraining, median, type Throughput } from "../lib/bench/measure.ts";
import { runTorchBench, torchAvailable, type TorchBenchResult, torchHasOpenMpBlas } from "../lib/bench/torch_reference.ts";
import { measureMatmulPeak, trainingStepFlops } from "../lib/bench/flops.ts";
import { formatKernelProfile, profileKernels } from "../lib/bench/kernel_profile.ts";
import {
  type BenchRecord,
  type BenchRow,
  benchRowFor,
  mergeBenchRecords,
  readBenchRecord,
  recordOfBuild,
  writeBenchRecord,
} from "../lib/bench/bench_record.ts";
import { bookSizeEstimate, type StageWork } from "../lib/bench/book_estimate.ts";

/** The default run's report numbers, where `deno task rlhf` writes them (the book-size estimate reads its stages). */
const LATEST_METRICS = "reports/latest/metrics.json";

const { values } = parseCommand({
  command: "deno task bench",
  summary: "Training and generation throughput of this project's GPT-2 against PyTorch on the same configs, in one run, as ratios.",
  flags: {
    quick: { type: "boolean", default: false, help: "the default preset only, fewer repetitions" },
    book: {
      type: "boolean",
      default: false,
      help: "the book's model size only (uer/gpt2-chinese-cluecorpussmall: 12 × 768, vocab 21,128; random weights): minutes",
    },
    profile: {
      type: "boolean",
      default: false,
      help: "time every kernel of a training step and of a generation, ours and PyTorch's ops beside them, and stop",
    },
  },
  examples: ["deno task bench", "deno task bench --quick", "deno task bench --book", "deno task bench --profile --quick"],
});
const quick = values.quick === true || values.book === true;
const backend = await initBackend();
// Name the machine class: the ratios depend on the CPU's vector units and on which kernels BLAS and the C compiler chose.
console.log(`[bench] ${
  JSON.stringify({
    machine: machineLine(),
    backend,
    openblas_coretype: Deno.env.get("OPENBLAS_CORETYPE") ?? null,
    native_kernels_build: nativeKernelsBuild() ?? null,
  })
}`);

interface BenchCase {
  name: string;
  config: GPT2Config;
  batch: number;
  seq: number;
}
const cases: BenchCase[] = [
  // The default: the TOOLCHAIN.md reference config (4 layers, C=128, vocab 2048, T=128, batch 8).
  { name: "gpt2-micro v2048", config: resolveGPT2Config({ preset: "gpt2-micro", vocab_size: 2048 }), batch: 8, seq: 128 },
  { name: "gpt2-nano v2048", config: resolveGPT2Config({ preset: "gpt2-nano", vocab_size: 2048 }), batch: 8, seq: 128 },
  { name: "gpt2-micro v50257", config: resolveGPT2Config({ preset: "gpt2-micro", vocab_size: 50257 }), batch: 4, seq: 64 },
  // The default run's model (models/gpt2-poetry-zh: gpt2-micro with the task's vocabulary): the rate its stages are set beside.
  {
    name: "gpt2-micro v5676 (the default run's model)",
    config: resolveGPT2Config({ preset: "gpt2-micro", vocab_size: 5676 }),
    batch: 8,
    seq: 128,
  },
];
// The model the book fine-tunes, at the shapes a CPU can take (its 1024 positions are there; 64 are used).
const bookCase: BenchCase = {
  name: "book size 12 × 768 v21128",
  config: resolveGPT2Config({ preset: "gpt2", vocab_size: 21128, n_positions: 1024 }),
  batch: 4,
  seq: 64,
};
// --quick: the headline config and the default run's model (the rate the run's report sets its stages beside).
const selected = values.book ? [bookCase] : quick ? [cases[0], cases[3]] : cases;
const steps = quick ? 3 : 6;
const gen = values.book
  ? { batch: 4, promptLength: 8, newTokens: 32, warmup: 1, runs: 2, seed: 0 }
  : { batch: 8, promptLength: 8, newTokens: 64, warmup: 8, runs: quick ? 2 : 3, seed: 0 }; // warm-up: see GenBenchOptions
const withTorch = await torchAvailable();
if (!withTorch) console.log("[bench] PyTorch not found (/usr/bin/python3 -c 'import torch'): reporting this project only");
if (withTorch && !(await torchHasOpenMpBlas())) {
  console.log(
    "[bench] WARNING: libopenblas0-openmp is not installed, so PyTorch runs with oversubscribed threads (3–4× slower here):" +
      " the ratios below flatter this project. Install it (apt-get install libopenblas0-openmp) for a fair comparison.",
  );
}

if (values.profile) {
  for (const c of selected) await profileCase(c);
  Deno.exit(0);
}

const peak = await measureMatmulPeak();
console.log(`[bench] matmul peak on this backend (best 2048³ tf.matMul): ${(peak / 1e9).toFixed(1)} GFLOP/s`);
const rows: Record<string, string | number>[] = [];
const record: BenchRow[] = [];
let headline: { train?: number; gen?: number } = {};
// Five rounds: with three, the median per-round ratio of the same code moved by up to ±0.1 from run to run on a
// quiet 2-vCPU VM (gpt2-micro, AVX2 path: 1.47–1.67 over ten runs), as the two sides' rates drift apart between rounds.
const rounds = quick ? 2 : 5;
for (const c of selected) {
  const tensorsBefore = tf.memory().numTensors;
  const ours: { train: Throughput; generation: Throughput }[] = [];
  const torch: TorchBenchResult[] = [];
  for (let round = 0; round < rounds; round++) {
    ours.push({
      train: await measureTraining(c.config, { batch: c.batch, seq: c.seq, warmup: 2, steps, seed: 0 }),
      generation: await measureGeneration(c.config, gen),
    });
    if (withTorch) torch.push(await runTorchBench(c.config, { batch: c.batch, seq: c.seq, warmup: 2, steps, seed: 0 }, gen));
  }
  const best = <T>(items: T[], value: (x: T) => number) => items.reduce((a, b) => (value(b) > value(a) ? b : a));
  const train = best(ours, (o) => o.train.tokensPerSecond).train;
  const generation = best(ours, (o) => o.generation.tokensPerSecond).generation;
  const row: Record<string, string | number> = {
    config: c.name,
    "train tok/s": Math.round(train.tokensPerSecond),
    "gen tok/s": Math.round(generation.tokensPerSecond),
    "train % of matmul peak": +((100 * trainingStepFlops(c.config, c.batch, c.seq)) / (train.medianMs / 1000) / peak).toFixed(1),
    "train peak MB": +(Math.max(...ours.map((o) => o.train.peakBytes)) / 2 ** 20).toFixed(1),
    "gen peak MB": +(Math.max(...ours.map((o) => o.generation.peakBytes)) / 2 ** 20).toFixed(1),
    "process RSS MB": Math.round(Math.max(...ours.map((o) => Math.max(o.train.peakRssBytes, o.generation.peakRssBytes))) / 2 ** 20),
    // the same count after every step, and nothing left once a round's model and optimizer are disposed
    "tensors flat": String(
      ours.every((o) => new Set(o.train.numTensorsAfter).size === 1 && new Set(o.generation.numTensorsAfter).size === 1) &&
        tf.memory().numTensors === tensorsBefore,
    ),
  };
  if (withTorch) {
    const torchTrain = Math.max(...torch.map((t) => t.train_tokens_per_s));
    const torchGen = Math.max(...torch.map((t) => t.gen_tokens_per_s));
    row["torch train tok/s"] = Math.round(torchTrain);
    row["torch gen tok/s"] = Math.round(torchGen);
    row["train ratio"] = +(train.tokensPerSecond / torchTrain).toFixed(3);
    row["gen ratio"] = +(generation.tokensPerSecond / torchGen).toFixed(3);
    // Lowest, median and highest of the per-round ratios (each round: ours ÷ PyTorch's run right after it).
    const spread = (r: number[]) => [Math.min(...r), median(r), Math.max(...r)].map((x) => x.toFixed(2)).join(" / ");
    row["train ratio per round (min / median / max)"] = spread(ours.map((o, i) => o.train.tokensPerSecond / torch[i].train_tokens_per_s));
    row["gen ratio per round (min / median / max)"] = spread(ours.map((o, i) => o.generation.tokensPerSecond / torch[i].gen_tokens_per_s));
    if (c === selected[0]) headline = { train: row["train ratio"] as number, gen: row["gen ratio"] as number };
  }
  rows.push(row);
  record.push({
    config: c.name,
    shape: {
      n_layer: c.config.n_layer,
      n_head: c.config.n_head,
      n_embd: c.config.n_embd,
      vocab_size: c.config.vocab_size,
      n_positions: c.config.n_positions,
    },
    train_tokens_per_second: train.tokensPerSecond,
    generate_tokens_per_second: generation.tokensPerSecond,
  });
  console.log(`[bench] ${JSON.stringify(row)}`);
  if ((row["train % of matmul peak"] as number) > 100) {
    console.log(
      "[bench] WARNING: the step ran above the measured matmul peak: the peak varies from run to run (and a busy machine lowers it)",
    );
  }
}
console.log(
  `\nbackend: ${backend}, tfjs ${tf.version_core}, train batch×seq as listed, generation batch ${gen.batch}, prompt ${gen.promptLength}, ${gen.newTokens} new tokens; best of ${rounds} alternating rounds per side`,
);
console.table(rows);
const fmt = (x?: number) => (x === undefined ? "n/a" : x.toFixed(3));
// For the report of deno task rlhf on this machine: its stages' throughput beside these rates.
const previous = await readBenchRecord();
await writeBenchRecord(
  mergeBenchRecords(previous, { date: new Date().toISOString(), machine: machineLine(), backend, build: kernelsBuild(), rows: record }),
);
if (values.book) printBookEstimate(previous, record[0], await readRunMetrics(LATEST_METRICS));
console.log(`bench: train_ratio=${fmt(headline.train)} gen_ratio=${fmt(headline.gen)}`);

/** Where a training step's and a generation's time goes, kernel by kernel, and PyTorch's ops on the same config. */
async function profileCase({ name, config, batch, seq }: BenchCase): Promise<void> {
  const train = { batch, seq, warmup: 0, steps: 10, seed: 0 };
  await measureTraining(config, { ...train, warmup: 3, steps: 1 }); // first-use costs stay out of the profile
  const trained = await profileKernels(() => measureTraining(config, train));
  console.log(
    `\n[bench] ${name}, batch ${batch} × ${seq}: kernels of ${train.steps} training steps, median step ${
      trained.result.medianMs.toFixed(1)
    } ms`,
  );
  console.log(formatKernelProfile(trained.kernels, train.steps, trained.result.medianMs));
  await measureGeneration(config, gen); // compiled paths, as in the timed rounds
  const generated = await profileKernels(() => measureGeneration(config, { ...gen, warmup: 0, runs: 2 }));
  console.log(
    `\n[bench] ${name}: kernels of a generation (batch ${gen.batch}, ${gen.newTokens} new tokens), median ${
      generated.result.medianMs.toFixed(1)
    } ms`,
  );
  console.log(formatKernelProfile(generated.kernels, 2, generated.result.medianMs, { per: "run", outside: "outside kernels (JS)" }));
  if (!withTorch) return;
  const torch = await runTorchBench(config, { ...train, warmup: 3 }, { ...gen, runs: 1 }, { profile: true });
  for (const [what, per, p] of [["training step", "step", torch.train_profile], ["generation", "run", torch.gen_profile]] as const) {
    if (!p) continue;
    console.log(
      `\n[bench] ${name}: PyTorch ops of a ${what} (torch.profiler, self CPU time), ${p.wall_ms.toFixed(1)} ms with the profiler on`,
    );
    console.log(formatKernelProfile(p.ops, 1, p.wall_ms, { unit: "op", per, outside: "outside ops (Python)" }));
  }
}

/** The stages of a run's metrics.json with their seconds and counted work (none if the file or its throughput is missing). */
async function readRunMetrics(path: string): Promise<{ machine: string; model: BenchRow["shape"]; stages: StageWork[] } | undefined> {
  try {
    const m = JSON.parse(await Deno.readTextFile(path));
    const stages = Object.entries(m.stages as Record<string, { seconds: number | null; throughput?: StageWork["work"] }>)
      .flatMap(([stage, s]) => s.seconds !== null && s.throughput ? [{ stage, seconds: s.seconds, work: s.throughput }] : []);
    return stages.length ? { machine: m.machine, model: m.sizes, stages } : undefined;
  } catch {
    return undefined;
  }
}

/** The default run at the book's size: its own stage seconds, scaled by the bench's slowdown between the two models. */
function printBookEstimate(record: BenchRecord | undefined, book: BenchRow, run: Awaited<ReturnType<typeof readRunMetrics>>): void {
  // the run's metrics name its machine, not its kernels: run it with the same build as the benches
  const own = recordOfBuild(record, kernelsBuild());
  const small = run && own?.machine === run.machine ? benchRowFor(own, run.model) : undefined;
  if (!run || !small) {
    console.log(
      `[bench] no estimate of the default run at this size: it needs ${LATEST_METRICS} from deno task rlhf and deno task bench --quick, both on this machine with these kernels`,
    );
    return;
  }
  const rates = (row: BenchRow) => ({ train: row.train_tokens_per_second, generate: row.generate_tokens_per_second });
  const estimate = bookSizeEstimate(run.stages, rates(small), rates(book));
  const total = estimate.reduce((a, e) => a + e.seconds, 0);
  console.log(
    `[bench] the default run at the book's size, from its stages' own seconds (${LATEST_METRICS}) × the bench's slowdown ` +
      `(${small.config} → ${book.config}): ${estimate.map((e) => `${e.stage} ${(e.seconds / 3600).toFixed(1)} h`).join(", ")}; in all ≈ ${
        (total / 3600).toFixed(1)
      } h (an estimate, not a run)`,
  );
}

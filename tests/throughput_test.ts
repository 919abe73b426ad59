/**
 * Stage throughput: the counters of lib/work.ts, what generate() and a gradient step add to them, how a stage's
 * work reads in metrics.json and the report, and the bench's record it is set beside.
 */
import { assert } from "./helpers.ts";
import { tf } from "../lib/tf.ts";
import { countWork, positions, tokensPerSecond, workSince, workSoFar } from "../lib/work.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { generate } from "../lib/generate/generate.ts";
import { AdamW } from "../lib/train/adamw.ts";
import { trainStep } from "../lib/train/train_step.ts";
import { Rng } from "../lib/rng.ts";
import { StageTimer } from "../lib/pipeline/stage_timer.ts";
import { benchReference, stageThroughput, throughputLine, throughputTable } from "../lib/report/throughput.ts";
import { bookSizeEstimate } from "../lib/bench/book_estimate.ts";
import {
  type BenchRecord,
  benchRowFor,
  mergeBenchRecords,
  readBenchRecord,
  recordOfBuild,
  writeBenchRecord,
} from "../lib/bench/bench_record.ts";

const tiny = () => createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 32, n_embd: 8, n_layer: 1, n_head: 2 }));

Deno.test("workSince(): what was counted after a snapshot, by kind; tokensPerSecond() null when nothing was done", () => {
  const before = workSoFar();
  countWork("train", 512, 0.25);
  countWork("generate", 30, 0.5);
  countWork("train", 512, 0.25);
  const since = workSince(before);
  assert.deepEqual(since.train, { tokens: 1024, seconds: 0.5 });
  assert.deepEqual(since.generate, { tokens: 30, seconds: 0.5 });
  assert.equal(tokensPerSecond(since.train), 2048);
  assert.equal(tokensPerSecond({ tokens: 0, seconds: 0 }), null);
  assert.equal(positions([[1, 2, 3], [4, 5, 6]]), 6);
  assert.equal(positions([]), 0);
});

Deno.test("generate() counts the tokens it returns; a training step counts rows × padded length", async () => {
  const model = tiny();
  const optimizer = new AdamW(model.params);
  try {
    let before = workSoFar();
    const out = await generate(model, [[1, 2], [3]], { maxNewTokens: 5, temperature: 1, stopIds: [4], padId: 0, rng: new Rng(1) });
    const generated = out.tokens.reduce((n, row) => n + row.length, 0);
    assert.equal(workSince(before).generate.tokens, generated);
    assert.ok(workSince(before).generate.seconds > 0);
    assert.equal(workSince(before).train.tokens, 0);

    before = workSoFar();
    const batch = { ids: [[1, 2, 3, 4], [5, 6, 7, 0]], targets: [[2, 3, 4, 5], [6, 7, 0, 0]], mask: [[1, 1, 1, 1], [1, 1, 0, 0]] };
    const step = trainStep(model, optimizer, batch, { lr: 1e-3, gradClip: 1, seed: 0 });
    tf.dispose([step.loss, step.gradNorm]);
    assert.equal(workSince(before).train.tokens, 8, "2 rows × 4 positions, padding counted");
    assert.ok(workSince(before).train.seconds > 0);
  } finally {
    optimizer.dispose();
    disposeGPT2(model);
  }
});

Deno.test("StageTimer: each stage's own work; metrics.json's throughput and the console line read it", async () => {
  const timer = new StageTimer();
  await timer.time("sft", () => Promise.resolve(countWork("train", 4000, 2)));
  await timer.time("evaluate", () => Promise.resolve(countWork("generate", 300, 0.5)));
  await timer.time("loaded", () => Promise.resolve());
  const [sft, evaluate, loaded] = timer.timings;
  // The counters are the process's running totals: a stage's share is a difference of sums, exact to rounding.
  const near = (x: number | null, y: number) => assert.ok(x !== null && Math.abs(x - y) < 1e-6 * y, `${x} vs ${y}`);
  const train = stageThroughput(sft.work).train;
  assert.equal(train.tokens, 4000);
  near(train.seconds, 2);
  near(train.tokens_per_second, 2000);
  assert.deepEqual(stageThroughput(sft.work).generate, { tokens: 0, seconds: 0, tokens_per_second: null });
  near(stageThroughput(evaluate.work).generate.tokens_per_second, 600);
  assert.equal(stageThroughput(loaded.work).train.tokens_per_second, null);
  assert.equal(throughputLine(timer.timings), "throughput: sft trained 2.0k tok/s; evaluate sampled 0.6k tok/s");
});

Deno.test("the report's throughput table sets each stage beside the bench's rate for the same model on the same machine", () => {
  const shape = { n_layer: 4, n_head: 4, n_embd: 128, vocab_size: 5676, n_positions: 128 };
  const record: BenchRecord = {
    date: "2026-12-07",
    machine: "some CPU, 2 cores",
    backend: "wasm",
    build: "cc -O3 -march=native; OPENBLAS_CORETYPE=SkylakeX",
    rows: [
      { config: "v2048", shape: { ...shape, vocab_size: 2048 }, train_tokens_per_second: 12000, generate_tokens_per_second: 7000 },
      { config: "v5676", shape, train_tokens_per_second: 8000, generate_tokens_per_second: 5000 },
    ],
  };
  assert.equal(benchRowFor(record, shape)?.config, "v5676");
  assert.equal(benchReference(record, { ...shape } as never, "another CPU"), null, "another machine's record is not used");
  const avx2 = "cc -O3 -march=haswell; OPENBLAS_CORETYPE=Haswell";
  assert.equal(recordOfBuild(record, avx2), undefined, "another build's record is not used");
  assert.equal(recordOfBuild({ ...record, build: undefined }, record.build!), undefined, "nor one without a build");
  const bench = benchReference(recordOfBuild(record, record.build!), { ...shape } as never, "some CPU, 2 cores");
  assert.equal(bench?.train_tokens_per_second, 8000);
  const timings = [{ stage: "sft", seconds: 3, work: { generate: { tokens: 0, seconds: 0 }, train: { tokens: 12000, seconds: 2 } } }];
  const html = throughputTable(timings, bench).html();
  assert.match(html, /6,000 \(75 % of bench\); 12,000 in 2\.0 s/);
});

Deno.test("a --quick bench keeps the other configs' rows of the same machine; the record is read back, a damaged one ignored", async () => {
  const row = (config: string, rate: number) => ({
    config,
    shape: { n_layer: 1, n_head: 1, n_embd: 8, vocab_size: 16, n_positions: 8 },
    train_tokens_per_second: rate,
    generate_tokens_per_second: rate,
  });
  const old: BenchRecord = { date: "d1", machine: "m", backend: "wasm", rows: [row("a", 1), row("b", 2)] };
  const fresh: BenchRecord = { date: "d2", machine: "m", backend: "wasm", rows: [row("a", 10)] };
  assert.deepEqual(mergeBenchRecords(old, fresh).rows.map((r) => [r.config, r.train_tokens_per_second]), [["a", 10], ["b", 2]]);
  assert.deepEqual(mergeBenchRecords({ ...old, machine: "other" }, fresh).rows.length, 1);
  assert.deepEqual(mergeBenchRecords({ ...old, build: "another build" }, fresh).rows.length, 1, "another build's rows are not kept");
  const dir = await Deno.makeTempDir();
  try {
    await writeBenchRecord(fresh, `${dir}/bench/latest.json`);
    assert.deepEqual(await readBenchRecord(`${dir}/bench/latest.json`), fresh);
    await Deno.writeTextFile(`${dir}/broken.json`, "{ half");
    assert.equal(await readBenchRecord(`${dir}/broken.json`), undefined);
    assert.equal(await readBenchRecord(`${dir}/missing.json`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bookSizeEstimate(): a stage's sampling seconds scale with the generation slowdown, the rest with training's", () => {
  const work = { generate: { tokens: 70_000, seconds: 10 }, train: { tokens: 600_000, seconds: 60 } };
  const none = { generate: { tokens: 0, seconds: 0 }, train: { tokens: 0, seconds: 0 } };
  const [ppo, loaded] = bookSizeEstimate(
    [{ stage: "ppo", seconds: 80, work }, { stage: "sft", seconds: 2, work: none }],
    { train: 12_000, generate: 7_000 },
    { train: 200, generate: 70 },
  );
  assert.deepEqual(ppo, { stage: "ppo", seconds: 10 * 100 + 70 * 60, measuredSeconds: 80 });
  assert.deepEqual(loaded, { stage: "sft", seconds: 2 * 60, measuredSeconds: 2 });
});

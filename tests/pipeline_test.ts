/**
 * The pipeline end to end on a tiny budget, started the way the book does:
 * from a GPT-2 directory exactly as uer/gpt2-chinese-cluecorpussmall ships it
 * (pytorch_model.bin only, a BERT-Chinese vocab.txt with no chat tokens and
 * [unused1..99] reserved), here a tiny random one.
 */
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { loadPretrained, savePretrained } from "../lib/pretrained.ts";
import { type PipelineOptions, runPipeline } from "../lib/pipeline/pipeline.ts";
import { CharVocabTokenizer } from "../lib/tokenizer/char_vocab.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });

Deno.test("runPipeline() fine-tunes a loaded HF-style checkpoint with a BERT-Chinese vocab and evaluates it", async () => {
  const root = await Deno.makeTempDir();
  try {
    // The book's layout: uer's config.json fields, a BERT-Chinese vocab.txt, only pytorch_model.bin (reference/make_torch_bin_fixtures.py).
    const UER = new URL("./fixtures/uer-tiny", import.meta.url).pathname;
    const base = await loadPretrained(UER);
    const tokenizer = base.tokenizer as CharVocabTokenizer;
    disposeGPT2(base);
    await Deno.mkdir(`${root}/uer-like`);
    for (const f of ["config.json", "vocab.txt", "pytorch_model.bin"]) await Deno.copyFile(`${UER}/${f}`, `${root}/uer-like/${f}`);

    // Your own SFT data (--sft-data): 20 conversations, one held out; the rest of the pipeline uses the task's requests.
    const ownSft = Array.from({ length: 20 }, (_, i) => JSON.stringify({ prompt: "作一首诗", response: i % 2 ? "春风。" : "明月。" }));
    await Deno.writeTextFile(`${root}/own_sft.jsonl`, ownSft.join("\n") + "\n");

    const options = (root: string): Partial<PipelineOptions> => ({
      initFrom: `${root}/uer-like`,
      sftDataPath: `${root}/own_sft.jsonl`,
      sft: { batchSize: 2, train: { steps: 3, evalEvery: 3, checkpointEvery: 3, warmupSteps: 1 } },
      reward: { trainPrompts: 4, heldoutPrompts: 3, k: 2, train: { epochs: 1 } },
      ppo: {
        iterations: 2,
        evalPrompts: 2,
        evalEvery: 1,
        sampleEvery: 1,
        checkpointEvery: 1,
        ppo: { batchSize: 4, miniBatchSize: 2, ppoEpochs: 1, maxNewTokens: 6 },
      },
      methods: ["dpo", "grpo"],
      dpo: { dpo: { pairsPerStep: 2 } },
      group: { iterations: 1, promptsPerIteration: 2, evalPrompts: 2, evalEvery: 1, group: { maxNewTokens: 6, miniBatchSize: 4 } },
      labelsPath: `${root}/labels.jsonl`,
      evalPrompts: 2,
      evalAnswersPerPrompt: 2,
      evalMaxNewTokens: 6,
      checkpointRoot: root,
      quiet: true,
    });
    const result = await runPipeline(options(root));
    assert.equal(result.sftHistory.train.length, 3);
    assert.match(result.startedFrom, / \+ sft data [0-9a-f]+$/);
    // 2 requests asked in 2 rounds: request i's answers at i and i + 2; gains are paired over the 2 requests
    assert.equal(result.before.length, 2); // the pretrained-only model answers each request once
    assert.equal(result.after.length, 4);
    assert.deepEqual(result.after.slice(2).map((s) => s.prompt), result.after.slice(0, 2).map((s) => s.prompt));
    assert.notDeepEqual(result.after[0].prompt, result.after[1].prompt);
    assert.equal(result.summary.requests, 2);
    assert.equal(result.summary.answersPerRequest, 2);
    assert.equal(result.summary.ppoGain.n, 2);
    assert.ok(result.after.every((s) => s.score.total >= 0 && s.score.total <= 1));
    assert.deepEqual(result.timings.map((t) => t.stage), [
      "sft",
      "reward model",
      "ppo",
      "dpo",
      "grpo",
      "evaluate",
      "evaluate dpo",
      "evaluate grpo",
    ]);
    // DPO and GRPO beside PPO: trained on the same lists / reward model, evaluated on the same requests, in metrics.json.
    assert.ok(result.dpo && result.dpo.history.train.length > 0);
    assert.equal(result.summary.methods.dpo?.gain.n, 2);
    assert.equal(result.summary.methods.dpo?.samples.length, 4);
    assert.equal(result.group.grpo?.history.stats.length, 1);
    const { methodComparison } = await import("../lib/report/comparison.ts");
    assert.deepEqual(methodComparison(result).map((row) => row.method), ["SFT", "best-of-2 (RM picks)", "PPO", "DPO", "GRPO"]);
    assert.deepEqual(result.summary.bestOfN?.n, 2);
    assert.equal(result.ppo.history.stats.length, 2);
    assert.deepEqual(result.ppo.history.eval.map((e) => e.iteration), [0, 1, 2]);
    for (
      const key of [
        "objective/kl",
        "objective/scores",
        "objective/rlhf_reward",
        "objective/entropy",
        "objective/kl_coef",
        "policy/approxkl",
        "policy/clipfrac",
        "loss/policy",
        "loss/value",
        "val/clipfrac",
        "val/explained_variance",
        "val/ratio",
      ] as const
    ) {
      assert.ok(Number.isFinite(result.ppo.history.stats[0][key]), key);
    }
    const { writeReport } = await import("../lib/report/report.ts");
    const { readPoints } = await import("../lib/frontier/points.ts");
    // Under a long directory name, as a checkout may be: the report must still fit a phone's width.
    const frontierPath = `${root}/${"a_checkout_under_a_long_directory_name_".repeat(3)}/points.jsonl`;
    await Deno.mkdir(frontierPath.slice(0, frontierPath.lastIndexOf("/")));
    await Deno.copyFile(new URL("../docs/runs/frontier/points.jsonl", import.meta.url), frontierPath);
    const frontier = { path: frontierPath, points: await readPoints(frontierPath) };
    const paths = await writeReport(result, `${root}/report`, { backend: "test", totalSeconds: 1, options: {}, frontier });
    const metrics = JSON.parse(await Deno.readTextFile(paths.metrics));
    assert.equal(metrics.stages.ppo.iterations, 2);
    // Each stage's throughput: SFT trained, PPO sampled and trained, the evaluation sampled.
    assert.ok(metrics.stages.sft.throughput.train.tokens_per_second > 0);
    assert.ok(metrics.stages.reward_model.throughput.train.tokens > 0 && metrics.stages.reward_model.throughput.generate.tokens > 0);
    assert.ok(metrics.stages.ppo.throughput.generate.tokens_per_second > 0 && metrics.stages.ppo.throughput.train.tokens > 0);
    assert.ok(metrics.stages.evaluate.throughput.generate.tokens > 0 && metrics.stages.evaluate.throughput.train.tokens === 0);
    assert.equal(metrics.heldout_gold.requests, 2);
    assert.equal(metrics.heldout_gold.answers_per_request, 2);
    assert.ok(typeof metrics.stages.reward_model.heldout_pairwise_accuracy === "number");
    assert.equal(metrics.heldout_gold.dpo_pairs, result.dpo!.pairs);
    assert.deepEqual(Object.keys(metrics.heldout_gold.methods), ["dpo", "grpo"]);
    assert.ok(metrics.heldout_gold.best_of_n && Math.abs(metrics.heldout_gold.best_of_n.kl_to_sft - (Math.log(2) - 0.5)) < 1e-12);
    disposeGPT2(result.dpo!.policy);
    disposeGPT2(result.group.grpo!.lm);
    // The edit probe ran on the held-out answers (each edit reported, with however many answers it applied to).
    assert.deepEqual(
      result.reward.editProbe.map((e) => e.edit),
      (await import("../lib/tasks/poetry_zh/edits.ts")).POEM_EDITS.map((e) => e.name),
    );
    assert.deepEqual(Object.keys(metrics.stages.reward_model.edit_probe), result.reward.editProbe.map((e) => e.edit));
    const html = await Deno.readTextFile(paths.html);
    assert.match(html, /<svg /);
    assert.ok(!/<script/.test(html), "the report is static");
    // Gains at different KL are never shown as a ranking: each row says whether it is at PPO's KL, the frontier beside them.
    assert.match(html, /at PPO's KL\?/);
    assert.match(html, /(Not matched: PPO ends at KL|Every row sits within 1\.5× of PPO)/);
    assert.match(html, /The methods at equal KL: the gold–KL frontier/);
    assert.ok(html.includes(`${frontier.points.length} points from ${frontierPath}`));
    assert.equal(metrics.heldout_gold.methods.dpo.seconds, result.dpo!.trainingSeconds, "training seconds of the DPO run");
    await Deno.copyFile(paths.html, REPORT_COPY); // for the browser test below
    // PPO's policy as the export bundle hands it to the engines (GPT2LMHeadModel, tokenizer.json …), to bring back below.
    const { exportPolicy } = await import("../lib/export/hf_models.ts");
    await exportPolicy(result.ppo.policy.lm, tokenizer, `${root}-bundle/ppo`);
    const { disposePolicy } = await import("../lib/ppo/policy.ts");
    disposePolicy(result.ppo.policy);
    // Settings other than the defaults (2 iterations) get a PPO directory of their own.
    assert.equal(result.checkpointDirs.ppo, `${root}/ppo-it2`);
    assert.ok((await Deno.stat(`${result.checkpointDirs.ppo}/run.json`)).isFile);
    assert.ok(result.reward.trainLists >= 1 && result.reward.heldoutLists >= 1);
    const { loadLabels } = await import("../lib/reward/labels.ts");
    const labels = await loadLabels(`${root}/labels.jsonl`);
    assert.equal(labels.length, result.reward.trainLists + result.reward.heldoutLists);
    assert.ok(labels.every((l) => /^simulated:mood@[0-9a-f]{8}:0$/.test(l.labeler) && l.checkpoint.startsWith("sft@")));
    // The saved reward model loads back with the same scores.
    const { loadRewardModel } = await import("../lib/reward/reward_checkpoint.ts");
    const { scoreRankLists } = await import("../lib/reward/train_reward.ts");
    const { disposeRewardModel } = await import("../lib/reward/reward_model.ts");
    const reloaded = await loadRewardModel(`${root}/rm`);
    assert.deepEqual(reloaded.normalisation, result.reward.rm.normalisation);
    assert.deepEqual(await scoreRankLists(reloaded, tokenizer, labels), await scoreRankLists(result.reward.rm, tokenizer, labels));
    disposeRewardModel(reloaded);
    disposeRewardModel(result.reward.rm);
    disposeGPT2(result.model);

    const sft = await loadPretrained(`${root}/sft`);
    assert.equal(sft.tokenizer?.vocabSize, tokenizer.vocabSize);
    assert.ok((await Deno.stat(`${root}/sft/run.json`)).isFile);
    disposeGPT2(sft);

    // The same checkpoints under a moved root, reached through a symlink: every stage is reused or resumed as
    // it was (fingerprints identify content, not paths), nothing is refitted or refused.
    const rmWritten = (await Deno.stat(`${root}/rm/model.safetensors`)).mtime?.getTime();
    const ppoWritten = (await Deno.stat(`${root}/ppo-it2/run.json`)).mtime?.getTime();
    await Deno.rename(root, `${root}-moved`);
    const linked = `${root}-linked`;
    await Deno.symlink(`${root}-moved`, linked);
    // … and PPO exported for the engines and given back as an outside policy (--policy) gets PPO's row: the same answers, the same gold.
    const again = await runPipeline({ ...options(linked), methods: [], policies: [`${root}-bundle/ppo`] });
    const outside = again.summary.methods["policy:ppo"];
    assert.ok(outside, `rows: ${Object.keys(again.summary.methods)}`);
    assert.deepEqual(outside.samples.map((s) => s.response), again.afterPpo.map((s) => s.response));
    assert.equal(outside.scores.total, again.summary.ppo.total);
    assert.equal(methodComparison(again).at(-1)?.method, "policy:ppo");
    assert.equal(
      (await Deno.stat(`${linked}/rm/model.safetensors`)).mtime?.getTime(),
      rmWritten,
      "the reward model is loaded, not refitted",
    );
    assert.equal((await Deno.stat(`${linked}/ppo-it2/run.json`)).mtime?.getTime(), ppoWritten, "PPO's finished run is reused");
    assert.equal(again.ppo.history.stats.length, 2);
    assert.equal(again.ppo.trainingSeconds, result.ppo.trainingSeconds, "a reused run reports the time it took to train");
    assert.ok(again.ppo.reused && !result.ppo.reused, "the second run loaded PPO, the first trained it");
    assert.ok(result.ppo.trainingSeconds > 0);
    const { disposePipelineResult } = await import("../lib/pipeline/pipeline.ts");
    disposePipelineResult(again);
  } finally {
    for (const dir of [root, `${root}-moved`, `${root}-linked`, `${root}-bundle`]) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
});

Deno.test("runPipeline() explains a starting directory without tokenizer files", async () => {
  const root = await Deno.makeTempDir();
  try {
    const model = createGPT2(resolveGPT2Config({ vocab_size: 10, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 1 }));
    await savePretrained(model, `${root}/bare`);
    disposeGPT2(model);
    await assert.rejects(() => runPipeline({ initFrom: `${root}/bare`, quiet: true, checkpointRoot: root }), /bare: no tokenizer files/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkpointDirs(): the default PPO run in ppo/, other settings in a directory named by them", async () => {
  const { checkpointDirs } = await import("../lib/pipeline/checkpoint_dirs.ts");
  const { PPO_DEFAULTS } = await import("../lib/ppo/ppo_config.ts");
  assert.equal(checkpointDirs("c").ppo, "c/ppo");
  assert.equal(
    checkpointDirs("c", { ppo: { lr: PPO_DEFAULTS.lr, reward: "rm", iterations: 30 } }).ppo,
    "c/ppo",
    "defaults given explicitly",
  );
  assert.equal(checkpointDirs("c", { ppo: { lr: 3e-5, reward: "gold" } }).ppo, "c/ppo-gold-lr0.00003");
  assert.equal(checkpointDirs("c", { quick: true, ppo: { ptxCoef: 0, initKlCoef: 0 } }).ppo, "c/ppo-ptx0-kl0-quick");
  assert.equal(checkpointDirs("c", { quick: true }).sft, "c/sft-quick");
});

const REPORT_COPY = await Deno.makeTempFile({ suffix: ".html" });
const CHROMIUM = "/usr/bin/chromium";

Deno.test({
  name: "the report reads on a phone-sized screen (nothing wider than the page) and prints to PDF (headless Chromium)",
  ignore: !(await Deno.stat(CHROMIUM).then(() => true, () => false)), // CI installs it
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
    try {
      const page = await browser.newPage({ viewport: { width: 375, height: 700 } });
      await page.goto(`file://${REPORT_COPY}`);
      const widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]") as number[];
      assert.ok(widths[0] <= widths[1], `the report is ${widths[0]} px wide on a ${widths[1]} px screen`);
      const pdf = await page.pdf({ format: "A4" });
      assert.equal(new TextDecoder().decode(pdf.subarray(0, 5)), "%PDF-");
      assert.ok(pdf.length > 20_000, `PDF of ${pdf.length} bytes`);
    } finally {
      await browser.close();
      await Deno.remove(REPORT_COPY);
    }
  },
});

/**
 * `deno task export` end to end on tiny checkpoints: the bundle holds, for
 * each engine asked for, the files its README names; verl's parquet reads
 * back with hyparquet in verl's schema, its rows the held-out and training
 * requests with their constraints; the rank lists of held-out requests never
 * reach the training pairs; every flag of every command is one its engine
 * declares; and bad input ends in one line with exit status 2.
 */
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { savePretrained } from "../lib/pretrained.ts";
import { createRewardModel, disposeRewardModel } from "../lib/reward/reward_model.ts";
import { saveRewardModel } from "../lib/reward/reward_checkpoint.ts";
import type { RankRecord } from "../lib/reward/labels.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
import { saveTokenizerFiles } from "../lib/tokenizer/io.ts";
import { Gpt2BpeTokenizer } from "../lib/tokenizer/gpt2_bpe.ts";
import { poetryTask } from "../lib/tasks/poetry_zh/task.ts";
import { loadValenceList } from "../lib/tasks/poetry_zh/mood.ts";
import type { Poem } from "../lib/corpus/poems.ts";
import { exportBundle } from "../lib/export/export_bundle.ts";
import { readVerlParquet } from "../lib/export/verl_parquet.ts";
import { commandFlags, ENGINE_FLAGS, engineCommands } from "../lib/export/engine_commands.ts";
import { bundleReadme } from "../lib/export/bundle_readme.ts";
import { assert, runScript, withTempDir } from "./helpers.ts";

const LINES = ["床前明月光，", "疑是地上霜。", "举头望明月，", "低头思故乡。"];
const poems: Poem[] = Array.from({ length: 9 }, (_, i) => ({
  id: `p${i}`,
  title: `静夜思${i}`,
  author: "李白",
  lines: LINES,
  chars_per_line: 5,
  n_lines: 4,
  split: i < 6 ? "train" : "heldout",
}));

/** A tiny run: sft/ and rm/ checkpoints, a task, and one rank list per request (train and held-out). */
async function tinyRun(dir: string) {
  const task = poetryTask(poems, { valence: await loadValenceList() });
  const tokenizer = buildCharVocab(task.vocabularyTexts(), { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const config = resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 128, n_embd: 8, n_layer: 1, n_head: 2 });
  const sft = createGPT2(config, { seed: 1 });
  const rm = createRewardModel(sft, { seed: 2 });
  await savePretrained({ ...sft, tokenizer }, `${dir}/ckpt/sft`);
  await saveRewardModel(rm, `${dir}/ckpt/rm`, saveTokenizerFiles(tokenizer));
  disposeRewardModel(rm);
  disposeGPT2(sft);
  const prompts = [...task.prompts("train", 0), ...task.prompts("heldout", 0)];
  const lists: RankRecord[] = prompts.map((p) => ({
    prompt_id: p.id,
    prompt: p.messages,
    responses: ["床前明月光", "疑是地上霜", "低头思故乡"],
    labeler: p.id === "p7" ? "李老师" : "simulated:mood:0",
    time: "2026-01-01T00:00:00Z",
    checkpoint: "sft",
  }));
  return { task, lists };
}

Deno.test("exportBundle writes what each engine reads; verl's parquet reads back in verl's schema", async () => {
  await initBackend({ quiet: true });
  await withTempDir(async (dir) => {
    const { task, lists } = await tinyRun(dir);
    const scorer = { preference: "mood" as const, valence: await loadValenceList() };
    const base = { sftDir: `${dir}/ckpt/sft`, rmDir: `${dir}/ckpt/rm`, lists, task, scorer };

    const verlOnly = await exportBundle(`${dir}/verl`, { ...base, engines: ["verl"] });
    assert.ok(verlOnly.files.includes("models/rm-token/model.safetensors"));
    assert.ok(!verlOnly.files.some((f) => f.startsWith("models/rm/") || f.startsWith("data/preferences")));
    for (const [split, n] of [["train", 6], ["test", 3]] as const) {
      const rows = await readVerlParquet(await Deno.readFile(`${dir}/verl/data/prompts/verl/${split}.parquet`));
      assert.equal(rows.length, n);
      const want = task.prompts(split === "train" ? "train" : "heldout", 0);
      rows.forEach((row, i) => {
        assert.deepEqual(row.prompt, want[i].messages);
        assert.deepEqual(JSON.parse(row.reward_model.ground_truth), want[i].constraints);
        assert.deepEqual(row.extra_info, { split, index: i, id: want[i].id });
        assert.equal(row.data_source, "poetry-zh");
      });
    }

    const all = await exportBundle(`${dir}/all`, { ...base, engines: ["trl", "openrlhf", "verl"] });
    for (const f of ["models/sft/tokenizer.json", "models/rm/config.json", "gold_scorer.py", "README.md", "manifest.json"]) {
      assert.ok(all.files.includes(f), f);
    }
    // Training pairs come from the training requests' rank lists only (3 untied pairs each).
    assert.equal(all.pairs, 6 * 3);
    const testPairs = (await Deno.readTextFile(`${dir}/all/data/preferences/conversational/test.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(testPairs.length, 3 * 3);
    assert.ok(testPairs.some((p) => p.labeler === "李老师"));
    const readme = await Deno.readTextFile(`${dir}/all/README.md`);
    for (const c of engineCommands(["trl", "openrlhf", "verl"], { positions: 128 })) assert.ok(readme.includes(c.lines[1]), c.title);
    await assert.rejects(() => exportBundle(`${dir}/all`, { ...base, engines: ["trl"] }), /exists already/);

    // A run on GPT-2's BPE is refused up front, and leaves nothing behind.
    const bpe = Gpt2BpeTokenizer.pruned(["床前明月光"]);
    const model = createGPT2(resolveGPT2Config({ vocab_size: bpe.vocabSize, n_positions: 128, n_embd: 8, n_layer: 1, n_head: 2 }));
    await savePretrained({ ...model, tokenizer: bpe }, `${dir}/ckpt/bpe`);
    disposeGPT2(model);
    await assert.rejects(
      () => exportBundle(`${dir}/bpe-bundle`, { ...base, sftDir: `${dir}/ckpt/bpe`, engines: ["trl"] }),
      /a gpt2-bpe tokenizer; only character vocabularies/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["all", "ckpt", "verl"]);
  });
});

Deno.test("every command of the bundle's README uses only flags its engine declares", () => {
  for (const command of engineCommands(["trl", "openrlhf", "verl"], { positions: 128 })) {
    for (const flag of commandFlags(command)) assert.ok(ENGINE_FLAGS[command.engine].includes(flag), `${command.engine}: ${flag}`);
  }
  // The same read off the README text itself: each engine's bash blocks, flag by flag.
  const readme = bundleReadme({
    engines: ["trl", "openrlhf", "verl"],
    task: "poetry-zh",
    preference: "bright beats sorrowful",
    parameters: 1_000_000,
    positions: 128,
    hasPpo: true,
    pairs: 10,
    trainPrompts: 5,
    heldoutPrompts: 2,
  });
  const blocks = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1].replaceAll("\\\n", " "));
  let checked = 0;
  for (const block of blocks) {
    const engine = block.startsWith("trl ")
      ? "trl"
      : block.includes("openrlhf.cli")
      ? "openrlhf"
      : block.includes("verl.trainer")
      ? "verl"
      : undefined;
    if (!engine) continue;
    const all = block.split(/\s+/).filter(Boolean);
    const words = all.slice(engine === "trl" ? 2 : all.findIndex((w) => /openrlhf\.cli|verl\.trainer/.test(w)) + 1); // after the launcher
    const flags = engine === "verl"
      ? words.filter((w) => w.includes("=")).map((w) => w.split("=")[0])
      : words.filter((w) => w.startsWith("--"));
    for (const flag of flags) assert.ok(ENGINE_FLAGS[engine].includes(flag), `README, ${engine}: ${flag}`);
    checked += flags.length;
  }
  assert.ok(blocks.length >= 9 && checked > 100, `${blocks.length} blocks, ${checked} flags`);
});

Deno.test("deno task export: bad input ends in one line naming the flag, exit status 2", async () => {
  await withTempDir(async (dir) => {
    const cases: [string[], RegExp][] = [
      [["--for", "deepspeed", `${dir}/out`], /--for deepspeed: expected one of trl, openrlhf, verl, all/],
      [["--checkpoints", `${dir}/none`, `${dir}/out`], /no sft checkpoint/],
      [["--checkpoints", dir, dir], /exists already/],
      [[], /expected one output directory/],
    ];
    for (const [args, message] of cases) {
      const { code, err } = await runScript("export", args);
      assert.equal(code, 2, err);
      assert.match(err, message);
      assert.equal(err.trim().split("\n").length, 1, err);
    }
  });
});

import { encodeSftExamples, randomSftBatches, sftBatch } from "../lib/data/sft_batches.ts";
import { checkSftVocabulary, loadSftJsonl } from "../lib/data/sft_jsonl.ts";
import { loadTokenizer } from "../lib/tokenizer/io.ts";
import { runPipeline } from "../lib/pipeline/pipeline.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { runSftStage, splitOwnExamples } from "../lib/pipeline/sft_stage.ts";
import type { Task } from "../lib/tasks/types.ts";
import { assert } from "./helpers.ts";

const tok = buildCharVocab(["写一首五言绝句床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"], {
  extraSpecialTokens: CHAT_SPECIAL_TOKENS,
});
const example = (response: string) => ({
  prompt: { id: "x", messages: [{ role: "user" as const, content: "写一首五言绝句" }], constraints: {} },
  response,
});

Deno.test("SFT batches train exactly on the assistant's reply and its end-of-turn token", () => {
  const { encoded } = encodeSftExamples([example("床前明月光，疑是地上霜。"), example("举头")], tok, 64);
  const batch = sftBatch(encoded, tok.eosId);
  const T = encoded[0].ids.length - 1;
  assert.equal(batch.ids[0].length, T);
  assert.equal(batch.ids[1].length, T, "padded to the longest example");
  for (let b = 0; b < 2; b++) {
    // The targets whose mask is 1 decode to the reply followed by <|end|>.
    const trained = batch.targets[b].filter((_, t) => batch.mask![b][t] === 1);
    assert.equal(tok.decode(trained), ["床前明月光，疑是地上霜。", "举头"][b] + "<|end|>");
    // ids are targets shifted by one.
    assert.deepEqual(batch.ids[b].slice(1, encoded[b].ids.length - 1), batch.targets[b].slice(0, encoded[b].ids.length - 2));
  }
  // Padding is never trained on.
  const realLength = encoded[1].ids.length - 1;
  assert.ok(batch.mask![1].slice(realLength).every((m) => m === 0));
});

Deno.test("SFT examples longer than the context are skipped and counted, not truncated", () => {
  const { encoded, skippedTooLong } = encodeSftExamples([example("床前明月光，疑是地上霜。"), example("床".repeat(100))], tok, 40);
  assert.equal(encoded.length, 1);
  assert.equal(skippedTooLong, 1);
});

Deno.test("random SFT batches depend only on (seed, step)", () => {
  const { encoded } = encodeSftExamples([example("床前"), example("明月"), example("地上霜")], tok, 64);
  const source = randomSftBatches(encoded, { batchSize: 2, seed: 5, padId: tok.eosId });
  const b3 = source.batch(3);
  source.batch(1);
  assert.deepEqual(source.batch(3), b3);
});

Deno.test("loadSftJsonl() reads both formats and names the file and line of bad records", async () => {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    await Deno.writeTextFile(
      path,
      [
        JSON.stringify({ prompt: "写诗", response: "床前明月光" }),
        "",
        JSON.stringify({
          messages: [{ role: "system", content: "你是诗人" }, { role: "user", content: "写诗" }, { role: "assistant", content: "明月" }],
        }),
      ].join("\n"),
    );
    const examples = await loadSftJsonl(path);
    assert.equal(examples.length, 2);
    assert.equal(examples[1].prompt.messages.length, 2);
    assert.equal(examples[1].response, "明月");
    const cases: [string, RegExp][] = [
      ['{"prompt": "a", "response": "b"}\n{oops', /:2: invalid JSON/],
      ['{"prompt": "a", "response": ""}', /:1: field "response" must be a non-empty string/],
      ['{"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]}', /:1: messages\[1\]\.role must be one of/],
      [
        '{"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]}',
        /:1: the last message must be the assistant's/,
      ],
    ];
    for (const [content, pattern] of cases) {
      await Deno.writeTextFile(path, content);
      await assert.rejects(() => loadSftJsonl(path), (e: Error) => e.message.startsWith(path) && pattern.test(e.message));
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("your own SFT data (--sft-data): every 20th conversation held out, the task's conversations never used", async () => {
  await initBackend({ quiet: true });
  const examples = Array.from({ length: 40 }, (_, i) => ({ ...example(i % 2 ? "床前明月光，疑是地上霜。" : "举头望明月。"), id: i }));
  const { train, heldout } = splitOwnExamples(examples);
  assert.equal(train.length, 38);
  assert.deepEqual(heldout.map((e) => e.id), [19, 39]);
  assert.throws(() => splitOwnExamples(examples.slice(0, 1)), /at least 2/);

  const task = { sftExamples: () => assert.fail("the task's conversations were used") } as unknown as Task;
  const model = createGPT2(resolveGPT2Config({ preset: "gpt2-nano", vocab_size: tok.vocabSize, n_positions: 64 }), { seed: 0 });
  const dir = await Deno.makeTempDir();
  try {
    const result = await runSftStage(model, tok, task, {
      examples,
      checkpointDir: dir,
      batchSize: 4,
      train: { steps: 2, evalEvery: 2, checkpointEvery: 2, warmupSteps: 1 },
      quiet: true,
    });
    assert.equal(result.trainExamples, 38);
    assert.equal(result.history.train.length, 2);
    assert.ok(Number.isFinite(result.history.eval.at(-1)!.loss));
  } finally {
    disposeGPT2(model);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkSftVocabulary(): characters outside a character vocabulary are named (warning), and refused when they are many", async () => {
  const tokenizer = (await loadTokenizer(new URL("./fixtures/uer-tiny", import.meta.url).pathname))!;
  const example = (prompt: string, response: string) => ({
    prompt: { id: "x", messages: [{ role: "user" as const, content: prompt }], constraints: {} },
    response,
  });
  assert.equal(checkSftVocabulary("a.jsonl", [example("作一首诗", "春风明月。")], tokenizer), undefined);
  const some = Array.from({ length: 30 }, () => example("作一首诗", "春风明月。"));
  assert.match(
    checkSftVocabulary("a.jsonl", [...some, example("写一首诗", "春风明月。")], tokenizer)!,
    /^a\.jsonl: 1 of 279 characters .* \[UNK\]: "写" ×1$/,
  );
  assert.throws(
    () => checkSftVocabulary("b.jsonl", [example("write a poem", "spring wind")], tokenizer),
    /^Error: b\.jsonl: .* would train as \[UNK\]: .*--init DIR/,
  );
});

Deno.test("runPipeline(): SFT data that the starting model's vocabulary cannot spell is refused before SFT", async () => {
  await initBackend({ quiet: true });
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/own.jsonl`, JSON.stringify({ prompt: "write a poem", response: "The spring wind." }) + "\n");
    await assert.rejects(
      () =>
        runPipeline({
          initFrom: new URL("./fixtures/uer-tiny", import.meta.url).pathname,
          sftDataPath: `${root}/own.jsonl`,
          checkpointRoot: root,
          quiet: true,
        }),
      new RegExp(`${root}/own.jsonl: .* would train as \\[UNK\\]`),
    );
    assert.ok(!(await Deno.stat(`${root}/sft`).then(() => true, () => false)), "SFT never started");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

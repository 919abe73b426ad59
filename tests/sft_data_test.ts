import { encodeSftExamples, randomSftBatches, sftBatch } from "../lib/data/sft_batches.ts";
import { loadSftJsonl } from "../lib/data/sft_jsonl.ts";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
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

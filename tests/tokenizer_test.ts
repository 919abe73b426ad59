import { buildCharVocab, CharVocabTokenizer } from "../lib/tokenizer/char_vocab.ts";
import { GPT2_EOS_ID, Gpt2BpeTokenizer } from "../lib/tokenizer/gpt2_bpe.ts";
import { loadTokenizer, saveTokenizerFiles } from "../lib/tokenizer/io.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
import { assert } from "./helpers.ts";

const SAMPLES = {
  english: "Hello world, it's a test.\nNew line!",
  chinese: "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
  emoji: "👍🏽 and 🧑‍💻 work",
  mixed: "GPT-2 写诗：春眠不觉晓 ✓",
};

Deno.test("Gpt2BpeTokenizer gives GPT-2's ids", () => {
  const tok = new Gpt2BpeTokenizer();
  assert.deepEqual(tok.encode("Hello world"), [15496, 995]);
  assert.deepEqual(tok.encode("<|endoftext|>"), [GPT2_EOS_ID]);
  assert.equal(tok.eosId, 50256);
  assert.equal(tok.vocabSize, 50257);
});

Deno.test("Gpt2BpeTokenizer round-trips English, Chinese, emoji and special tokens", () => {
  const tok = new Gpt2BpeTokenizer();
  for (const [what, text] of Object.entries(SAMPLES)) assert.equal(tok.decode(tok.encode(text)), text, what);
  const withEos = "第一篇<|endoftext|>second";
  assert.ok(tok.encode(withEos).includes(GPT2_EOS_ID));
  assert.equal(tok.decode(tok.encode(withEos)), withEos);
});

Deno.test("a pruned Gpt2BpeTokenizer is compact and still lossless on text outside its corpus", () => {
  const tok = Gpt2BpeTokenizer.pruned([SAMPLES.chinese]);
  assert.ok(tok.vocabSize < 400, `vocab ${tok.vocabSize}`);
  for (const [what, text] of Object.entries(SAMPLES)) {
    const ids = tok.encode(text);
    assert.ok(ids.every((id) => id >= 0 && id < tok.vocabSize), what);
    assert.equal(tok.decode(ids), text, what);
  }
  // Corpus text uses the same merges as full GPT-2 (same number of tokens).
  assert.equal(tok.encode(SAMPLES.chinese).length, new Gpt2BpeTokenizer().encode(SAMPLES.chinese).length);
  assert.equal(tok.decode([tok.eosId]), "<|endoftext|>");
});

Deno.test("buildCharVocab() starts with the BERT specials and round-trips its corpus", () => {
  const tok = buildCharVocab([SAMPLES.chinese, SAMPLES.emoji], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  assert.deepEqual(tok.tokens.slice(0, 5), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
  assert.equal(tok.eosId, 3);
  for (const text of [SAMPLES.chinese, SAMPLES.emoji]) assert.equal(tok.decode(tok.encode(text)), text);
  // An emoji with a skin tone is two code points, so two tokens (not four UTF-16 units).
  assert.equal(tok.encode("👍🏽").length, 2);
  // Special tokens are matched whole.
  assert.deepEqual(tok.encode("<|user|>床<|end|>"), [tok.idOf("<|user|>"), tok.idOf("床"), tok.idOf("<|end|>")]);
  assert.deepEqual(tok.encode("鱼"), [tok.idOf("[UNK]")]);
});

Deno.test("CharVocabTokenizer vocab.txt round trip, including the newline token", () => {
  const tok = buildCharVocab([SAMPLES.chinese]);
  const again = CharVocabTokenizer.fromVocabText(tok.vocabText());
  assert.deepEqual(again.tokens, tok.tokens);
  assert.equal(again.decode(again.encode(SAMPLES.chinese)), SAMPLES.chinese);
});

Deno.test("CharVocabTokenizer reads a BERT-Chinese style vocab.txt and names bad lines", () => {
  const bert = "[PAD]\n[unused1]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n的\n一\n##s\nhello\n";
  const tok = CharVocabTokenizer.fromVocabText(bert, "uer/vocab.txt");
  assert.deepEqual(tok.encode("的一"), [6, 7]);
  assert.equal(tok.eosId, 4);
  assert.throws(() => CharVocabTokenizer.fromVocabText("[UNK]\n[SEP]\n的\n的\n", "v.txt"), /v\.txt:4: duplicate token "的" \(first on line 3\)/);
  assert.throws(() => CharVocabTokenizer.fromVocabText("[SEP]\na\n", "v.txt"), /v\.txt: the vocabulary has no \[UNK\] token/);
});

Deno.test("loadTokenizer() reads back what saveTokenizerFiles() wrote, for each kind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tokenizers = [buildCharVocab([SAMPLES.chinese]), new Gpt2BpeTokenizer(), Gpt2BpeTokenizer.pruned([SAMPLES.english])];
    for (const tok of tokenizers) {
      const sub = `${dir}/${tok.kind}-${tok.vocabSize}`;
      await Deno.mkdir(sub);
      for (const [name, text] of Object.entries(saveTokenizerFiles(tok))) await Deno.writeTextFile(`${sub}/${name}`, text);
      const loaded = await loadTokenizer(sub);
      assert.ok(loaded);
      assert.equal(loaded.kind, tok.kind);
      assert.equal(loaded.vocabSize, tok.vocabSize);
      assert.deepEqual(loaded.encode(SAMPLES.chinese), tok.encode(SAMPLES.chinese));
    }
    assert.equal(await loadTokenizer(dir), undefined);
    await Deno.writeTextFile(`${dir}/vocab.json`, JSON.stringify({ a: 0 }));
    await Deno.writeTextFile(`${dir}/merges.txt`, "#version: 0.2\n");
    await assert.rejects(() => loadTokenizer(dir), /vocab\.json: not GPT-2's vocabulary/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

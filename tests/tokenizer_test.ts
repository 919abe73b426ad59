import { buildCharVocab, CharVocabTokenizer, vocabText } from "../lib/tokenizer/char_vocab.ts";
import {
  buildPrunedIdMap,
  GPT2_BYTE_CHAR,
  GPT2_BYTE_TOKEN,
  GPT2_EOS_ID,
  Gpt2BpeTokenizer,
  gpt2TokenBytes,
  gpt2VocabKey,
} from "../lib/tokenizer/gpt2_bpe.ts";
import { BPE_FILE, loadTokenizer, saveTokenizerFiles } from "../lib/tokenizer/io.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
import type { Tokenizer } from "../lib/tokenizer/types.ts";
import { assert, withTempDir } from "./helpers.ts";

const SAMPLES: Record<string, string> = {
  english: "Hello world, it's a test.\nNew line!  Two spaces,\ttab.",
  chinese: "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
  emoji: "👍🏽 and 🧑‍💻 work",
  mixed: "GPT-2 写诗：春眠不觉晓 ✓ café",
  special: "第一篇<|endoftext|>second<|endoftext|>",
  awkward: "\uFEFFbom\r\nwindows\r\n\n\n   spaces ",
};

function assertRoundTrips(tok: Tokenizer, texts: Record<string, string>) {
  for (const [what, text] of Object.entries(texts)) {
    const ids = tok.encode(text);
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize), `${what}: ids within 0..${tok.vocabSize - 1}`);
    assert.equal(tok.decode(ids), text, what);
  }
}

async function writeFiles(dir: string, files: Record<string, string>) {
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
}

/** vocab.json and merges.txt as a real HF GPT-2 directory holds them (merge k split after its first character). */
function hfGpt2Files(): Record<string, string> {
  const vocab: Record<string, number> = {};
  for (let id = 0; id <= GPT2_EOS_ID; id++) vocab[gpt2VocabKey(id)] = id;
  const merges = ["#version: 0.2"];
  for (let id = 256; id < GPT2_EOS_ID; id++) {
    const key = gpt2VocabKey(id);
    const first = String.fromCodePoint(key.codePointAt(0)!);
    merges.push(`${first} ${key.slice(first.length)}`);
  }
  return { "vocab.json": JSON.stringify(vocab), "merges.txt": merges.join("\n") + "\n" };
}

// ---- GPT-2 BPE ----

Deno.test("Gpt2BpeTokenizer.encode() gives GPT-2's ids, with <|endoftext|> anywhere", () => {
  const tok = new Gpt2BpeTokenizer();
  assert.deepEqual(tok.encode("Hello world"), [15496, 995]);
  assert.deepEqual(tok.encode("<|endoftext|>"), [50256]);
  assert.deepEqual(tok.encode("a<|endoftext|>b"), [64, 50256, 65]);
  assert.deepEqual(tok.encode("\n"), [198]);
  assert.deepEqual(tok.encode("\n\n"), [628]);
  assert.deepEqual(tok.encode(" the"), [262]);
  assert.equal(tok.kind, "gpt2-bpe");
  assert.equal(tok.eosId, 50256);
  assert.equal(tok.vocabSize, 50257);
  assert.deepEqual(tok.specialTokens, { "<|endoftext|>": 50256 });
});

Deno.test("GPT2_BYTE_TOKEN and GPT2_BYTE_CHAR follow HF's bytes_to_unicode()", () => {
  assert.deepEqual([...GPT2_BYTE_TOKEN].sort((a, b) => a - b), Array.from({ length: 256 }, (_, i) => i));
  // "!" is id 0; the 188 printable bytes come first, then bytes 0..32 ascending (0 → 188, "\n" → 198, " " → 220).
  assert.equal(GPT2_BYTE_TOKEN[0x21], 0);
  assert.equal(GPT2_BYTE_TOKEN[0xff], 187);
  assert.equal(GPT2_BYTE_TOKEN[0x00], 188);
  assert.equal(GPT2_BYTE_TOKEN[0x0a], 198);
  assert.equal(GPT2_BYTE_TOKEN[0x20], 220);
  assert.equal(GPT2_BYTE_TOKEN[0xad], 255);
  assert.equal(GPT2_BYTE_CHAR[0x20], "Ġ");
  assert.equal(GPT2_BYTE_CHAR[0x0a], "Ċ");
  assert.equal(GPT2_BYTE_CHAR[0x41], "A");
  assert.equal(gpt2VocabKey(995), "Ġworld");
  assert.equal(gpt2VocabKey(50256), "<|endoftext|>");
  assert.deepEqual([...gpt2TokenBytes(995)], [...new TextEncoder().encode(" world")]);
  assert.throws(() => gpt2TokenBytes(50257), /no token with id 50257/);
});

Deno.test("Gpt2BpeTokenizer round-trips English, Chinese, emoji, mixed and special tokens", () => {
  assertRoundTrips(new Gpt2BpeTokenizer(), SAMPLES);
});

Deno.test("Gpt2BpeTokenizer.decode() of ids cut inside a character gives U+FFFD and leaves the next call clean", () => {
  const tok = new Gpt2BpeTokenizer();
  const ids = tok.encode("床前"); // 4 byte-level tokens, 2 per character
  assert.equal(ids.length, 4);
  assert.equal(tok.decode(ids.slice(0, 1)), "\uFFFD");
  assert.equal(tok.decode(ids), "床前"); // gpt-tokenizer's own decode gives "�床前" here
  assert.equal(tok.decode(ids.slice(0, 3)), "床\uFFFD");
  assert.equal(tok.decode([...ids.slice(0, 1), 50256]), "\uFFFD<|endoftext|>");
});

Deno.test("a pruned Gpt2BpeTokenizer is compact and lossless on text outside its corpus", () => {
  const full = new Gpt2BpeTokenizer();
  const tok = Gpt2BpeTokenizer.pruned([SAMPLES.chinese]);
  assert.ok(tok.vocabSize > 257 && tok.vocabSize < 400, `vocab ${tok.vocabSize}`);
  assertRoundTrips(tok, SAMPLES);
  // The corpus is tokenized with GPT-2's own merges: same tokens, renumbered.
  assert.deepEqual(tok.encode(SAMPLES.chinese).map((id) => tok.toGpt2Id(id)), full.encode(SAMPLES.chinese));
  // "Hello" (GPT-2 id 15496) is not kept: it falls back to its five byte tokens.
  const hello = tok.encode("Hello");
  assert.deepEqual(hello.map((id) => tok.toGpt2Id(id)), [..."Hello"].map((c) => GPT2_BYTE_TOKEN[c.charCodeAt(0)]));
  assert.equal(tok.decode([tok.eosId]), "<|endoftext|>");
  assert.deepEqual(tok.specialTokens, { "<|endoftext|>": tok.eosId });
  assert.equal(tok.eosId, tok.vocabSize - 1, "50256 is the largest kept id");
  assert.throws(() => tok.decode([tok.vocabSize]), /outside the pruned vocabulary/);
});

Deno.test("buildPrunedIdMap() is ascending and does not depend on corpus order", () => {
  const ids = buildPrunedIdMap(["Hello world", "床前"]);
  assert.deepEqual(ids, buildPrunedIdMap(["床前", "Hello world"]));
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  assert.ok(ids.includes(15496) && ids.includes(995) && ids.includes(GPT2_EOS_ID));
  assert.equal(buildPrunedIdMap(["Hello world"]).length, 256 + 3, "256 bytes + Hello + Ġworld + <|endoftext|>");
  assert.throws(() => new Gpt2BpeTokenizer(ids.filter((id) => id !== 198)), /198 is missing/);
  assert.throws(() => new Gpt2BpeTokenizer([...ids].reverse()), /strictly ascending/);
  assert.throws(() => new Gpt2BpeTokenizer([...ids, 50257]), /50257 is not a GPT-2 id/);
});

// ---- character vocabulary ----

Deno.test("buildCharVocab() orders BERT specials, extra specials, then characters by frequency and code point", () => {
  const tok = buildCharVocab(["bba\n", "b"], { extraSpecialTokens: ["<|end|>"] });
  assert.deepEqual(tok.tokens, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<|end|>", "b", "\n", "a"]);
  assert.equal(tok.kind, "char-vocab");
  assert.equal(tok.eosId, 3, "[SEP]");
  assert.equal(tok.vocabSize, 9);
  assert.throws(() => buildCharVocab([], { extraSpecialTokens: ["END"] }), /"END" must look like \[XXX\] or <\|xxx\|>/);
  assert.throws(() => buildCharVocab([], { extraSpecialTokens: ["[SEP]"] }), /already one of the BERT special tokens/);
  assert.throws(() => buildCharVocab([], { extraSpecialTokens: ["[NEWLINE]"] }), /\[NEWLINE\] is reserved/);
});

Deno.test("CharVocabTokenizer round-trips its corpus, one token per code point", () => {
  const tok = buildCharVocab(Object.values(SAMPLES), { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  assertRoundTrips(tok, { ...SAMPLES, chat: "<|user|>床<|end|><|assistant|>前<|end|>" });
  assert.equal(tok.encode("👍🏽").length, 2, "thumb + skin tone");
  assert.equal(tok.encode("🧑‍💻").length, 3, "person + ZWJ + laptop");
  assert.equal(tok.encode("床前明月光").length, 5);
  assert.deepEqual(tok.encode("<|user|>床<|end|>"), [tok.idOf("<|user|>"), tok.idOf("床"), tok.idOf("<|end|>")]);
  // "<|endoftext|>" is not in this vocabulary: its characters go one by one ("e" etc. are in the corpus).
  assert.equal(tok.encode("<|endoftext|>").length, 13);
});

Deno.test("CharVocabTokenizer maps unknown characters to [UNK], after trying lower case", () => {
  const tok = CharVocabTokenizer.fromVocabText("[PAD]\n[unused1]\n[unused10]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n的\n一\na\n##s\n");
  assert.deepEqual(tok.encode("的鱼一"), [7, 3, 8]);
  assert.deepEqual(tok.encode("A"), [9], "A → a, as an uncased BERT vocabulary expects");
  assert.deepEqual(tok.encode("[unused10][unused1]"), [2, 1], "longest special first");
  assert.equal(tok.decode([9, 10]), "as", "##s is a continuation piece");
  assert.equal(tok.eosId, 5);
  assert.throws(() => tok.decode([11]), /id 11 is outside the vocabulary \(0\.\.10\)/);
});

Deno.test("vocab.txt round trip keeps \\n, \\r and space tokens and line numbers", () => {
  const tok = buildCharVocab(["a b\r\nc\n"], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const text = vocabText(tok);
  assert.ok(text.includes("\n[NEWLINE]\n") && text.includes("\n[CR]\n") && text.includes("\n \n"));
  // Python reads it with universal newlines: one token a line, so ids agree.
  assert.equal(text.split(/\r\n|\r|\n/).length - 1, tok.vocabSize);
  const again = CharVocabTokenizer.fromVocabText(text);
  assert.deepEqual(again.tokens, tok.tokens);
  assert.deepEqual(again.specialTokens, tok.specialTokens);
  assert.equal(again.decode(again.encode("a b\r\nc\n")), "a b\r\nc\n");
  // A vocab.txt written on Windows reads the same.
  assert.deepEqual(CharVocabTokenizer.fromVocabText(text.replaceAll("\n", "\r\n")).tokens, tok.tokens);
});

Deno.test("CharVocabTokenizer.fromVocabText() names the file and line of a bad vocabulary", () => {
  assert.throws(
    () => CharVocabTokenizer.fromVocabText("[UNK]\n[SEP]\n的\n的\n", "v.txt"),
    /v\.txt:4: duplicate token "的" \(first on line 3\)/,
  );
  assert.throws(() => CharVocabTokenizer.fromVocabText("[UNK]\n[SEP]\n\n的\n", "v.txt"), /v\.txt:3: empty token/);
  assert.throws(() => CharVocabTokenizer.fromVocabText("[SEP]\na\n", "v.txt"), /v\.txt: the vocabulary has no \[UNK\] token/);
  assert.throws(() => CharVocabTokenizer.fromVocabText("[UNK]\na\n", "v.txt"), /v\.txt: the vocabulary has no \[SEP\] token/);
});

// ---- files ----

Deno.test("loadTokenizer() reads back what saveTokenizerFiles() wrote, for each kind", async () => {
  await withTempDir(async (dir) => {
    const tokenizers = [
      buildCharVocab([SAMPLES.chinese], { extraSpecialTokens: CHAT_SPECIAL_TOKENS }),
      new Gpt2BpeTokenizer(),
      Gpt2BpeTokenizer.pruned([SAMPLES.english]),
    ];
    for (const [i, tok] of tokenizers.entries()) {
      const files = saveTokenizerFiles(tok);
      await writeFiles(`${dir}/${i}`, files);
      const loaded = await loadTokenizer(`${dir}/${i}`);
      assert.ok(loaded, `tokenizer ${i}`);
      assert.equal(loaded.kind, tok.kind);
      assert.equal(loaded.vocabSize, tok.vocabSize);
      assert.equal(loaded.eosId, tok.eosId);
      assert.deepEqual(loaded.specialTokens, tok.specialTokens);
      for (const text of [SAMPLES.chinese, SAMPLES.english]) assert.deepEqual(loaded.encode(text), tok.encode(text));
    }
    const config = JSON.parse(saveTokenizerFiles(tokenizers[0])["tokenizer_config.json"]);
    assert.equal(config.tokenizer_class, "BertTokenizer");
    assert.equal(config.do_lower_case, false);
    assert.deepEqual(config.additional_special_tokens, [...CHAT_SPECIAL_TOKENS].sort());
    assert.deepEqual(JSON.parse(saveTokenizerFiles(tokenizers[1])[BPE_FILE]), { kind: "gpt2-bpe", pruned_ids: null });
    assert.equal(await loadTokenizer(`${dir}/empty-does-not-exist`), undefined);
  });
});

Deno.test("loadTokenizer() reads a Hugging Face GPT-2 directory after checking it is GPT-2's", async () => {
  await withTempDir(async (dir) => {
    const files = hfGpt2Files();
    await writeFiles(`${dir}/hf`, files);
    const tok = await loadTokenizer(`${dir}/hf`);
    assert.ok(tok instanceof Gpt2BpeTokenizer && tok.prunedIds === undefined);
    assert.deepEqual(tok.encode("Hello world"), [15496, 995]);

    const vocab = JSON.parse(files["vocab.json"]);
    [vocab["Ġworld"], vocab["Hello"]] = [vocab["Hello"], vocab["Ġworld"]];
    await writeFiles(`${dir}/swapped`, { ...files, "vocab.json": JSON.stringify(vocab) });
    await assert.rejects(
      () => loadTokenizer(`${dir}/swapped`),
      /swapped\/vocab\.json: not GPT-2's vocabulary \(token "Ġworld" should be id 995, it is 15496\)/,
    );

    await writeFiles(`${dir}/small`, { ...files, "vocab.json": JSON.stringify({ a: 0 }) });
    await assert.rejects(() => loadTokenizer(`${dir}/small`), /small\/vocab\.json: not GPT-2's vocabulary \(expected 50257 entries/);

    const merges = files["merges.txt"].split("\n");
    [merges[1], merges[2]] = [merges[2], merges[1]];
    await writeFiles(`${dir}/merges`, { ...files, "merges.txt": merges.join("\n") });
    await assert.rejects(
      () => loadTokenizer(`${dir}/merges`),
      /merges\/merges\.txt:2: merge "Ġ a" is not GPT-2's merge 0 \(which makes "Ġt"\)/,
    );

    await writeFiles(`${dir}/half`, { "vocab.json": files["vocab.json"] });
    await assert.rejects(() => loadTokenizer(`${dir}/half`), /merges\.txt is missing/);
  });
});

Deno.test("loadTokenizer() names the file of a bad or ambiguous tokenizer", async () => {
  await withTempDir(async (dir) => {
    await writeFiles(`${dir}/kind`, { [BPE_FILE]: JSON.stringify({ kind: "sentencepiece", pruned_ids: null }) });
    await assert.rejects(
      () => loadTokenizer(`${dir}/kind`),
      /kind\/rlhf_tokenizer\.json: field "kind" must be "gpt2-bpe", got "sentencepiece"/,
    );
    await writeFiles(`${dir}/order`, { [BPE_FILE]: JSON.stringify({ kind: "gpt2-bpe", pruned_ids: [...buildPrunedIdMap([])].reverse() }) });
    await assert.rejects(
      () => loadTokenizer(`${dir}/order`),
      /order\/rlhf_tokenizer\.json: Gpt2BpeTokenizer: pruned ids must be strictly ascending/,
    );
    await writeFiles(`${dir}/json`, { [BPE_FILE]: "{kind" });
    await assert.rejects(() => loadTokenizer(`${dir}/json`), /json\/rlhf_tokenizer\.json: invalid JSON/);
    await writeFiles(`${dir}/vocab`, { "vocab.txt": "[UNK]\n[SEP]\n的\n的\n" });
    await assert.rejects(() => loadTokenizer(`${dir}/vocab`), /vocab\/vocab\.txt:4: duplicate token/);
    await writeFiles(`${dir}/both`, { "vocab.txt": "[UNK]\n[SEP]\n", [BPE_FILE]: JSON.stringify({ kind: "gpt2-bpe", pruned_ids: null }) });
    await assert.rejects(() => loadTokenizer(`${dir}/both`), /both vocab\.txt and rlhf_tokenizer\.json are present/);
  });
});

Deno.test("CharVocabTokenizer: a vocabulary line that is an Object.prototype name (toString) is an ordinary token", () => {
  const tok = CharVocabTokenizer.fromVocabText(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "toString", "constructor", "a"].join("\n"));
  assert.equal(tok.tokens[4], "toString");
  assert.equal(tok.vocabSize, 7);
});

/**
 * The shipped base (models/gpt2-poetry-zh): it loads with loadPretrained, its
 * vocabulary round-trips the held-out poems (up to the rare characters it
 * leaves out, at the share the model card states), and its held-out loss on
 * the fixed slice is the one the model card and training log state.
 */
import { initBackend } from "../lib/backend.ts";
import { loadPoems, splitPoems } from "../lib/corpus/poems.ts";
import { poemDocument } from "../lib/corpus/base_corpus.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { BASE_MODEL_DIR } from "../lib/pipeline/base_export.ts";
import { heldoutSliceLoss, unknownShare } from "../lib/pipeline/base_stage.ts";
import { loadPretrained } from "../lib/pretrained.ts";
import { CharVocabTokenizer } from "../lib/tokenizer/char_vocab.ts";
import { CHAT_SPECIAL_TOKENS } from "../lib/tokenizer/chat_template.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });
const { heldout } = splitPoems(await loadPoems());
const card = await Deno.readTextFile(`${BASE_MODEL_DIR}/README.md`);
const log = JSON.parse(await Deno.readTextFile(`${BASE_MODEL_DIR}/training_log.json`)) as { heldout_slice_loss: number };

Deno.test("the shipped base loads in the HF layout, with its character vocabulary and the chat markers", async () => {
  const base = await loadPretrained(BASE_MODEL_DIR);
  try {
    assert.ok(base.tokenizer instanceof CharVocabTokenizer);
    assert.equal(base.tokenizer.vocabSize, base.config.vocab_size);
    for (const marker of CHAT_SPECIAL_TOKENS) assert.ok(base.tokenizer.idOf(marker) !== undefined, marker);
    const bytes = [...Deno.readDirSync(BASE_MODEL_DIR)].reduce((n, e) => n + Deno.statSync(`${BASE_MODEL_DIR}/${e.name}`).size, 0);
    assert.ok(bytes < 40e6, `${bytes} bytes`);
  } finally {
    disposeGPT2(base);
  }
});

Deno.test("the base's vocabulary round-trips the held-out poems; the characters it leaves out are as rare as the card says", async () => {
  const base = await loadPretrained(BASE_MODEL_DIR);
  try {
    const tokenizer = base.tokenizer as CharVocabTokenizer;
    const known = heldout.filter((p) => [...poemDocument(p)].every((c) => c === "\n" || tokenizer.idOf(c) !== undefined));
    assert.ok(known.length > 0.9 * heldout.length, `${known.length} of ${heldout.length} poems use only known characters`);
    for (const p of known) assert.equal(tokenizer.decode(tokenizer.encode(poemDocument(p))), poemDocument(p));
    const stated = Number(card.match(/held-out poems ([0-9.]+) %/)?.[1]);
    assert.ok(Math.abs(100 * unknownShare(tokenizer, heldout) - stated) < 0.001, `card: ${stated} %`);
  } finally {
    disposeGPT2(base);
  }
});

Deno.test("the base's held-out loss on the fixed slice is the model card's, within 0.01", async () => {
  const base = await loadPretrained(BASE_MODEL_DIR);
  try {
    const loss = await heldoutSliceLoss(base, base.tokenizer as CharVocabTokenizer, heldout);
    const stated = Number(card.match(/\*\*([0-9.]+)\*\* on the fixed slice/)?.[1]);
    assert.ok(Math.abs(loss - stated) < 0.01, `measured ${loss}, card ${stated}`);
    assert.ok(Math.abs(loss - log.heldout_slice_loss) < 0.01, `measured ${loss}, training_log.json ${log.heldout_slice_loss}`);
  } finally {
    disposeGPT2(base);
  }
});

import { buildCharVocab, CharVocabTokenizer } from "../lib/tokenizer/char_vocab.ts";
import { Gpt2BpeTokenizer } from "../lib/tokenizer/gpt2_bpe.ts";
import {
  CHAT_SPECIAL_TOKENS,
  chatTemplateFor,
  decodeReply,
  encodeChat,
  encodePrompt,
  endOfTurnId,
  renderChat,
} from "../lib/tokenizer/chat_template.ts";
import { assert } from "./helpers.ts";

const chat = [
  { role: "user" as const, content: "写一首五言绝句，题目是静夜思" },
  { role: "assistant" as const, content: "床前明月光，疑是地上霜。" },
];
const charTok = buildCharVocab([chat[0].content + chat[1].content], { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
const bpeTok = new Gpt2BpeTokenizer();

for (const [name, tok] of [["char vocab", charTok], ["GPT-2 BPE", bpeTok]] as const) {
  Deno.test(`encodeChat() masks exactly the assistant's tokens and end-of-turn (${name})`, () => {
    const template = chatTemplateFor(tok);
    const { ids, lossMask } = encodeChat(chat, tok);
    assert.equal(ids.length, lossMask.length);
    // The trained tokens decode to the reply followed by the end-of-turn marker.
    const trained = ids.filter((_, i) => lossMask[i] === 1);
    assert.equal(tok.decode(trained), chat[1].content + template.endOfTurn);
    // The untrained tokens are the user's turn and the role prefixes.
    const untrained = ids.filter((_, i) => lossMask[i] === 0);
    assert.equal(tok.decode(untrained), renderChat([chat[0]], template) + template.rolePrefix.assistant + template.separator);
    // Piecewise encoding decodes to the rendered conversation.
    assert.equal(tok.decode(ids), renderChat(chat, template));
    assert.equal(trained.at(-1), endOfTurnId(tok));
  });

  Deno.test(`encodePrompt() ends with the assistant prefix and decodeReply() stops at end-of-turn (${name})`, () => {
    const prompt = encodePrompt([chat[0]], tok);
    assert.ok(tok.decode(prompt).endsWith(chatTemplateFor(tok).rolePrefix.assistant));
    const generated = [...tok.encode("床前明月光"), endOfTurnId(tok), ...tok.encode("多余")];
    assert.deepEqual(decodeReply(generated, tok), { text: "床前明月光", ended: true });
    assert.deepEqual(decodeReply(tok.encode("床前"), tok), { text: "床前", ended: false });
  });
}

Deno.test("chatTemplateFor() uses [unused1..4] of a BERT-Chinese vocab, and explains a vocabulary with neither", () => {
  const bert = CharVocabTokenizer.fromVocabText(["[PAD]", "[unused1]", "[unused2]", "[unused3]", "[unused4]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "床", "前"].join("\n"));
  assert.equal(chatTemplateFor(bert).endOfTurn, "[unused4]");
  const { ids, lossMask } = encodeChat([{ role: "user", content: "床" }, { role: "assistant", content: "前" }], bert);
  assert.deepEqual(ids, [2, 9, 4, 3, 10, 4]);
  assert.deepEqual(lossMask, [0, 0, 0, 0, 1, 1]);
  assert.throws(() => chatTemplateFor(buildCharVocab(["床前"])), /has neither the special tokens <\|system\|>/);
});

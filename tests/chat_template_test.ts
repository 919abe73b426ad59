import { buildCharVocab, CharVocabTokenizer } from "../lib/tokenizer/char_vocab.ts";
import { Gpt2BpeTokenizer } from "../lib/tokenizer/gpt2_bpe.ts";
import {
  CHAR_CHAT_TEMPLATE,
  CHAT_SPECIAL_TOKENS,
  type ChatMessage,
  chatTemplateFor,
  decodeReply,
  encodeChat,
  encodePrompt,
  endOfTurnId,
  GPT2_CHAT_TEMPLATE,
  parseAssistantReply,
  renderChat,
} from "../lib/tokenizer/chat_template.ts";
import type { Tokenizer } from "../lib/tokenizer/types.ts";
import { assert } from "./helpers.ts";

const chat: ChatMessage[] = [
  { role: "system", content: "你是诗人。" },
  { role: "user", content: "写一首五言绝句，题目是静夜思" },
  { role: "assistant", content: "床前明月光，疑是地上霜。" },
  { role: "user", content: "Another one 👍🏽" },
  { role: "assistant", content: "举头望明月，\n低头思故乡。" },
];
/** Contents that stress the BPE boundaries: leading/trailing spaces and newlines, empty, punctuation, emoji. */
const AWKWARD = ["", " ", "  two", "\nnewline first", "ends with space ", "'s contraction", "!?", "🧑‍💻", "42", "trailing\n"];

const corpus = [...chat, ...AWKWARD.map((content) => ({ content }))].map((m) => m.content).join("");
const tokenizers: [string, Tokenizer][] = [
  ["char vocab", buildCharVocab([corpus], { extraSpecialTokens: CHAT_SPECIAL_TOKENS })],
  ["GPT-2 BPE", new Gpt2BpeTokenizer()],
  ["pruned GPT-2 BPE", Gpt2BpeTokenizer.pruned([chat[1].content])],
];

/**
 * The mask a naive reading of the template gives: encode the rendered text up
 * to the start and the end of each assistant reply, and mark what lies between.
 */
function expectedMask(messages: readonly ChatMessage[], tok: Tokenizer): number[] {
  const template = chatTemplateFor(tok);
  const mask = Array(tok.encode(renderChat(messages, template)).length).fill(0);
  messages.forEach((m, i) => {
    if (m.role !== "assistant") return;
    const before = renderChat(messages.slice(0, i), template, { addGenerationPrompt: true });
    const through = renderChat(messages.slice(0, i + 1), template);
    mask.fill(1, tok.encode(before).length, tok.encode(through).length);
  });
  return mask;
}

Deno.test("renderChat() writes the documented text for each template", () => {
  const short = chat.slice(1, 3);
  assert.equal(
    renderChat(short, CHAR_CHAT_TEMPLATE),
    "<|user|>写一首五言绝句，题目是静夜思<|end|><|assistant|>床前明月光，疑是地上霜。<|end|>",
  );
  assert.equal(
    renderChat(short, GPT2_CHAT_TEMPLATE),
    "User: 写一首五言绝句，题目是静夜思<|endoftext|>\nAssistant: 床前明月光，疑是地上霜。<|endoftext|>",
  );
  assert.equal(renderChat([chat[0]], GPT2_CHAT_TEMPLATE, { addGenerationPrompt: true }), "System: 你是诗人。<|endoftext|>\nAssistant:");
  assert.equal(renderChat([], CHAR_CHAT_TEMPLATE, { addGenerationPrompt: true }), "<|assistant|>");
});

for (const [name, tok] of tokenizers) {
  Deno.test(`encodeChat() ids equal the encoded rendered conversation (${name})`, () => {
    const template = chatTemplateFor(tok);
    assert.deepEqual(encodeChat(chat, tok).ids, tok.encode(renderChat(chat, template)));
    for (const user of AWKWARD) {
      for (const reply of AWKWARD) {
        const messages: ChatMessage[] = [{ role: "user", content: user }, { role: "assistant", content: reply }];
        const { ids } = encodeChat(messages, tok);
        assert.deepEqual(ids, tok.encode(renderChat(messages, template)), JSON.stringify(messages));
        assert.equal(tok.decode(ids), renderChat(messages, template));
      }
    }
  });

  Deno.test(`encodeChat() masks exactly the assistant's tokens and end-of-turn (${name})`, () => {
    const template = chatTemplateFor(tok);
    const { ids, lossMask } = encodeChat(chat, tok);
    assert.equal(lossMask.length, ids.length);
    assert.deepEqual(lossMask, expectedMask(chat, tok));
    for (const user of AWKWARD) {
      for (const reply of AWKWARD) {
        const messages: ChatMessage[] = [{ role: "user", content: user }, { role: "assistant", content: reply }];
        assert.deepEqual(encodeChat(messages, tok).lossMask, expectedMask(messages, tok), JSON.stringify(messages));
      }
    }
    // Trained: each reply (with the content prefix) and its end-of-turn; nothing of the system or user turns.
    const eot = endOfTurnId(tok);
    const trained = ids.filter((_, i) => lossMask[i] === 1);
    assert.equal(trained.filter((id) => id === eot).length, 2, "one end-of-turn per assistant message");
    assert.equal(tok.decode(trained), [chat[2], chat[4]].map((m) => template.contentPrefix + m.content + template.endOfTurn).join(""));
    assert.equal(ids.at(-1), eot);
    assert.equal(lossMask.at(-1), 1);
    // Untrained: system and user turns, role prefixes, separators.
    const untrained = tok.decode(ids.filter((_, i) => lossMask[i] === 0));
    for (const m of chat) assert.equal(untrained.includes(m.content), m.role !== "assistant", m.content);
  });

  Deno.test(`encodePrompt() is the start of the encoded conversation, ending with the assistant prefix (${name})`, () => {
    const template = chatTemplateFor(tok);
    const history = chat.slice(0, 4);
    const prompt = encodePrompt(history, tok);
    assert.deepEqual(prompt, tok.encode(renderChat(history, template, { addGenerationPrompt: true })));
    assert.deepEqual(encodeChat(chat, tok).ids.slice(0, prompt.length), prompt, "what SFT trained on follows exactly this prompt");
    assert.ok(tok.decode(prompt).endsWith(template.separator + template.rolePrefix.assistant));
    assert.equal(encodeChat(chat, tok).lossMask[prompt.length], 1, "the first generated token is a trained one");
  });

  Deno.test(`parseAssistantReply() cuts at the end-of-turn marker (${name})`, () => {
    const template = chatTemplateFor(tok);
    const eot = endOfTurnId(tok);
    // Exactly what SFT trains the model to produce after the prompt parses back to the reply.
    const { ids, lossMask } = encodeChat(chat.slice(1, 3), tok);
    const generated = ids.filter((_, i) => lossMask[i] === 1);
    assert.deepEqual(parseAssistantReply([...generated, ...tok.encode("多余")], tok), { text: chat[2].content, ended: true });
    assert.deepEqual(parseAssistantReply(generated.slice(0, -1), tok), { text: chat[2].content, ended: false });
    assert.deepEqual(decodeReply([eot], tok), { text: "", ended: true });
    const asText = template.contentPrefix + "床前" + template.endOfTurn + "多余";
    assert.deepEqual(parseAssistantReply(asText, tok), { text: "床前", ended: true });
    assert.deepEqual(parseAssistantReply("床前", tok), { text: "床前", ended: false });
  });
}

Deno.test("endOfTurnId() is <|end|> for a char vocab and <|endoftext|> for GPT-2", () => {
  const [[, charTok], [, bpe], [, pruned]] = tokenizers;
  assert.equal(endOfTurnId(charTok), (charTok as CharVocabTokenizer).idOf("<|end|>"));
  assert.notEqual(endOfTurnId(charTok), charTok.eosId, "turns end with <|end|>, documents with [SEP]");
  assert.equal(endOfTurnId(bpe), 50256);
  assert.equal(endOfTurnId(pruned), pruned.eosId);
  assert.throws(() => endOfTurnId(bpe, CHAR_CHAT_TEMPLATE), /end-of-turn marker <\|end\|> is not a special token/);
});

Deno.test("chatTemplateFor() uses [unused1..4] of a BERT-Chinese vocab, and explains a vocabulary with neither", () => {
  const bert = CharVocabTokenizer.fromVocabText(
    ["[PAD]", "[unused1]", "[unused2]", "[unused3]", "[unused4]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "床", "前"].join("\n"),
  );
  assert.equal(chatTemplateFor(bert).endOfTurn, "[unused4]");
  const { ids, lossMask } = encodeChat([{ role: "user", content: "床" }, { role: "assistant", content: "前" }], bert);
  assert.deepEqual(ids, [2, 9, 4, 3, 10, 4]);
  assert.deepEqual(lossMask, [0, 0, 0, 0, 1, 1]);
  assert.deepEqual(encodePrompt([{ role: "user", content: "床" }], bert), [2, 9, 4, 3]);
  assert.throws(() => chatTemplateFor(buildCharVocab(["床前"])), /has neither the special tokens <\|system\|>/);
});

/** Tokenizers and the chat template. */
export type { Tokenizer } from "./types.ts";
export { BERT_SPECIAL_TOKENS, buildCharVocab, CharVocabTokenizer } from "./char_vocab.ts";
export { GPT2_EOS, GPT2_EOS_ID, GPT2_VOCAB_SIZE, Gpt2BpeTokenizer } from "./gpt2_bpe.ts";
export {
  CHAR_CHAT_TEMPLATE,
  CHAT_SPECIAL_TOKENS,
  type ChatMessage,
  type ChatTemplate,
  chatTemplateFor,
  decodeReply,
  encodeChat,
  encodePrompt,
  endOfTurnId,
  GPT2_CHAT_TEMPLATE,
  renderChat,
  UNUSED_CHAT_TEMPLATE,
  type Role,
} from "./chat_template.ts";
export { BPE_FILE, loadTokenizer, saveTokenizerFiles } from "./io.ts";

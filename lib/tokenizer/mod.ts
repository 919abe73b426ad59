/** Tokenizers (GPT-2 BPE, character vocabulary), the chat template and tokenizer files. */
export type { Tokenizer } from "./types.ts";
export {
  BERT_SPECIAL_TOKENS,
  buildCharVocab,
  type BuildCharVocabOptions,
  CharVocabTokenizer,
  SPECIAL_TOKEN_PATTERN,
  vocabText,
} from "./char_vocab.ts";
export {
  buildPrunedIdMap,
  decodeGpt2,
  encodeGpt2,
  GPT2_BYTE_CHAR,
  GPT2_BYTE_TOKEN,
  GPT2_EOS,
  GPT2_EOS_ID,
  GPT2_VOCAB_SIZE,
  Gpt2BpeTokenizer,
  gpt2TokenBytes,
  gpt2VocabKey,
} from "./gpt2_bpe.ts";
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
  parseAssistantReply,
  renderChat,
  type RenderChatOptions,
  type Role,
  UNUSED_CHAT_TEMPLATE,
} from "./chat_template.ts";
export { BPE_FILE, loadTokenizer, saveTokenizerFiles } from "./io.ts";
export { unknownTokenIds } from "./coverage.ts";

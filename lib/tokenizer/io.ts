/**
 * Tokenizer files in a checkpoint directory:
 * - `vocab.txt` (+ `tokenizer_config.json`): a character vocabulary, as
 *   `uer/gpt2-chinese-cluecorpussmall` ships it, readable by HF's BertTokenizer;
 * - `rlhf_tokenizer.json`: GPT-2 BPE, with the pruned id map if any
 *   (`{"kind": "gpt2-bpe", "pruned_ids": [...] | null}`);
 * - `vocab.json` + `merges.txt`: a real Hugging Face GPT-2 directory. It is
 *   read as our GPT-2 BPE only after checking that it is GPT-2's: every
 *   vocab.json entry must be the id gpt-tokenizer gives that token, and merge
 *   k of merges.txt must make token 256 + k (GPT-2's ids 256..50255 are its
 *   merges in order; tiktoken builds its ranks the same way).
 */
import { join } from "../platform/path.ts";
import { platform } from "../platform/platform.ts";
import { BERT_SPECIAL_TOKENS, CharVocabTokenizer } from "./char_vocab.ts";
import { GPT2_EOS, GPT2_EOS_ID, GPT2_VOCAB_SIZE, Gpt2BpeTokenizer, gpt2VocabKey } from "./gpt2_bpe.ts";
import type { Tokenizer } from "./types.ts";

/**
 * The file that holds a GPT-2 BPE tokenizer (and its pruned ids) in a checkpoint directory.
 *
 * @example
 * ```ts
 * import { BPE_FILE, Gpt2BpeTokenizer, saveTokenizerFiles } from "rlhf";
 * BPE_FILE in saveTokenizerFiles(Gpt2BpeTokenizer.pruned(["床前"])); // true
 * ```
 */
export const BPE_FILE = "rlhf_tokenizer.json";
/** GPT-2 has 50000 merges: ids 256..50255. */
const GPT2_MERGES = GPT2_EOS_ID - 256;

/**
 * File name → contents describing `tokenizer` (the checkpoint writer writes them atomically).
 *
 * @example
 * ```ts
 * import { buildCharVocab, saveTokenizerFiles } from "rlhf";
 * Object.keys(saveTokenizerFiles(buildCharVocab(["床前"]))); // ["vocab.txt", "tokenizer_config.json"], as BertTokenizer reads them
 * ```
 */
export function saveTokenizerFiles(tokenizer: Tokenizer): Record<string, string> {
  if (tokenizer instanceof CharVocabTokenizer) {
    const bert: readonly string[] = BERT_SPECIAL_TOKENS;
    return {
      "vocab.txt": tokenizer.vocabText(),
      "tokenizer_config.json": JSON.stringify(
        {
          tokenizer_class: "BertTokenizer",
          do_lower_case: false,
          unk_token: "[UNK]",
          sep_token: "[SEP]",
          pad_token: "[PAD]",
          cls_token: "[CLS]",
          mask_token: "[MASK]",
          // So that HF keeps the chat markers whole too, as our encode does.
          additional_special_tokens: Object.keys(tokenizer.specialTokens).filter((t) => !bert.includes(t)).sort(),
        },
        null,
        2,
      ) + "\n",
    };
  }
  if (tokenizer instanceof Gpt2BpeTokenizer) {
    return { [BPE_FILE]: JSON.stringify({ kind: "gpt2-bpe", pruned_ids: tokenizer.prunedIds ?? null }) + "\n" };
  }
  throw new Error(`saveTokenizerFiles: no file format for a ${tokenizer.kind} tokenizer of another class`);
}

/**
 * Reads the tokenizer of a directory (see the module doc for the formats), or
 * undefined when it has none. Errors name the file.
 *
 * @example
 * ```ts
 * import { loadTokenizer } from "rlhf";
 * const tok = await loadTokenizer("models/gpt2-poetry-zh"); // from its vocab.txt
 * tok?.vocabSize; // 5676
 * ```
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer | undefined> {
  const vocabTxtPath = join(dir, "vocab.txt");
  const bpePath = join(dir, BPE_FILE);
  const vocabTxt = await readIfExists(vocabTxtPath);
  const bpe = await readIfExists(bpePath);
  if (vocabTxt !== undefined && bpe !== undefined) {
    throw new Error(`${dir}: both vocab.txt and ${BPE_FILE} are present; which tokenizer the model uses is ambiguous`);
  }
  if (vocabTxt !== undefined) return CharVocabTokenizer.fromVocabText(vocabTxt, vocabTxtPath);
  if (bpe !== undefined) return readBpeFile(bpe, bpePath);

  const vocabJsonPath = join(dir, "vocab.json");
  const mergesPath = join(dir, "merges.txt");
  const vocabJson = await readIfExists(vocabJsonPath);
  const merges = await readIfExists(mergesPath);
  if (vocabJson === undefined && merges === undefined) return undefined;
  if (vocabJson === undefined || merges === undefined) {
    throw new Error(
      `${dir}: a GPT-2 tokenizer needs both vocab.json and merges.txt; ${vocabJson === undefined ? "vocab.json" : "merges.txt"} is missing`,
    );
  }
  checkGpt2VocabJson(parseJson(vocabJson, vocabJsonPath), vocabJsonPath);
  checkGpt2Merges(merges, mergesPath);
  return new Gpt2BpeTokenizer();
}

function readBpeFile(text: string, path: string): Gpt2BpeTokenizer {
  const json = parseJson(text, path);
  if (typeof json !== "object" || json === null) throw new Error(`${path}: expected a JSON object`);
  const { kind, pruned_ids: pruned } = json as { kind?: unknown; pruned_ids?: unknown };
  if (kind !== "gpt2-bpe") throw new Error(`${path}: field "kind" must be "gpt2-bpe", got ${JSON.stringify(kind)}`);
  if (pruned !== null && !(Array.isArray(pruned) && pruned.every((i) => typeof i === "number"))) {
    throw new Error(`${path}: field "pruned_ids" must be null or a list of GPT-2 ids`);
  }
  try {
    return new Gpt2BpeTokenizer(pruned ?? undefined);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** vocab.json must map every GPT-2 token, written with HF's byte characters, to gpt-tokenizer's id for it. */
function checkGpt2VocabJson(vocab: unknown, path: string): void {
  if (typeof vocab !== "object" || vocab === null || Array.isArray(vocab)) throw new Error(`${path}: expected a JSON object token → id`);
  const entries = vocab as Record<string, unknown>;
  const size = Object.keys(entries).length;
  if (size !== GPT2_VOCAB_SIZE || entries[GPT2_EOS] !== GPT2_EOS_ID) {
    throw new Error(
      `${path}: not GPT-2's vocabulary (expected ${GPT2_VOCAB_SIZE} entries with ${GPT2_EOS} = ${GPT2_EOS_ID}; it has ${size})`,
    );
  }
  for (let id = 0; id < GPT2_VOCAB_SIZE; id++) {
    const key = gpt2VocabKey(id);
    if (entries[key] !== id) {
      throw new Error(
        `${path}: not GPT-2's vocabulary (token ${JSON.stringify(key)} should be id ${id}, it is ${JSON.stringify(entries[key])})`,
      );
    }
  }
}

/** merges.txt: an optional "#version" line, then 50000 merges "a b" where merge k joins into token 256 + k. */
function checkGpt2Merges(text: string, path: string): void {
  const merges: { line: string; lineNo: number }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line !== "" && !(i === 0 && line.startsWith("#version"))) merges.push({ line, lineNo: i + 1 });
  });
  if (merges.length !== GPT2_MERGES) throw new Error(`${path}: GPT-2 has ${GPT2_MERGES} merges, this file has ${merges.length}`);
  merges.forEach(({ line, lineNo }, k) => {
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] + parts[1] !== gpt2VocabKey(256 + k)) {
      throw new Error(
        `${path}:${lineNo}: merge ${JSON.stringify(line)} is not GPT-2's merge ${k} (which makes ${JSON.stringify(gpt2VocabKey(256 + k))})`,
      );
    }
  });
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await platform().readTextFile(path);
  } catch (err) {
    if (platform().isNotFound(err)) return undefined;
    throw new Error(`${path}: cannot read (${(err as Error).message})`);
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: invalid JSON (${(err as Error).message})`);
  }
}

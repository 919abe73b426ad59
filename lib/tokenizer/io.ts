/**
 * Tokenizer files in a checkpoint directory:
 * - `vocab.txt` (+ `tokenizer_config.json`): a character vocabulary, as
 *   `uer/gpt2-chinese-cluecorpussmall` ships it;
 * - `rlhf_tokenizer.json`: GPT-2 BPE, with the pruned id map if any;
 * - `vocab.json` + `merges.txt`: a real Hugging Face GPT-2 directory (the ids
 *   of gpt-tokenizer's r50k_base are GPT-2's, so only the size is checked).
 */
import { join } from "node:path";
import { CharVocabTokenizer } from "./char_vocab.ts";
import { GPT2_EOS, GPT2_EOS_ID, GPT2_VOCAB_SIZE, Gpt2BpeTokenizer } from "./gpt2_bpe.ts";
import type { Tokenizer } from "./types.ts";

export const BPE_FILE = "rlhf_tokenizer.json";

/** File name → contents describing `tokenizer` (written by the checkpoint writer). */
export function saveTokenizerFiles(tokenizer: Tokenizer): Record<string, string> {
  if (tokenizer instanceof CharVocabTokenizer) {
    return {
      "vocab.txt": tokenizer.vocabText(),
      "tokenizer_config.json": JSON.stringify({
        tokenizer_class: "BertTokenizer",
        do_lower_case: false,
        unk_token: "[UNK]",
        sep_token: "[SEP]",
        pad_token: "[PAD]",
        cls_token: "[CLS]",
        mask_token: "[MASK]",
      }, null, 2) + "\n",
    };
  }
  if (tokenizer instanceof Gpt2BpeTokenizer) {
    return { [BPE_FILE]: JSON.stringify({ kind: "gpt2-bpe", pruned_ids: tokenizer.prunedIds ?? null }) + "\n" };
  }
  throw new Error(`saveTokenizerFiles: unknown tokenizer kind ${tokenizer.kind}`);
}

/** Reads the tokenizer of a directory, or undefined when it has none. */
export async function loadTokenizer(dir: string): Promise<Tokenizer | undefined> {
  const vocabTxt = join(dir, "vocab.txt");
  const text = await readIfExists(vocabTxt);
  if (text !== undefined) return CharVocabTokenizer.fromVocabText(text, vocabTxt);

  const bpePath = join(dir, BPE_FILE);
  const bpe = await readIfExists(bpePath);
  if (bpe !== undefined) {
    const json = parseJson(bpe, bpePath) as { kind?: unknown; pruned_ids?: unknown };
    if (json.kind !== "gpt2-bpe") throw new Error(`${bpePath}: field "kind" must be "gpt2-bpe", got ${JSON.stringify(json.kind)}`);
    const pruned = json.pruned_ids;
    if (pruned !== null && !(Array.isArray(pruned) && pruned.every((i) => Number.isInteger(i) && i >= 0 && i < GPT2_VOCAB_SIZE))) {
      throw new Error(`${bpePath}: field "pruned_ids" must be null or a list of GPT-2 ids`);
    }
    return new Gpt2BpeTokenizer(pruned ?? undefined);
  }

  const vocabJsonPath = join(dir, "vocab.json");
  const vocabJson = await readIfExists(vocabJsonPath);
  if (vocabJson !== undefined && (await readIfExists(join(dir, "merges.txt"))) !== undefined) {
    const vocab = parseJson(vocabJson, vocabJsonPath) as Record<string, number>;
    if (Object.keys(vocab).length !== GPT2_VOCAB_SIZE || vocab[GPT2_EOS] !== GPT2_EOS_ID) {
      throw new Error(`${vocabJsonPath}: not GPT-2's vocabulary (expected ${GPT2_VOCAB_SIZE} entries with ${GPT2_EOS} = ${GPT2_EOS_ID})`);
    }
    return new Gpt2BpeTokenizer();
  }
  return undefined;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: invalid JSON (${(err as Error).message})`);
  }
}

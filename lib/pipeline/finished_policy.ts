/**
 * The stages that train a policy in one go (DPO, RLOO/GRPO) save it in the HF
 * layout with a small record beside it: the run's identity (what it started
 * from, on which data, with which settings) and what the caller needs back
 * (its history, its evaluation). A later run with the same identity loads the
 * policy instead of training again; any other identity trains anew.
 */
import type { GPT2Model } from "../gpt2/model_types.ts";
import { pathExists, readJsonFile } from "../fs.ts";
import { loadPretrained, savePretrained } from "../pretrained.ts";
import type { Tokenizer } from "../tokenizer/types.ts";

/** The saved policy and its record, when `dir/file` records `identity`; else undefined. */
export async function loadFinishedPolicy<R>(
  dir: string,
  file: string,
  identity: string,
): Promise<{ lm: GPT2Model; record: R } | undefined> {
  const path = `${dir}/${file}`;
  if (!(await pathExists(path))) return undefined;
  const saved = (await readJsonFile(path)) as { identity?: unknown; record?: R };
  if (saved.identity !== identity || saved.record === undefined) return undefined;
  const { tokenizer: _, ...lm } = await loadPretrained(dir);
  return { lm, record: saved.record };
}

/** Writes the policy, its tokenizer files and `{identity, record}` as `dir/file`, in one atomic directory swap. */
export function saveFinishedPolicy<R>(
  lm: GPT2Model,
  tokenizer: Tokenizer,
  dir: string,
  file: string,
  identity: string,
  record: R,
): Promise<void> {
  return savePretrained({ ...lm, tokenizer }, dir, { extraFiles: { [file]: JSON.stringify({ identity, record }) + "\n" } });
}

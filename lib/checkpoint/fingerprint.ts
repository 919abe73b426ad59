import { basename } from "../platform/path.ts";
import { platform } from "../platform/platform.ts";

/** The weights files a directory may hold, in the order they are looked for (the first found is hashed). */
const WEIGHT_FILES = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"];

/**
 * Which weights a checkpoint directory holds: `<directory name>@<first 12 hex of the SHA-256 of its weights
 * file>` (model.safetensors, or else the shard index, or else pytorch_model.bin), e.g. `sft@3f2a…`.
 * The content identifies, not the path: the same checkpoint reached from the repository root, from
 * notebooks/, through a symlink or under a moved checkpoint root has the same fingerprint, so a run there
 * resumes; the directory's own name is kept only so that a person can read which stage it was. Rank lists
 * record it as the model that sampled them, so a retrained model at the same path never reuses labels of
 * responses it did not write; fine-tuning runs record it as what they started from.
 *
 * @example
 * ```ts
 * import { checkpointFingerprint } from "rlhf";
 * await checkpointFingerprint("models/gpt2-poetry-zh"); // "gpt2-poetry-zh@" and the first 12 hex digits of its weights' SHA-256
 * ```
 */
export async function checkpointFingerprint(dir: string): Promise<string> {
  const base = dir.replace(/\/+$/, "");
  let bytes: Uint8Array<ArrayBuffer> | undefined;
  for (const file of WEIGHT_FILES) {
    try {
      bytes = await platform().readFile(`${base}/${file}`);
      break;
    } catch (err) {
      if (!platform().isNotFound(err)) {
        throw new Error(`checkpointFingerprint: cannot read ${base}/${file}: ${(err as Error).message}`);
      }
    }
  }
  if (!bytes) throw new Error(`checkpointFingerprint: ${base} holds no weights (${WEIGHT_FILES.join(", ")})`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${basename(base)}@${hex}`;
}

/**
 * Whether two fingerprints name the same weights: their hashes agree, whatever directory name they carry
 * (records written before fingerprints dropped the path, e.g. `checkpoints/sft@3f2a…`, still match).
 *
 * @example
 * ```ts
 * import { sameWeights } from "./fingerprint.ts";
 * sameWeights("checkpoints/sft@3f2a9c01d4e5", "sft@3f2a9c01d4e5"); // true
 * ```
 */
export function sameWeights(a: string, b: string): boolean {
  const hash = (f: string) => f.slice(f.lastIndexOf("@") + 1);
  return a.includes("@") && b.includes("@") && hash(a) === hash(b);
}

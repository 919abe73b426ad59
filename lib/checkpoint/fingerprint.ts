import { basename } from "node:path";
import { repoRelative } from "../fs.ts";

/** The weights files a directory may hold, in the order they are looked for (the first found is hashed). */
const WEIGHT_FILES = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"];

/**
 * Which weights a checkpoint directory holds: `<dir>@<first 12 hex of the
 * SHA-256 of its weights file>`, the directory named relative to the
 * repository root (the same from the root and from notebooks/) (model.safetensors, or else the shard index,
 * or else pytorch_model.bin). Rank lists record it as the model that sampled
 * them, so a retrained model at the same path never reuses labels of
 * responses it did not write.
 */
export async function checkpointFingerprint(dir: string): Promise<string> {
  const base = dir.replace(/\/+$/, "");
  let bytes: Uint8Array<ArrayBuffer> | undefined;
  for (const file of WEIGHT_FILES) {
    try {
      bytes = await Deno.readFile(`${base}/${file}`);
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new Error(`checkpointFingerprint: cannot read ${base}/${file}: ${(err as Error).message}`);
      }
    }
  }
  if (!bytes) throw new Error(`checkpointFingerprint: ${base} holds no weights (${WEIGHT_FILES.join(", ")})`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${repoRelative(base)}@${hex}`;
}

/**
 * The same weights under any path: `<directory name>@<hash>` (e.g. `gpt2-poetry-zh@3f2a…`). Fine-tuning runs
 * record it as what they started from; the notebooks reach the base as ../models/…, scripts as models/….
 */
export async function weightsFingerprint(dir: string): Promise<string> {
  const hash = (await checkpointFingerprint(dir)).split("@").at(-1);
  return `${basename(dir.replace(/\/+$/, ""))}@${hash}`;
}

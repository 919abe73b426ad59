import { basename } from "node:path";

/**
 * Which weights a checkpoint directory holds: `<dir>@<first 12 hex of the
 * SHA-256 of model.safetensors>`. Rank lists record it as the model that
 * sampled them, so a retrained model at the same path never reuses labels of
 * responses it did not write.
 */
export async function checkpointFingerprint(dir: string): Promise<string> {
  const path = `${dir.replace(/\/+$/, "")}/model.safetensors`;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new Error(`checkpointFingerprint: cannot read ${path}: ${err instanceof Error ? err.message : err}`);
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${dir.replace(/\/+$/, "")}@${hex}`;
}

/**
 * The same weights under any path: `<directory name>@<hash>` (e.g. `gpt2-poetry-zh@3f2a…`). Fine-tuning runs
 * record it as what they started from; the notebooks reach the base as ../models/…, scripts as models/….
 */
export async function weightsFingerprint(dir: string): Promise<string> {
  const hash = (await checkpointFingerprint(dir)).split("@").at(-1);
  return `${basename(dir.replace(/\/+$/, ""))}@${hash}`;
}

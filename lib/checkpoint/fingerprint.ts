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

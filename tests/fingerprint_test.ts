import { checkpointFingerprint } from "../lib/checkpoint/fingerprint.ts";
import { assert } from "./helpers.ts";

Deno.test("checkpointFingerprint() names the directory and changes with the weights, not with the path spelling", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/model.safetensors`, new Uint8Array([1, 2, 3]));
    const a = await checkpointFingerprint(dir);
    assert.match(a, new RegExp(`^${dir}@[0-9a-f]{12}$`));
    assert.equal(await checkpointFingerprint(`${dir}/`), a);
    await Deno.writeFile(`${dir}/model.safetensors`, new Uint8Array([1, 2, 4]));
    assert.notEqual(await checkpointFingerprint(dir), a);
    await Deno.remove(`${dir}/model.safetensors`);
    await assert.rejects(() => checkpointFingerprint(dir), Error, `${dir}/model.safetensors`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

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

Deno.test("checkpointFingerprint() names a directory inside the repository the same from the root and from notebooks/", async () => {
  const { REPO_ROOT } = await import("../lib/fs.ts");
  const name = `checkpoints/.fingerprint-test-${crypto.randomUUID().slice(0, 8)}`;
  const dir = `${REPO_ROOT}${name}`;
  await Deno.mkdir(dir, { recursive: true });
  try {
    await Deno.writeFile(`${dir}/model.safetensors`, new Uint8Array([1, 2, 3]));
    const fromRoot = await checkpointFingerprint(dir);
    assert.match(fromRoot, new RegExp(`^${name.replace(".", "\\.")}@[0-9a-f]{12}$`));
    assert.equal(await checkpointFingerprint(`${REPO_ROOT}notebooks/../${name}`), fromRoot);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

import { checkpointFingerprint } from "../lib/checkpoint/fingerprint.ts";
import { assert } from "./helpers.ts";

Deno.test("checkpointFingerprint() names the directory and changes with the weights, not with the path spelling", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/model.safetensors`, new Uint8Array([1, 2, 3]));
    const a = await checkpointFingerprint(dir);
    assert.match(a, new RegExp(`^${dir.split("/").pop()}@[0-9a-f]{12}$`));
    assert.equal(await checkpointFingerprint(`${dir}/`), a);
    await Deno.writeFile(`${dir}/model.safetensors`, new Uint8Array([1, 2, 4]));
    assert.notEqual(await checkpointFingerprint(dir), a);
    await Deno.remove(`${dir}/model.safetensors`);
    await assert.rejects(() => checkpointFingerprint(dir), Error, `${dir}/model.safetensors`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkpointFingerprint() is the same through a symlinked root, a moved root and a relative path", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/checkpoints/sft`, { recursive: true });
    await Deno.writeFile(`${root}/checkpoints/sft/model.safetensors`, new Uint8Array([1, 2, 3]));
    const original = await checkpointFingerprint(`${root}/checkpoints/sft`);
    await Deno.symlink(`${root}/checkpoints`, `${root}/linked`);
    assert.equal(await checkpointFingerprint(`${root}/linked/sft`), original, "through a symlink");
    assert.equal(await checkpointFingerprint(`${root}/checkpoints/../checkpoints/sft`), original, "another spelling");
    await Deno.rename(`${root}/checkpoints`, `${root}/moved`);
    assert.equal(await checkpointFingerprint(`${root}/moved/sft`), original, "a moved root");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("sameWeights() compares the hashes only, so records written with the directory's path still match", async () => {
  const { sameWeights } = await import("../lib/checkpoint/fingerprint.ts");
  assert.ok(sameWeights("checkpoints/sft@3f2a9c01d4e5", "sft@3f2a9c01d4e5"));
  assert.ok(!sameWeights("sft@3f2a9c01d4e5", "sft@000000000000"));
  assert.ok(!sameWeights("any", "any"), "a name without a hash is no fingerprint");
});

/**
 * Our checkpoints load outside this project: the PyTorch reference reads a
 * directory written by savePretrained() (transformer.-prefixed keys, HF
 * config.json) and computes the same logits. Runs where Debian's python3-torch
 * is installed; reported as ignored (not passed) elsewhere.
 */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { logits } from "../lib/gpt2/forward.ts";
import { savePretrained } from "../lib/pretrained.ts";
import { torchAvailable } from "../lib/bench/torch_reference.ts";
import { assert, maxAbsDiff } from "./helpers.ts";

const hasTorch = await torchAvailable();

Deno.test({
  name: "the PyTorch reference loads a savePretrained() directory and gets the same logits",
  ignore: !hasTorch,
  fn: async () => {
    await initBackend({ quiet: true });
    const config = resolveGPT2Config({ vocab_size: 50, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });
    const model = createGPT2(config, { seed: 9 });
    const dir = await Deno.makeTempDir();
    try {
      await savePretrained(model, `${dir}/ckpt`);
      const ids = [[1, 7, 3, 49, 0, 12]];
      const script = new URL("../reference/logits_of_checkpoint.py", import.meta.url).pathname;
      const out = await new Deno.Command("/usr/bin/python3", {
        args: [script, `${dir}/ckpt`, JSON.stringify(ids)],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const torch = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.equal(torch.keys, Object.keys(model.params).length);
      const ours = tf.tidy(() => logits(model, tf.tensor2d(ids, undefined, "int32")));
      assert.ok(maxAbsDiff(await ours.data(), torch.logits) <= 1e-4);
      ours.dispose();
    } finally {
      disposeGPT2(model);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

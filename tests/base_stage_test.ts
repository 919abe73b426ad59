/**
 * The shipped base's pretraining records the corpus and vocabulary it is built from, like the pipeline's
 * own (whose resume and refusal pretrain_stage_test.ts checks on the same trainer). One call: building the
 * base corpus and vocabulary takes ~10 s.
 */
import { join } from "node:path";
import { initBackend } from "../lib/backend.ts";
import { loadPoems, splitPoems } from "../lib/corpus/poems.ts";
import { poemDocument } from "../lib/corpus/base_corpus.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { runBasePretrain } from "../lib/pipeline/base_stage.ts";
import { pretrainingInputs } from "../lib/pipeline/pretrain_stage.ts";
import { RUN_FILE } from "../lib/run/run_directory.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });

Deno.test("runBasePretrain(): the checkpoint names the corpus and vocabulary it is built from", async () => {
  const { heldout } = splitPoems(await loadPoems());
  const dir = await Deno.makeTempDir();
  const options = {
    preset: "gpt2-nano" as const,
    seqLen: 32,
    batchSize: 2,
    checkpointDir: dir,
    quiet: true,
    train: { steps: 2, evalEvery: 2, checkpointEvery: 2, warmupSteps: 1 },
  };
  try {
    const first = await runBasePretrain(heldout.slice(0, 20), ["春风"], options);
    disposeGPT2(first.model);
    const state = JSON.parse(await Deno.readTextFile(join(dir, RUN_FILE))).identity as { started_from?: string };
    assert.equal(state.started_from, pretrainingInputs(first.corpus.train.map(poemDocument), first.tokenizer));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

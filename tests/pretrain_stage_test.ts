/** The pipeline's pretraining from scratch records the corpus and vocabulary it is built from. */
import { initBackend } from "../lib/backend.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { loadPoems } from "../lib/corpus/poems.ts";
import { runPretrainStage } from "../lib/pipeline/pretrain_stage.ts";
import { poetryTask } from "../lib/tasks/poetry_zh/task.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });

Deno.test("runPretrainStage(): a checkpoint built from another corpus is refused, not resumed", async () => {
  const poems = await loadPoems();
  const dir = await Deno.makeTempDir();
  const options = {
    preset: "gpt2-nano" as const,
    checkpointDir: dir,
    quiet: true,
    train: { steps: 2, evalEvery: 2, checkpointEvery: 2, warmupSteps: 1 },
  };
  try {
    const first = await runPretrainStage(poetryTask(poems.slice(0, 3000), { preference: "rules" }), options);
    disposeGPT2(first.model);
    await assert.rejects(
      () => runPretrainStage(poetryTask(poems.slice(0, 2500), { preference: "rules" }), options),
      /started_from: "corpus [0-9a-f]+ \+ vocabulary \d+@[0-9a-f]+" → "corpus [0-9a-f]+/,
    );
    const again = await runPretrainStage(poetryTask(poems.slice(0, 3000), { preference: "rules" }), options);
    assert.deepEqual({ ...again.history, reused: false }, first.history, "the same corpus: the finished run is reused");
    assert.equal(again.history.reused, true, "and said to be loaded");
    disposeGPT2(again.model);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

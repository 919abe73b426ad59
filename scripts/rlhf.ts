/**
 * `deno task rlhf`: the main job. Today it runs the first stage of the
 * chapter's pipeline — pretraining a tiny GPT-2 on the bundled Tang poems —
 * and prints samples; SFT, the reward model and PPO join as they land.
 *
 *   deno task rlhf             # default size, a few minutes on 2 CPU cores
 *   deno task rlhf --quick     # a first try in about a minute
 *   deno task rlhf --steps 2000 --preset gpt2-mini
 *
 * A killed run resumes from checkpoints/pretrain/ when started again with the
 * same settings.
 */
import { parseArgs } from "node:util";
import { initBackend } from "../lib/backend.ts";
import { countParams, disposeGPT2 } from "../lib/gpt2/init.ts";
import { GPT2_PRESETS, type GPT2PresetName } from "../lib/gpt2/config.ts";
import { runPretrainStage } from "../lib/pipeline/pretrain_stage.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    steps: { type: "string" },
    preset: { type: "string" },
    "checkpoint-dir": { type: "string" },
  },
});
if (values.preset && !(values.preset in GPT2_PRESETS)) {
  throw new Error(`--preset ${values.preset}: expected one of ${Object.keys(GPT2_PRESETS).join(", ")}`);
}
const steps = values.steps ? Number(values.steps) : values.quick ? 60 : undefined;
if (steps !== undefined && !(Number.isInteger(steps) && steps > 0)) throw new Error(`--steps ${values.steps}: expected a positive integer`);

const backend = await initBackend();
const started = performance.now();
const result = await runPretrainStage({
  ...(values.preset ? { preset: values.preset as GPT2PresetName } : {}),
  ...(values["checkpoint-dir"] ? { checkpointDir: values["checkpoint-dir"] } : values.quick ? { checkpointDir: "checkpoints/pretrain-quick" } : {}),
  train: steps ? { steps, evalEvery: Math.max(1, Math.floor(steps / 4)), checkpointEvery: Math.max(1, Math.floor(steps / 4)) } : {},
});
const seconds = (performance.now() - started) / 1000;

const { history, model } = result;
const firstEval = history.eval[0];
const lastEval = history.eval.at(-1);
console.log(`\n== pretrain (${backend}) ==`);
console.log(`model: ${model.config.n_layer} layers, ${model.config.n_head} heads, C=${model.config.n_embd}, vocab ${model.config.vocab_size}, ${(countParams(model) / 1e6).toFixed(2)}M parameters`);
console.log(`steps: ${history.train.length ? history.train.at(-1)!.step + 1 : "(resumed, already finished)"}, wall time ${seconds.toFixed(0)} s`);
if (history.train.length) {
  const tps = history.train.slice(-20).reduce((s, r) => s + r.tokensPerSecond, 0) / Math.min(20, history.train.length);
  console.log(`train loss ${history.train[0].loss.toFixed(3)} → ${history.train.at(-1)!.loss.toFixed(3)}, ~${tps.toFixed(0)} tokens/s`);
}
if (firstEval && lastEval) console.log(`held-out loss ${firstEval.loss.toFixed(3)} (step ${firstEval.step}) → ${lastEval.loss.toFixed(3)} (step ${lastEval.step})`);
console.log(`\nSamples (top-p 0.9) from the first two characters of held-out poems:`);
for (const s of result.samples) {
  console.log(`  prompt ${s.prompt}\n    model: ${s.generated.replaceAll("\n", " / ")}\n    real:  ${s.reference.replaceAll("\n", " / ")}`);
}
console.log(`\ncheckpoint: ${values["checkpoint-dir"] ?? (values.quick ? "checkpoints/pretrain-quick" : "checkpoints/pretrain")}/ (HF layout: config.json, model.safetensors, vocab.txt)`);
disposeGPT2(model);

/**
 * `deno task pretrain-base`: pretrains the shipped base (models/gpt2-poetry-zh)
 * on every regular Tang and Song poem. Hours on a CPU; resumable: a killed
 * run continues from checkpoints/base/ when started again with the same
 * settings. At the end it writes the model directory with its model card.
 *
 *   deno task pretrain-base                      # the shipped base's settings
 *   deno task pretrain-base --steps 200 --checkpoint-dir /tmp/base --out /tmp/base-model   # a short try
 */
import { describeBackend, initBackend } from "../lib/backend.ts";
import { machineLine } from "../lib/machine.ts";
import { loadPoems, splitPoems } from "../lib/corpus/poems.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { BASE_PRETRAIN_DEFAULTS, loadBaseRun, runBasePretrain } from "../lib/pipeline/base_stage.ts";
import { exportBase } from "../lib/pipeline/base_export.ts";
import { templateTexts, THEMES } from "../lib/tasks/poetry_zh/instructions.ts";
import { choiceFlag, parseCommand, positiveIntFlag, refuseOutputOverInput, runMain } from "../lib/cli.ts";
import { GPT2_PRESETS, type GPT2PresetName } from "../lib/gpt2/config.ts";

const { values } = parseCommand({
  command: "deno task pretrain-base",
  summary: "Pretrain the shipped base (models/gpt2-poetry-zh) on every regular Tang and Song poem; hours on a CPU, resumable.",
  flags: {
    preset: {
      type: "string",
      default: BASE_PRETRAIN_DEFAULTS.preset,
      value: "NAME",
      help: `model size, one of ${Object.keys(GPT2_PRESETS).join(", ")}`,
    },
    steps: { type: "string", value: "N", range: [1, 1_000_000], help: `optimiser steps (default ${BASE_PRETRAIN_DEFAULTS.train.steps})` },
    "checkpoint-dir": { type: "string", default: BASE_PRETRAIN_DEFAULTS.checkpointDir, value: "DIR", help: "the resumable training state" },
    "export-only": {
      type: "boolean",
      default: false,
      help: "write the model directory from the checkpoint as it stands, without training (a snapshot of a run in progress)",
    },
    out: { type: "string", default: "models/gpt2-poetry-zh", value: "DIR", help: "where the finished model goes (HF layout + model card)" },
  },
  examples: ["deno task pretrain-base", "deno task pretrain-base --steps 200 --checkpoint-dir /tmp/base --out /tmp/base-model"],
});
const steps = positiveIntFlag(values, "steps");
const preset = choiceFlag(values, "preset", GPT2_PRESETS) as GPT2PresetName;
refuseOutputOverInput({ flag: "out", path: values.out as string }, [{ flag: "checkpoint-dir", path: values["checkpoint-dir"] as string }]);

await runMain(async () => {
  const backend = await initBackend();
  const { heldout } = splitPoems(await loadPoems());
  const run = values["export-only"] ? loadBaseRun : runBasePretrain;
  const result = await run(heldout, [...templateTexts(), ...Object.keys(THEMES)], {
    checkpointDir: values["checkpoint-dir"] as string,
    preset,
    ...(steps ? { train: { steps } } : {}),
  });
  const command = ["deno task pretrain-base", ...Deno.args].join(" ");
  const { heldoutSliceLoss, heldoutLoss } = await exportBase(result, heldout, {
    command,
    machine: machineLine(),
    backend: describeBackend(backend),
    date: new Date().toISOString().slice(0, 10),
  }, values.out as string);
  console.log(`base written to ${values.out}: held-out loss ${heldoutLoss.toFixed(3)} (fixed slice ${heldoutSliceLoss.toFixed(4)})`);
  disposeGPT2(result.model);
});

/**
 * `deno task convert DIR`: writes model.safetensors beside DIR/pytorch_model.bin
 * (e.g. the book's uer/gpt2-chinese-cluecorpussmall), read once through the
 * restricted unpickler; every other file stays as it is.
 */
import { initBackend } from "../lib/backend.ts";
import { convertTorchWeights } from "../lib/checkpoint/pretrained.ts";
import { parseCommand, runMain, usageError } from "../lib/cli.ts";

const { positionals } = parseCommand({
  command: "deno task convert",
  summary: "Write model.safetensors beside a directory's pytorch_model.bin (read without running code from it); later loads are faster.",
  flags: {},
  positionals: "<model directory>",
  examples: ["deno task convert path/to/gpt2-chinese-cluecorpussmall"],
});
if (positionals.length !== 1) usageError("expected one argument: the model directory");
await runMain(async () => {
  await initBackend({ quiet: true });
  console.log(`wrote ${await convertTorchWeights(positionals[0])}`);
});

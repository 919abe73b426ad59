/**
 * `deno task bench-sizes`: training throughput of the model sizes a base
 * could have, at the base's shapes (16 windows × 128 tokens, the base's
 * vocabulary size), on this machine. The base's size is chosen from it: every
 * stage of the default pipeline (SFT, sampling, reward model, PPO, evaluation)
 * runs the same model, so its cost scales with these numbers.
 */
import { initBackend } from "../lib/backend.ts";
import { machineLine } from "../lib/machine.ts";
import { parseCommand } from "../lib/cli.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { measureTraining } from "../lib/bench/measure.ts";

parseCommand({
  command: "deno task bench-sizes",
  summary: "Training throughput of the candidate sizes of the base at its shapes (16 × 128 tokens, vocabulary 5,676).",
  flags: {},
  examples: ["deno task bench-sizes"],
});
await initBackend();
const sizes = [
  { name: "gpt2-micro (4 × 128)", n_layer: 4, n_embd: 128, n_head: 4 },
  { name: "6 × 128", n_layer: 6, n_embd: 128, n_head: 4 },
  { name: "8 × 128", n_layer: 8, n_embd: 128, n_head: 4 },
  { name: "4 × 192", n_layer: 4, n_embd: 192, n_head: 6 },
  { name: "gpt2-mini (6 × 192)", n_layer: 6, n_embd: 192, n_head: 6 },
];
console.log(`${machineLine()}; batch 16 × 128 tokens, vocabulary 5,676`);
let first = 0;
for (const s of sizes) {
  const config = resolveGPT2Config({ ...s, n_positions: 128, vocab_size: 5676, dropout: 0 });
  const t = await measureTraining(config, { batch: 16, seq: 128, warmup: 2, steps: 8, seed: 0 });
  first ||= t.tokensPerSecond;
  console.log(
    `${s.name.padEnd(22)} ${t.tokensPerSecond.toFixed(0).padStart(6)} tokens/s  (${
      (first / t.tokensPerSecond).toFixed(2)
    }× the time of the first)`,
  );
}

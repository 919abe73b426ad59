/**
 * `deno task chat`: talk to a checkpoint (SFT, PPO, …) in the terminal, in the
 * chat template. One line a message; an empty line or Ctrl-D ends.
 *
 *   deno task chat                               # checkpoints/ppo
 *   deno task chat --checkpoint checkpoints/sft --top-p 0.9
 */
import { initBackend } from "../lib/backend.ts";
import { numberFlag, parseCommand, runMain } from "../lib/cli.ts";
import { ChatSession } from "../lib/chat/chat_session.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { loadPretrained } from "../lib/pretrained.ts";
import { unknownTokenIds } from "../lib/tokenizer/coverage.ts";

const { values } = parseCommand({
  command: "deno task chat",
  summary: "Talk to a checkpoint (SFT, PPO, …) in the terminal, in the chat template. One line a message; an empty line or Ctrl-D ends.",
  flags: {
    checkpoint: { type: "string", default: "checkpoints/ppo", value: "DIR", help: "the model to talk to (HF layout with vocab.txt)" },
    temperature: { type: "string", default: "1", value: "X", help: "sampling temperature (> 0)" },
    "top-p": {
      type: "string",
      default: "0.9",
      value: "P",
      help: "nucleus sampling: keep the smallest set of tokens with this much probability, in (0, 1]",
    },
    seed: { type: "string", default: "0", value: "N", help: "sampling seed" },
  },
  examples: ["deno task chat", "deno task chat --checkpoint checkpoints/sft --top-p 0.9"],
});
const temperature = numberFlag(values, "temperature", (n) => n > 0, "a number > 0")!;
const topP = numberFlag(values, "top-p", (n) => n > 0 && n <= 1, "a number in (0, 1]")!;
const seed = numberFlag(values, "seed", (n) => Number.isInteger(n) && n >= 0, "an integer ≥ 0")!;
const checkpoint = values.checkpoint as string;
await runMain(async () => {
  await initBackend();
  const model = await loadPretrained(checkpoint);
  if (!model.tokenizer) throw new Error(`${checkpoint}: no tokenizer files next to the weights`);
  // [UNK] is never sampled: it stands for characters the vocabulary lacks, and reads as noise in a chat.
  const chat = new ChatSession(model, model.tokenizer, { temperature, topP, seed, suppressIds: unknownTokenIds(model.tokenizer) });
  console.log(`[chat] ${checkpoint} — type a request, e.g. 写一首五言绝句，诗中要有“月”字。 (empty line to quit)`);
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buffer = "";
  Deno.stdout.writeSync(new TextEncoder().encode("你> "));
  outer: for await (const chunk of lines) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (!line) break outer;
      try {
        const { text, ended } = await chat.reply(line);
        console.log(`助手> ${text}${ended ? "" : " …(no end token)"}`);
      } catch (err) {
        // e.g. a message longer than the model's context: say so and go on with the conversation.
        console.log(`(not answered: ${(err as Error).message})`);
      }
      Deno.stdout.writeSync(new TextEncoder().encode("你> "));
    }
  }
  disposeGPT2(model);
});

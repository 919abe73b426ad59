/**
 * `deno task chat`: talk to a checkpoint (SFT, PPO, …) in the terminal, in the
 * chat template. One line a message; an empty line or Ctrl-D ends.
 *
 *   deno task chat                               # checkpoints/ppo
 *   deno task chat --checkpoint checkpoints/sft --top-p 0.9
 */
import { parseArgs } from "node:util";
import { initBackend } from "../lib/backend.ts";
import { ChatSession } from "../lib/chat/chat_session.ts";
import { disposeGPT2 } from "../lib/gpt2/init.ts";
import { loadPretrained } from "../lib/pretrained.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    checkpoint: { type: "string", default: "checkpoints/ppo" },
    temperature: { type: "string", default: "1" },
    "top-p": { type: "string", default: "0.9" },
    seed: { type: "string", default: "0" },
  },
});
await initBackend();
const model = await loadPretrained(values.checkpoint);
if (!model.tokenizer) throw new Error(`${values.checkpoint}: no tokenizer files next to the weights`);
const chat = new ChatSession(model, model.tokenizer, {
  temperature: Number(values.temperature),
  topP: Number(values["top-p"]),
  seed: Number(values.seed),
});
console.log(`[chat] ${values.checkpoint} — type a request, e.g. 写一首五言绝句，诗中要有“月”字。 (empty line to quit)`);
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
    const { text, ended } = await chat.reply(line);
    console.log(`助手> ${text}${ended ? "" : " …(no end token)"}`);
    Deno.stdout.writeSync(new TextEncoder().encode("你> "));
  }
}
disposeGPT2(model);

/**
 * Your own SFT data: a JSONL file, one conversation a line, either
 *   {"prompt": "写一首五言绝句", "response": "床前明月光，…"}
 * or
 *   {"messages": [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]}
 * (the last message must be the assistant's). Blank lines are skipped; anything
 * else that is malformed stops with an error naming the file and line.
 */
import type { Role } from "../tokenizer/chat_template.ts";
import type { SftExample } from "../tasks/types.ts";
import { readJsonl } from "../jsonl.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { unknownCharacters } from "../tokenizer/coverage.ts";

const ROLES: readonly Role[] = ["system", "user", "assistant"];

/**
 * Reads your own SFT data: one `{"prompt", "response"}` or `{"messages": […]}` object a line (the format above).
 *
 * @example
 * ```ts
 * import { loadSftJsonl } from "rlhf";
 * const path = `${await Deno.makeTempDir()}/sft.jsonl`;
 * await Deno.writeTextFile(path, JSON.stringify({ prompt: "写一首五言绝句", response: "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。" }));
 * const [example] = await loadSftJsonl(path);
 * example.prompt.messages; // [{ role: "user", content: "写一首五言绝句" }]
 * ```
 */
export async function loadSftJsonl(path: string): Promise<SftExample[]> {
  const examples = await readJsonl(path, parseExample);
  if (examples.length === 0) throw new Error(`${path}: no examples`);
  return examples;
}

function parseExample(value: unknown, where: string, index: number): SftExample {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${where}: expected a JSON object`);
  const v = value as Record<string, unknown>;
  const nonEmpty = (x: unknown, field: string): string => {
    if (typeof x !== "string" || x.trim() === "") throw new Error(`${where}: field "${field}" must be a non-empty string`);
    return x;
  };
  if ("messages" in v) {
    if (!Array.isArray(v.messages) || v.messages.length < 2) {
      throw new Error(`${where}: field "messages" must be a list of at least 2 messages`);
    }
    const messages = v.messages.map((m, i) => {
      const role = (m as { role?: unknown })?.role;
      if (!ROLES.includes(role as Role)) {
        throw new Error(`${where}: messages[${i}].role must be one of ${ROLES.join(", ")}, got ${JSON.stringify(role)}`);
      }
      return { role: role as Role, content: nonEmpty((m as { content?: unknown }).content, `messages[${i}].content`) };
    });
    const last = messages.pop()!;
    if (last.role !== "assistant") throw new Error(`${where}: the last message must be the assistant's, got "${last.role}"`);
    return { prompt: { id: `line-${index}`, messages, constraints: {} }, response: last.content };
  }
  const prompt = nonEmpty(v.prompt, "prompt");
  const response = nonEmpty(v.response, "response");
  return { prompt: { id: `line-${index}`, messages: [{ role: "user", content: prompt }], constraints: {} }, response };
}

/**
 * Most of the characters a model is fine-tuned on must be in its vocabulary: a character vocabulary turns
 * the others into `[UNK]`, and the model learns to write `[UNK]`. Throws (naming the file, the share and
 * examples) when more than `maxUnknownShare` of the characters are unknown, and returns a one-line warning
 * when some are.
 * @param maxUnknownShare @default 0.05
 */
export function checkSftVocabulary(
  path: string,
  examples: readonly SftExample[],
  tokenizer: Tokenizer,
  maxUnknownShare = 0.05,
): string | undefined {
  const texts = examples.flatMap((e) => [...e.prompt.messages.map((m) => m.content), e.response]);
  const { unknown, characters } = unknownCharacters(tokenizer, texts);
  const count = [...unknown.values()].reduce((a, b) => a + b, 0);
  if (count === 0) return undefined;
  const examplesOf = [...unknown.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([c, n]) => `${JSON.stringify(c)} ×${n}`);
  const what = `${count} of ${characters} characters (${(100 * count / characters).toFixed(1)} %) are not in the model's vocabulary and ` +
    `would train as [UNK]: ${examplesOf.join(", ")}`;
  if (count > maxUnknownShare * characters) {
    throw new Error(`${path}: ${what}; start from a model whose vocabulary covers them (--init DIR)`);
  }
  return `${path}: ${what}`;
}

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

const ROLES: readonly Role[] = ["system", "user", "assistant"];

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

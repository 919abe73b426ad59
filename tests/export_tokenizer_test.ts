/**
 * The exported tokenizer files behave as ours: Hugging Face's own JavaScript
 * tokenizers (@huggingface/tokenizers) read tokenizer.json +
 * tokenizer_config.json and give our ids and our text back on conversations
 * with chat markers, spaces, newlines, rare and upper-case characters; and
 * Jinja2 (Debian python3-jinja2, what transformers renders chat templates
 * with, in its sandbox with trim_blocks and lstrip_blocks) renders the
 * chat_template as renderChat does, with and without the generation prompt,
 * for the character template and GPT-2's.
 */
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { buildCharVocab } from "../lib/tokenizer/char_vocab.ts";
import {
  CHAR_CHAT_TEMPLATE,
  CHAT_SPECIAL_TOKENS,
  type ChatMessage,
  type ChatTemplate,
  GPT2_CHAT_TEMPLATE,
  renderChat,
  UNUSED_CHAT_TEMPLATE,
} from "../lib/tokenizer/chat_template.ts";
import { hfTokenizerFiles, jinjaChatTemplate } from "../lib/export/hf_tokenizer.ts";
import { Rng } from "../lib/rng.ts";
import { assert } from "./helpers.ts";

const PYTHON = "/usr/bin/python3";
const hasJinja = await new Deno.Command(PYTHON, { args: ["-c", "import jinja2"], stdout: "null", stderr: "null" }).output()
  .then((o) => o.success, () => false);

const CORPUS = ["床前明月光，疑是地上霜。\n举头望明月，低头思故乡。", "Hello world 春 风"];

function conversations(n: number): ChatMessage[][] {
  const rng = new Rng(11);
  const pieces = [
    "床前",
    "明月光",
    "，",
    "。",
    "\n",
    " ",
    "Hello",
    "HELLO",
    "W",
    "😀",
    "龘",
    "<|user|>",
    "[PAD]",
    "<|end|>",
    "疑是地上霜",
    "Ω",
  ];
  const text = () => Array.from({ length: 1 + rng.nextInt(8) }, () => pieces[rng.nextInt(pieces.length)]).join("");
  return Array.from({ length: n }, (_, i) => {
    const roles = i % 3 === 0 ? ["system", "user", "assistant"] as const : ["user", "assistant", "user"] as const;
    return roles.slice(0, 1 + (i % 3)).map((role) => ({ role, content: text() }));
  });
}

Deno.test("tokenizer.json, read by Hugging Face's tokenizers, encodes and decodes as our character vocabulary", () => {
  const ours = buildCharVocab(CORPUS, { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const files = hfTokenizerFiles(ours);
  const hf = new HfTokenizer(JSON.parse(files["tokenizer.json"]), JSON.parse(files["tokenizer_config.json"]));
  let checked = 0;
  for (const messages of conversations(300)) {
    const text = renderChat(messages, CHAR_CHAT_TEMPLATE, { addGenerationPrompt: true });
    const ids = ours.encode(text);
    assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids, ids, text);
    assert.equal(hf.decode(ids, { skip_special_tokens: false }), ours.decode(ids), text);
    checked += ours.decode(ids) === text ? 1 : 0; // no unknown or upper-case character: the text itself comes back
  }
  assert.ok(checked > 20, `only ${checked} conversations came back whole`);
  // "WORLD"'s letters are not in the vocabulary, "world"'s are: both encoders fall back to the lower case.
  assert.deepEqual(ours.encode("WORLD"), ours.encode("world"));
  assert.deepEqual(hf.encode("WORLD", { add_special_tokens: false }).ids, ours.encode("world"));
  assert.ok(!ours.encode("world").includes(ours.idOf("[UNK]")!));
});

Deno.test({
  name: "the exported chat template, rendered by Jinja2 as transformers does, equals renderChat",
  ignore: !hasJinja,
  fn: async () => {
    const cases: { template: ChatTemplate; messages: ChatMessage[][] }[] = [
      { template: CHAR_CHAT_TEMPLATE, messages: conversations(60) },
      { template: GPT2_CHAT_TEMPLATE, messages: conversations(60) },
      { template: UNUSED_CHAT_TEMPLATE, messages: [[], ...conversations(10)] },
    ];
    const jobs = cases.flatMap(({ template, messages }) =>
      messages.flatMap((m) =>
        [false, true].map((gen) => ({
          source: jinjaChatTemplate(template),
          messages: m,
          gen,
          want: renderChat(m, template, { addGenerationPrompt: gen }),
        }))
      )
    );
    const script = [
      "import json, sys",
      "from jinja2.sandbox import ImmutableSandboxedEnvironment",
      "def raise_exception(m): raise ValueError(m)",
      "env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)",
      "env.globals['raise_exception'] = raise_exception",
      "out = [env.from_string(j['source']).render(messages=j['messages'], add_generation_prompt=j['gen']) for j in json.load(sys.stdin)]",
      "print(json.dumps(out))",
    ].join("\n");
    const child = new Deno.Command(PYTHON, { args: ["-c", script], stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
    const output = child.output();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(jobs)));
    await writer.close();
    const out = await output;
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const rendered = JSON.parse(new TextDecoder().decode(out.stdout)) as string[];
    jobs.forEach((job, i) => assert.equal(rendered[i], job.want, JSON.stringify(job.messages)));
    // TRL and OpenRLHF cut an answer off the conversation by the rendered prompt's length: that prompt must be a prefix.
    for (const { template, messages } of cases) {
      for (const m of messages.filter((m) => m.at(-1)?.role === "assistant")) {
        const prompt = renderChat(m.slice(0, -1), template, { addGenerationPrompt: true });
        assert.ok(renderChat(m, template).startsWith(prompt), JSON.stringify(m));
      }
    }
  },
});

/**
 * Docs for callers: every function, class and constant that lib/mod.ts exports has an `@example`, and the
 * examples of lib/ type-check.
 *
 * An example is code a caller would write: a ```ts block that imports what it uses from "rlhf" (deno.json maps
 * that name to lib/mod.ts). `deno test --doc --no-run lib/` type-checks every ```ts block in a JSDoc of lib/, each
 * as a module of its own, in a few seconds. The blocks are not run here: many load a model directory, start the
 * backend (`initBackend()`) or train, which the type check does not need.
 *
 * Deno adds to each block an import of the names its own file exports, so a block that forgets to import one of
 * them still type-checks; the first test asks each example to import from "rlhf" the names of lib/mod.ts it uses.
 */
import { assert, runDeno } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MOD = new URL("../lib/mod.ts", import.meta.url).href;

interface DocSymbol {
  name: string;
  declarations: {
    kind: string;
    location: { filename: string; line: number };
    jsDoc?: { tags?: { kind: string; doc?: string }[] };
  }[];
}

async function deno(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, out, err } = await runDeno(args);
  return { code, stdout: out, stderr: err };
}

/** What lib/mod.ts exports, each with its declaration (where `deno doc` follows the re-exports to). */
async function publicSymbols(): Promise<DocSymbol[]> {
  const { code, stdout, stderr } = await deno(["doc", "--json", "lib/mod.ts"]);
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout).nodes[MOD].symbols;
}

/** Functions, classes, constants and the `tf` namespace: what a caller calls; types need no example. */
const VALUE_KINDS = ["function", "class", "variable", "namespace"];

/**
 * The examples in a JSDoc. `deno doc` keeps none for a namespace (`tf`), so its JSDoc is the one right above
 * its `export { name } from` line in lib/mod.ts.
 */
function examplesOf(symbol: DocSymbol, modSource: string): string[] {
  const d = symbol.declarations[0];
  if (d.kind !== "namespace") return (d.jsDoc?.tags ?? []).filter((t) => t.kind === "example").map((t) => t.doc ?? "");
  const m = modSource.match(new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\nexport \\{ ${symbol.name} \\} from`));
  if (!m) return [];
  const text = m[1].split("\n").map((l) => l.replace(/^\s*\* ?/, "")).join("\n");
  return text.split("@example").slice(1);
}

/** The names a block imports from "rlhf" (local names, `type` imports included). */
function importedNames(code: string): Set<string> {
  const names = new Set<string>();
  for (const m of code.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"rlhf"/g)) {
    for (const part of m[1].split(",")) {
      const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/).at(-1);
      if (name) names.add(name);
    }
  }
  return names;
}

/** Identifiers the code refers to by value or type (not property names or object keys), minus those it declares. */
function referencedNames(code: string): Set<string> {
  const bare = code
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/\/\/.*$/gm, " ")
    .replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""')
    .replace(/^\s*import\b[^;]*;/gm, " ");
  const declared = new Set<string>();
  for (const m of bare.matchAll(/\b(?:const|let|var|function|class)\s+([A-Za-z_$][\w$]*)/g)) declared.add(m[1]);
  for (const m of bare.matchAll(/\b(?:const|let|var)\s*[{[]([^=]*)[}\]]\s*=/g)) {
    for (const id of m[1].matchAll(/(?:^|[,{[:\s])([A-Za-z_$][\w$]*)\s*(?=[,}\]=]|$)/g)) declared.add(id[1]);
  }
  const used = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w$.])([A-Za-z_$][\w$]*)(?![\w$])(?!\s*:(?!:))/g)) {
    if (!declared.has(m[1])) used.add(m[1]);
  }
  return used;
}

Deno.test('every function, class and constant of lib/mod.ts has an @example that imports what it uses from "rlhf"', async () => {
  const symbols = await publicSymbols();
  const publicNames = new Set(symbols.map((s) => s.name));
  const values = symbols.filter((s) => VALUE_KINDS.includes(s.declarations[0].kind));
  assert.ok(values.length > 150, `only ${values.length} functions, classes and constants found: is deno doc's JSON read right?`);
  const problems: string[] = [];
  const modSource = await Deno.readTextFile(new URL(MOD));
  for (const symbol of values) {
    const { name, declarations: [d] } = symbol;
    const where = `${name} (${d.location.filename.replace(`file://${ROOT}`, "")}:${d.location.line})`;
    const blocks = examplesOf(symbol, modSource).flatMap((e) => [...e.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]));
    if (blocks.length === 0) {
      problems.push(`${where}: no @example with a \`\`\`ts block`);
      continue;
    }
    const code = blocks.join("\n");
    const imported = importedNames(code);
    if (!imported.has(name)) problems.push(`${where}: the example does not import ${name} from "rlhf"`);
    const missing = [...referencedNames(code)].filter((n) => publicNames.has(n) && !imported.has(n) && n !== name);
    if (missing.length > 0) problems.push(`${where}: the example uses ${missing.join(", ")} without importing it from "rlhf"`);
  }
  assert.deepEqual(problems, [], `${problems.length} of ${values.length} exports:\n${problems.join("\n")}`);
});

Deno.test("deno test --doc: every ```ts example in a JSDoc of lib/ type-checks", async () => {
  const { code, stdout, stderr } = await deno(["test", "--doc", "--no-run", "lib/"]);
  const errors = (stdout + stderr).split("\n").filter((l) => !l.startsWith("Check ")).join("\n");
  assert.equal(code, 0, errors.slice(0, 6000));
});

/**
 * One source of truth for every default: each `@default` tag on a field of an options interface that has a
 * `*_DEFAULTS` object (`export const X_DEFAULTS: Readonly<Options> = …`) states the value that object holds.
 * Read from the source text of lib/: a tag that starts with a literal (a number, a string, a boolean, an array
 * or `{}`) is compared with the object's value; a tag that describes a value in words ("temperature 1",
 * "all of the task's", "the shipped base") is skipped. A required field with a literal tag must be in the object.
 */
import { assert } from "./helpers.ts";

const LIB = new URL("../lib/", import.meta.url);

/** The literal a tag starts with, or undefined when the tag describes its value in words. */
function leadingLiteral(tag: string): { value: unknown } | undefined {
  const m = tag.match(/^(?:"(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{\s*\}|-?\d[\d_]*(?:\.\d+)?(?:e[-+]?\d+)?|true|false)(?=$|[\s:,;)])/);
  if (!m) return undefined;
  const text = /^-?\d/.test(m[0]) ? m[0].replaceAll("_", "") : m[0];
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

interface TaggedField {
  readonly field: string;
  readonly optional: boolean;
  /** The tag's text after `@default`. */
  readonly tag: string;
}

/** The doc-commented fields of `interface name { … }` in `source` (its own body, not what it extends) that carry a `@default`. */
function taggedFields(source: string, name: string): TaggedField[] {
  const head = source.match(new RegExp(`interface ${name}\\b[^{]*\\{`));
  if (!head) throw new Error(`interface ${name} not found`);
  const start = head.index! + head[0].length;
  let depth = 1;
  let end = start;
  for (; depth > 0; end++) depth += source[end] === "{" ? 1 : source[end] === "}" ? -1 : 0;
  const body = source.slice(start, end - 1);
  const fields: TaggedField[] = [];
  for (const m of body.matchAll(/\/\*\*((?:[^*]|\*(?!\/))*)\*\/\s*(?:readonly\s+)?(\w+)(\??):/g)) {
    const before = body.slice(0, m.index);
    if ((before.match(/\{/g)?.length ?? 0) !== (before.match(/\}/g)?.length ?? 0)) continue; // a field of a nested type
    const doc = m[1].split("\n").map((line) => line.replace(/^\s*\*\s?/, "")).join(" ").replace(/\s+/g, " ").trim();
    const tag = doc.match(/@default\s+(.*)$/)?.[1];
    if (tag !== undefined) fields.push({ field: m[2], optional: m[3] === "?", tag });
  }
  return fields;
}

/** Every `*_DEFAULTS` object of lib/ with the options interface its type names. */
async function defaultsObjects(): Promise<{ file: string; name: string; iface: string; source: string }[]> {
  const found: { file: string; name: string; iface: string; source: string }[] = [];
  const walk = async (dir: URL, prefix: string) => {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) await walk(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`);
      else if (entry.name.endsWith(".ts")) {
        const source = await Deno.readTextFile(new URL(entry.name, dir));
        for (const m of source.matchAll(/export const (\w+_DEFAULTS)\s*:\s*Readonly<(?:Omit<)?(\w+)/g)) {
          found.push({ file: `${prefix}${entry.name}`, name: m[1], iface: m[2], source });
        }
      }
    }
  };
  await walk(LIB, "");
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

const OBJECTS = await defaultsObjects();

Deno.test("leadingLiteral() reads the literal a tag starts with and skips a value described in words", () => {
  assert.deepEqual(leadingLiteral("2 (TRL: 4)"), { value: 2 });
  assert.deepEqual(leadingLiteral("1e-4 (TRL: 1e-5, for models a hundred times larger)"), { value: 1e-4 });
  assert.deepEqual(leadingLiteral("10_000"), { value: 10000 });
  assert.deepEqual(leadingLiteral("1: the full distribution at temperature 1"), { value: 1 });
  assert.deepEqual(leadingLiteral('"gpt2-micro" (4 layers)'), { value: "gpt2-micro" });
  assert.deepEqual(leadingLiteral("[0.9, 0.95]"), { value: [0.9, 0.95] });
  assert.deepEqual(leadingLiteral("[] (PPO alone, the chapter's method)"), { value: [] });
  assert.deepEqual(leadingLiteral("{}"), { value: {} });
  assert.deepEqual(leadingLiteral("false"), { value: false });
  for (const words of ["temperature 1", "all of the task's (quick: 16)", "the shipped base, models/gpt2-poetry-zh", "FRONTIER_SWEEP"]) {
    assert.equal(leadingLiteral(words), undefined, words);
  }
});

Deno.test("the *_DEFAULTS objects of lib/ are found, each with its options interface and its tags", () => {
  const names = OBJECTS.map((o) => o.name);
  for (
    const name of ["SFT_DEFAULTS", "REWARD_STAGE_DEFAULTS", "PPO_STAGE_DEFAULTS", "PPO_DEFAULTS", "GROUP_STAGE_DEFAULTS", "DPO_DEFAULTS"]
  ) {
    assert.ok(names.includes(name), `${name} found`);
  }
  const compared = OBJECTS.flatMap((o) => taggedFields(o.source, o.iface)).filter((f) => leadingLiteral(f.tag));
  assert.ok(compared.length >= 60, `${compared.length} tags with a literal`);
});

for (const { file, name, iface, source } of OBJECTS) {
  Deno.test(`${name} (lib/${file}) holds the @default of every field of ${iface}`, async () => {
    const defaults = (await import(new URL(file, LIB).href))[name] as Record<string, unknown>;
    assert.ok(defaults && typeof defaults === "object", `lib/${file} exports ${name}`);
    for (const { field, optional, tag } of taggedFields(source, iface)) {
      const literal = leadingLiteral(tag);
      if (!literal) continue; // described in words
      if (!(field in defaults) && optional) continue; // an optional field whose default the code applies
      assert.ok(field in defaults, `${iface}.${field} says @default ${tag}, but ${name} has no ${field}`);
      assert.deepEqual(
        defaults[field],
        literal.value,
        `${iface}.${field}: @default ${tag}, but ${name}.${field} is ${JSON.stringify(defaults[field])}`,
      );
    }
  });
}

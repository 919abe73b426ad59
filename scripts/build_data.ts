/**
 * Rebuilds data/poetry-zh/ from the npm package chinese-poetry (MIT):
 *
 *   deno task build-data
 *
 * Keeps regular Tang poems — 4 or 8 lines of 5 or 7 characters, Chinese
 * characters and ，。？！； only — converted to simplified characters with
 * opencc-js, de-duplicated, split train/held-out by a hash of the poem id, and
 * sampled deterministically to keep the file small for git. Running it twice
 * gives byte-identical files.
 */
import * as OpenCC from "opencc-js";
import { checkPoem, LINE_END, type Poem } from "../lib/data/poems.ts";
import { writeJsonAtomic, writeTextFileAtomic } from "../lib/checkpoint/atomic.ts";

const MAX_POEMS = 12000; // keeps poems.jsonl near 3 MB
const HELDOUT_PERCENT = 5;
const OUT_DIR = new URL("../data/poetry-zh/", import.meta.url).pathname;
const SOURCE_DIR = new URL("./", import.meta.resolve("chinese-poetry/package.json")).pathname + "dist/quantangshi/";

const toSimplified = OpenCC.Converter({ from: "t", to: "cn" });

/** FNV-1a 32-bit: a stable hash for splitting and sampling. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** Full-width punctuation, no spaces. */
function normalise(text: string): string {
  return text.replace(/\s+/g, "").replaceAll(",", "，").replaceAll(".", "。").replaceAll("?", "？").replaceAll("!", "！").replaceAll(";", "；");
}

/** Splits paragraphs into verse lines ending in punctuation; undefined if anything is irregular. */
function verseLines(paragraphs: string[]): string[] | undefined {
  const joined = normalise(paragraphs.join(""));
  const lines = joined.match(new RegExp(`[^${LINE_END}]+[${LINE_END}]`, "g"));
  if (!lines || lines.join("") !== joined) return undefined;
  return lines;
}

const files = [...Deno.readDirSync(SOURCE_DIR)]
  .map((e) => e.name)
  .filter((n) => /^poet\.tang\.\d+\.json$/.test(n))
  .sort((a, b) => Number(a.split(".")[2]) - Number(b.split(".")[2]));

const seen = new Set<string>();
const kept: Poem[] = [];
let total = 0;
for (const file of files) {
  const poems = JSON.parse(Deno.readTextFileSync(SOURCE_DIR + file)) as { author: string; title: string; paragraphs: string[] }[];
  const offset = Number(file.split(".")[2]);
  poems.forEach((raw, i) => {
    total++;
    const lines = verseLines((raw.paragraphs ?? []).map((p) => toSimplified(p)));
    const title = toSimplified(raw.title ?? "").replace(/[（(【\[].*?[）)】\]]/g, "").replace(/\s+/g, " ").trim();
    const author = toSimplified(raw.author ?? "").trim();
    if (!lines || !title || !author) return;
    const n = lines.length;
    const width = lines[0].length - 1;
    if ((n !== 4 && n !== 8) || (width !== 5 && width !== 7)) return;
    const text = lines.join("");
    if (seen.has(text)) return;
    const id = `tang.${offset}.${i}`; // <source file number>.<index in that file>
    const poem = {
      id,
      title,
      author,
      lines,
      chars_per_line: width,
      n_lines: n,
      split: fnv1a(id) % 100 < HELDOUT_PERCENT ? "heldout" : "train",
    };
    try {
      checkPoem(poem, id); // every line 5/7 Chinese characters + punctuation
    } catch {
      return;
    }
    seen.add(text);
    kept.push(poem as Poem);
  });
}

// Deterministic sample: the MAX_POEMS poems with the smallest hash, kept in source order.
const chosen = new Set([...kept].sort((a, b) => fnv1a(`sample:${a.id}`) - fnv1a(`sample:${b.id}`) || (a.id < b.id ? -1 : 1)).slice(0, MAX_POEMS));
const selected = kept.filter((p) => chosen.has(p));
await writeTextFileAtomic(`${OUT_DIR}poems.jsonl`, selected.map((p) => JSON.stringify(p)).join("\n") + "\n");

const count = (f: (p: Poem) => boolean) => selected.filter(f).length;
const stats = {
  source: "npm chinese-poetry@2.0.1 (MIT), dist/quantangshi/poet.tang.*.json, converted to simplified with npm opencc-js@1.4.2 (t → cn)",
  command: "deno task build-data",
  source_poems: total,
  regular_poems: kept.length,
  selected: selected.length,
  train: count((p) => p.split === "train"),
  heldout: count((p) => p.split === "heldout"),
  forms: {
    "五言绝句": count((p) => p.chars_per_line === 5 && p.n_lines === 4),
    "七言绝句": count((p) => p.chars_per_line === 7 && p.n_lines === 4),
    "五言律诗": count((p) => p.chars_per_line === 5 && p.n_lines === 8),
    "七言律诗": count((p) => p.chars_per_line === 7 && p.n_lines === 8),
  },
  distinct_characters: new Set(selected.flatMap((p) => [...p.lines.join(""), ...p.title, ...p.author])).size,
};
await writeJsonAtomic(`${OUT_DIR}stats.json`, stats);
console.log(JSON.stringify(stats, null, 2));

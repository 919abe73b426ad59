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
import type { Poem } from "../lib/corpus/poems.ts";
import { parseCommand } from "../lib/cli.ts";
import { readRegularPoems, type SourceCounts } from "../lib/corpus/poem_source.ts";
import { hashText } from "../lib/hash.ts";
import { writeJsonAtomic, writeTextFileAtomic } from "../lib/checkpoint/atomic.ts";

parseCommand({
  command: "deno task build-data",
  summary: "Rebuild data/poetry-zh/poems.jsonl and stats.json from the npm package chinese-poetry (byte-identical on every run).",
  flags: {},
  examples: ["deno task build-data"],
});

const MAX_POEMS = 12000; // keeps poems.jsonl near 3 MB
const OUT_DIR = new URL("../data/poetry-zh/", import.meta.url).pathname;

const counts: SourceCounts = { source: 0, regular: 0 };
const kept = readRegularPoems("tang", { counts });
const total = counts.source;

// Deterministic sample: the MAX_POEMS poems with the smallest hash, kept in source order.
const chosen = new Set(
  [...kept].sort((a, b) => hashText(`sample:${a.id}`) - hashText(`sample:${b.id}`) || (a.id < b.id ? -1 : 1)).slice(0, MAX_POEMS),
);
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

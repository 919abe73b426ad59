/**
 * Regular poems (五言/七言 绝句/律诗) read from the npm package chinese-poetry
 * (MIT): the Tang (全唐诗, `poet.tang.*.json`) and Song (全宋诗,
 * `poet.song.*.json`) collections, in traditional characters, converted to
 * simplified with opencc-js. Used by scripts/build_data.ts (the bundled
 * poems.jsonl) and by the shipped base's corpus (lib/corpus/base_corpus.ts).
 */
import * as OpenCC from "opencc-js";
import { checkPoem, LINE_END, type Poem } from "./poems.ts";
import { hashText } from "../hash.ts";
import { platform } from "../platform/platform.ts";

export type Collection = "tang" | "song";

/** The chinese-poetry folder that holds both collections. */
const POETRY_SOURCE_DIR = new URL("./", import.meta.resolve("chinese-poetry/package.json")).pathname + "dist/quantangshi/";

/** Share of poems (by a hash of the id) in the held-out split. */
const HELDOUT_PERCENT = 5;

const toSimplified = OpenCC.Converter({ from: "t", to: "cn" });

/** Full-width punctuation, no spaces. */
function normalise(text: string): string {
  return text.replace(/\s+/g, "").replaceAll(",", "，").replaceAll(".", "。").replaceAll("?", "？").replaceAll("!", "！").replaceAll(
    ";",
    "；",
  );
}

/** Splits paragraphs into verse lines ending in punctuation; undefined if anything is irregular. */
function verseLines(paragraphs: string[]): string[] | undefined {
  const joined = normalise(paragraphs.join(""));
  const lines = joined.match(new RegExp(`[^${LINE_END}]+[${LINE_END}]`, "g"));
  if (!lines || lines.join("") !== joined) return undefined;
  return lines;
}

/** The source files of a collection, in numeric order. */
function collectionFiles(collection: Collection, dir = POETRY_SOURCE_DIR): string[] {
  const pattern = new RegExp(`^poet\\.${collection}\\.\\d+\\.json$`);
  return [...platform().readDirSync(dir)]
    .map((e) => e.name)
    .filter((n) => pattern.test(n))
    .sort((a, b) => Number(a.split(".")[2]) - Number(b.split(".")[2]));
}

/** Counts of what reading a collection saw. */
export interface SourceCounts {
  /** Poems in the source files. */
  source: number;
  /** Regular poems kept (after removing duplicate texts). */
  regular: number;
}

/**
 * Every regular poem of a collection, in source order, duplicates (same text)
 * removed; ids are `<collection>.<file number>.<index in that file>` and the
 * split is a hash of the id. `seen` lets two collections share one
 * de-duplication.
 */
export function readRegularPoems(
  collection: Collection,
  options: { dir?: string; seen?: Set<string>; counts?: SourceCounts } = {},
): Poem[] {
  const dir = options.dir ?? POETRY_SOURCE_DIR;
  const seen = options.seen ?? new Set<string>();
  const kept: Poem[] = [];
  for (const file of collectionFiles(collection, dir)) {
    const poems = JSON.parse(platform().readTextFileSync(dir + file)) as { author?: string; title?: string; paragraphs?: string[] }[];
    const offset = Number(file.split(".")[2]);
    poems.forEach((raw, i) => {
      if (options.counts) options.counts.source++;
      // The form test runs on the traditional text first: converting only regular poems saves most of the time.
      const rawLines = verseLines(raw.paragraphs ?? []);
      if (!rawLines || (rawLines.length !== 4 && rawLines.length !== 8)) return;
      const lines = verseLines((raw.paragraphs ?? []).map((p) => toSimplified(p)));
      const title = toSimplified(raw.title ?? "").replace(/[（(【\[].*?[）)】\]]/g, "").replace(/\s+/g, " ").trim();
      const author = toSimplified(raw.author ?? "").trim();
      if (!lines || !title || !author) return;
      const n = lines.length;
      const width = lines[0].length - 1;
      if ((n !== 4 && n !== 8) || (width !== 5 && width !== 7)) return;
      const text = lines.join("");
      if (seen.has(text)) return;
      const id = `${collection}.${offset}.${i}`;
      const poem = {
        id,
        title,
        author,
        lines,
        chars_per_line: width,
        n_lines: n,
        split: hashText(id) % 100 < HELDOUT_PERCENT ? "heldout" : "train",
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
  if (options.counts) options.counts.regular += kept.length;
  return kept;
}

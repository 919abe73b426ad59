/**
 * The corpus of the shipped base model (models/gpt2-poetry-zh): every regular
 * 五言/七言 绝句/律诗 of the Tang and Song collections of chinese-poetry, in
 * simplified characters, without the held-out split and without near-copies
 * of the bundled held-out poems, so that the base has never seen a poem the
 * pipeline evaluates on.
 */
import { type Poem, poemText } from "./poems.ts";
import { readRegularPoems, type SourceCounts } from "./poem_source.ts";

/** The base corpus and what was left out. */
export interface BaseCorpus {
  /** Training poems (split "train", no near-copy of a held-out poem). */
  readonly train: readonly Poem[];
  /** Every regular poem whose id hashes to the held-out split (Tang and Song). */
  readonly heldout: readonly Poem[];
  readonly counts: {
    readonly source: number;
    readonly regular: number;
    readonly tang: number;
    readonly song: number;
    /** Train-split poems dropped as near-copies of a bundled held-out poem. */
    readonly nearCopiesDropped: number;
  };
}

/** Lines two poems must share (without punctuation) for one to count as a near-copy of the other. */
const NEAR_COPY_SHARED_LINES = 2;

/** The document a poem becomes for language modelling: the title in 《》, a line break, the poem. */
export function poemDocument(poem: Poem): string {
  return `《${poem.title}》\n${poemText(poem)}`;
}

/**
 * Reads both collections (a few seconds) and splits them. `protectedPoems`
 * (the bundled held-out poems) must not appear in training, neither as the
 * same text (already removed by the shared de-duplication) nor as a variant
 * that shares two or more verse lines with one of them.
 */
export function loadBaseCorpus(protectedPoems: readonly Poem[], options: { dir?: string } = {}): BaseCorpus {
  const seen = new Set<string>();
  const counts: SourceCounts = { source: 0, regular: 0 };
  const tang = readRegularPoems("tang", { dir: options.dir, seen, counts });
  const song = readRegularPoems("song", { dir: options.dir, seen, counts });
  const owner = new Map<string, number>(); // line body → index of the protected poem that has it
  protectedPoems.forEach((p, i) => p.lines.forEach((line) => owner.set(line.slice(0, -1), i)));
  const isNearCopy = (poem: Poem): boolean => {
    const hits = new Map<number, number>();
    for (const line of poem.lines) {
      const i = owner.get(line.slice(0, -1));
      if (i === undefined) continue;
      const n = (hits.get(i) ?? 0) + 1;
      if (n >= NEAR_COPY_SHARED_LINES) return true;
      hits.set(i, n);
    }
    return false;
  };
  const all = [...tang, ...song];
  const trainSplit = all.filter((p) => p.split === "train");
  const train = trainSplit.filter((p) => !isNearCopy(p));
  return {
    train,
    heldout: all.filter((p) => p.split === "heldout"),
    counts: { ...counts, tang: tang.length, song: song.length, nearCopiesDropped: trainSplit.length - train.length },
  };
}

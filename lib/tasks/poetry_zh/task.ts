/**
 * The default task, 诗词助手 (poetry-zh): the user asks for a poem of a given
 * form, maybe with a title or a word to use; the assistant answers with a
 * poem. Data: the bundled Tang poems (data/poetry-zh). Gold scorer: scorer.ts.
 */
import { DEFAULT_POEMS_PATH, loadPoems, type Poem, poemText } from "../../data/poems.ts";
import { Rng } from "../../train/rng.ts";
import type { GoldScore, SftExample, Split, Task, TaskPrompt } from "../types.ts";
import { requestFor, templateTexts, THEMES } from "./instructions.ts";
import { scorePoem } from "./scorer.ts";
import { POEM_EDITS } from "./edits.ts";

export interface PoetryTaskOptions {
  /** Poems file. @default data/poetry-zh/poems.jsonl */
  readonly poemsPath?: string;
  /** Requests (differently phrased) made from each training poem. @default 2 */
  readonly requestsPerPoem?: number;
}

/** Loads the poems and returns the task. */
export async function loadPoetryTask(options: PoetryTaskOptions = {}): Promise<Task> {
  const poems = await loadPoems(options.poemsPath ?? DEFAULT_POEMS_PATH);
  return poetryTask(poems, options.requestsPerPoem ?? 2);
}

/** The task over a given list of poems. */
export function poetryTask(poems: readonly Poem[], requestsPerPoem = 2): Task {
  const of = (split: Split) => poems.filter((p) => p.split === split);
  return {
    name: "poetry-zh",
    description: "诗词助手: writes a Tang-style poem (五言/七言, 绝句/律诗) on request",
    pretrainTexts: (split) => of(split).map((p) => `《${p.title}》\n${poemText(p)}`),
    vocabularyTexts: () => [...poems.map((p) => `《${p.title}》${p.author}\n${poemText(p)}`), ...templateTexts(), ...Object.keys(THEMES)],
    sftExamples(split, seed): SftExample[] {
      const rng = new Rng(seed);
      return of(split).flatMap((p) =>
        Array.from({ length: requestsPerPoem }, () => ({ prompt: requestFor(p, rng), response: poemText(p) }))
      );
    },
    prompts(split, seed): TaskPrompt[] {
      // In a seeded random order: the poems file is grouped by collection and author, and the
      // stages take prefixes (the first 1200 to label, 64 per PPO batch), which must be fair samples.
      const order = new Rng(seed + 2_000_003).shuffle(of(split));
      const rng = new Rng(seed + 1_000_003); // a different stream from the SFT requests
      return order.map((p) => requestFor(p, rng));
    },
    score(prompt: TaskPrompt, response: string): GoldScore {
      const c = prompt.constraints;
      return scorePoem(response, {
        chars_per_line: Number(c.chars_per_line),
        n_lines: Number(c.n_lines),
        include: typeof c.include === "string" ? c.include : undefined,
        themeMarks: typeof c.theme === "string" ? THEMES[c.theme] : undefined,
      });
    },
    answerEdits: POEM_EDITS,
  };
}

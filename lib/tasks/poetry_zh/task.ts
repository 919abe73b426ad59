/**
 * The default task, 诗词助手 (poetry-zh): the user asks for a poem of a given
 * form, maybe with a title or a word to use; the assistant answers with a
 * poem. Data: the bundled Tang poems (data/poetry-zh). Gold scorer: scorer.ts.
 */
import { DEFAULT_POEMS_PATH, loadPoems, type Poem, poemText } from "../../corpus/poems.ts";
import { Rng } from "../../rng.ts";
import type { GoldScore, SftExample, Split, Task, TaskPrompt } from "../types.ts";
import { requestFor, templateTexts, THEMES } from "./instructions.ts";
import { scoreMoodPoem, scorePoem } from "./scorer.ts";
import { hashText } from "../../hash.ts";
import { DEFAULT_VALENCE_PATH, loadValenceList, moodClass, readMood, type ValenceList } from "./mood.ts";
import { POEM_EDITS } from "./edits.ts";

/** What the simulated labeler (and the gold score) prefers: see scorer.ts. */
export type PoetryPreference = "mood" | "rules";

const POETRY_PREFERENCES: Readonly<Record<PoetryPreference, string>> = Object.freeze({
  mood:
    "among well-formed poems, a bright, joyful poem (spring, laughter, song, blossoms) beats a sorrowful one (grief, tears, parting, loneliness)",
  rules: "the poem that follows more of the instruction wins: form, the requested word and theme, rhyme",
});

export interface PoetryTaskOptions {
  /** Poems file. @default data/poetry-zh/poems.jsonl */
  readonly poemsPath?: string;
  /** Requests (differently phrased) made from each training poem. @default 2 */
  readonly requestsPerPoem?: number;
  /** What the gold scorer prefers. @default "mood" */
  readonly preference?: PoetryPreference;
  /** The mood preference's character lists. @default data/poetry-zh/valence.json */
  readonly valencePath?: string;
}

/**
 * Loads the poems and returns the task.
 *
 * @example
 * ```ts
 * import { loadPoetryTask } from "rlhf";
 * const task = await loadPoetryTask({ preference: "rules" }); // "poetry-zh-rules": form, the word asked for, theme, rhyme
 * task.sftExamples("train", 0).length; // 22796: two requests per training poem
 * ```
 */
export async function loadPoetryTask(options: PoetryTaskOptions = {}): Promise<Task> {
  const poems = await loadPoems(options.poemsPath ?? DEFAULT_POEMS_PATH);
  const preference = options.preference ?? "mood";
  const valence = preference === "mood" ? await loadValenceList(options.valencePath ?? DEFAULT_VALENCE_PATH) : undefined;
  return poetryTask(poems, { requestsPerPoem: options.requestsPerPoem, preference, valence });
}

/**
 * The task over a given list of poems. Its name is "poetry-zh" for the mood
 * preference and "poetry-zh-rules" for the rule-following one (label files
 * are named after the task, so the two never mix).
 *
 * @example
 * ```ts
 * import { type Poem, poetryTask } from "rlhf";
 * const lines = ["床前明月光，", "疑是地上霜。", "举头望明月，", "低头思故乡。"];
 * const poem: Poem = { id: "静夜思", title: "静夜思", author: "李白", lines, chars_per_line: 5, n_lines: 4, split: "train" };
 * const task = poetryTask([poem], { preference: "rules" });
 * task.sftExamples("train", 0)[0].prompt.messages[0].content; // "请以月亮为主题，作一首五言绝句，诗里包含“疑是”。"
 * ```
 */
export function poetryTask(
  poems: readonly Poem[],
  options: { requestsPerPoem?: number; preference?: PoetryPreference; valence?: ValenceList } = {},
): Task {
  const requestsPerPoem = options.requestsPerPoem ?? 2;
  const preference = options.preference ?? "mood";
  const valence = options.valence;
  if (preference === "mood" && !valence) throw new Error(`poetryTask: the "mood" preference needs a valence list`);
  const of = (split: Split) => poems.filter((p) => p.split === split);
  return {
    name: preference === "mood" ? "poetry-zh" : "poetry-zh-rules",
    description: "诗词助手: writes a Tang-style poem (五言/七言, 绝句/律诗) on request",
    preference: {
      name: preference,
      description: POETRY_PREFERENCES[preference],
      ...(valence ? { part: "mood" } : {}),
      ...(valence ? { version: hashText(JSON.stringify([valence.bright, valence.sorrowful])).toString(16).padStart(8, "0") } : {}),
      ...(valence ? { classOf: (response: string) => moodClass(readMood(response, valence).net) } : {}),
    },
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
      if (valence && preference === "mood") {
        return scoreMoodPoem(response, { chars_per_line: Number(c.chars_per_line), n_lines: Number(c.n_lines) }, valence);
      }
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

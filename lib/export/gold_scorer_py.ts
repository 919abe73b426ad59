/**
 * The gold scorer of poetry-zh as one Python file: lib/export/poetry_zh_gold.py
 * with its data filled in (which preference, the chat markers, the valence
 * list, the themes and the rhyme class of every character the scorer counts as
 * Chinese). The rhyme classes come from pinyin-pro here, so the Python file
 * needs no pinyin library and rhymes exactly as the TypeScript scorer does.
 */
import { type ChatTemplate } from "../tokenizer/chat_template.ts";
import type { ValenceList } from "../tasks/poetry_zh/mood.ts";
import { THEMES } from "../tasks/poetry_zh/instructions.ts";
import { rhymeClasses } from "../tasks/poetry_zh/rhyme.ts";
import type { PoetryPreference } from "../tasks/poetry_zh/task.ts";
import { platform } from "../platform/platform.ts";

/** The code points scorer.ts counts as Chinese characters (its CJK pattern); rhymes are only asked of these. */
const CJK_RANGES: readonly (readonly [number, number])[] = [[0x3400, 0x9fff], [0xf900, 0xfaff]];

const SOURCE = new URL("./poetry_zh_gold.py", import.meta.url);

/** Options of `goldScorerPython`. */
export interface GoldScorerPythonOptions {
  /** Which preference the scorer ranks by, as the task's. */
  readonly preference: PoetryPreference;
  /** The mood preference's character lists (required for "mood"). */
  readonly valence?: ValenceList;
  /** The chat template of the exported tokenizer: the answer ends at its end-of-turn marker. */
  readonly template: ChatTemplate;
}

/** Characters by their rhyme classes ("an|en" → every character with exactly those classes). */
function rhymeTable(): Record<string, string> {
  const table: Record<string, string> = {};
  for (const [from, to] of CJK_RANGES) {
    for (let cp = from; cp <= to; cp++) {
      const char = String.fromCodePoint(cp);
      const classes = [...rhymeClasses(char)].sort().join("|");
      if (classes) table[classes] = (table[classes] ?? "") + char;
    }
  }
  return table;
}

/**
 * The text of `gold_scorer.py`: the Python port of the gold scorer with the three engines' entry points.
 *
 * @example
 * ```ts
 * import { CHAR_CHAT_TEMPLATE, goldScorerPython, loadValenceList } from "rlhf";
 * const py = await goldScorerPython({ preference: "mood", valence: await loadValenceList(), template: CHAR_CHAT_TEMPLATE });
 * py.includes("def compute_score("); // true: verl's entry point, beside trl_reward and reward_func
 * ```
 */
export async function goldScorerPython(options: GoldScorerPythonOptions): Promise<string> {
  if (options.preference === "mood" && !options.valence) throw new Error(`goldScorerPython: the "mood" preference needs a valence list`);
  const data = {
    preference: options.preference,
    end_of_turn: options.template.endOfTurn,
    content_prefix: options.template.contentPrefix,
    assistant_marker: options.template.rolePrefix.assistant,
    bright: Object.keys(options.valence?.bright ?? {}).join(""),
    sorrowful: Object.keys(options.valence?.sorrowful ?? {}).join(""),
    themes: THEMES,
    rhyme: options.preference === "rules" ? rhymeTable() : {},
  };
  const source = await platform().readTextFile(SOURCE);
  if (!source.includes("json.loads(__DATA__)")) throw new Error(`${SOURCE.pathname}: the data placeholder __DATA__ is missing`);
  // A JSON string literal is a valid Python string literal with the same value.
  return source.replace("json.loads(__DATA__)", () => `json.loads(${JSON.stringify(JSON.stringify(data))})`);
}

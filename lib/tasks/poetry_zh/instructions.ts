/**
 * Turning a real poem into a request that names properties the poem really
 * has (its form, its title, a character or word in it), in several phrasings.
 * The poem is then a correct answer to the request: SFT data from real text.
 */
import type { Poem } from "../../corpus/poems.ts";
import { lineBody } from "../../corpus/poems.ts";
import type { Rng } from "../../rng.ts";
import type { TaskPrompt } from "../types.ts";

/** 五言绝句, 七言律诗, … */
function formName(poem: Pick<Poem, "chars_per_line" | "n_lines">): string {
  return `${poem.chars_per_line === 5 ? "五言" : "七言"}${poem.n_lines === 4 ? "绝句" : "律诗"}`;
}

/**
 * Themes a request may name, each with the characters that show a poem is on
 * it (a poem "about 秋天" mentions 秋). Only themes the poem really has are asked for.
 */
export const THEMES: Readonly<Record<string, string>> = Object.freeze({
  "春天": "春",
  "秋天": "秋",
  "月亮": "月",
  "离别": "别送",
  "思乡": "乡归",
  "山水": "山水",
  "饮酒": "酒",
  "雪景": "雪",
  "边塞": "塞关",
  "花": "花",
});

/** The themes a poem is on. */
function themesOf(poem: Poem): string[] {
  const text = poem.lines.join("");
  return Object.entries(THEMES).filter(([, marks]) => [...marks].some((m) => text.includes(m))).map(([theme]) => theme);
}

/** The phrasings; `{form}`, `{title}` and `{need}` are filled in. Kept here so the vocabulary covers them. */
const TEMPLATES = {
  plain: ["写一首{form}{need}。", "请写一首{form}{need}。", "帮我作一首{form}{need}。", "来一首{form}吧{need}。"],
  themed: ["写一首关于{theme}的{form}{need}。", "请以{theme}为主题，作一首{form}{need}。"],
  titled: ["以《{title}》为题，写一首{form}{need}。", "写一首{form}，题目是《{title}》{need}。", "请作{form}一首，题为《{title}》{need}。"],
  needChar: ["，诗中要有“{w}”字", "，要用到“{w}”字"],
  needWord: ["，要用上“{w}”这个词", "，诗里包含“{w}”"],
} as const;

/** Every fixed string of the templates (for building a vocabulary). */
export function templateTexts(): string[] {
  return Object.values(TEMPLATES).flat();
}

/**
 * Longest title a request names (96 % of the titles fit). A few titles run to
 * 127 characters; asked for, they would leave no room in a 128-token context
 * for the poem itself.
 */
const MAX_TITLE_CHARS = 16;

/** A request that the given poem satisfies, chosen with `rng`. */
export function requestFor(poem: Poem, rng: Rng): TaskPrompt {
  const form = formName(poem);
  const themes = themesOf(poem);
  const framing = rng.nextFloat(); // < 0.4: by title (if short enough), < 0.65: by theme (if the poem has one), else plain
  const useTitle = framing < 0.4 && [...poem.title].length <= MAX_TITLE_CHARS;
  const theme = !useTitle && framing < 0.65 && themes.length ? themes[rng.nextInt(themes.length)] : undefined;
  const includeKind = rng.nextFloat(); // < 0.35: a character, < 0.6: a two-character word, else nothing
  let include: string | undefined;
  let need = "";
  if (includeKind < 0.6) {
    const body = lineBody(poem.lines[rng.nextInt(poem.lines.length)]);
    const width = includeKind < 0.35 ? 1 : 2;
    const start = rng.nextInt(body.length - width + 1);
    include = body.slice(start, start + width);
    const phrasings = width === 1 ? TEMPLATES.needChar : TEMPLATES.needWord;
    need = phrasings[rng.nextInt(phrasings.length)].replace("{w}", include);
  }
  const pool = useTitle ? TEMPLATES.titled : theme ? TEMPLATES.themed : TEMPLATES.plain;
  const text = pool[rng.nextInt(pool.length)]
    .replace("{form}", form).replace("{title}", poem.title).replace("{theme}", theme ?? "").replace("{need}", need);
  const constraints: Record<string, string | number> = { chars_per_line: poem.chars_per_line, n_lines: poem.n_lines, form };
  if (include) constraints.include = include;
  if (useTitle) constraints.title = poem.title;
  if (theme) constraints.theme = theme;
  return { id: poem.id, messages: [{ role: "user", content: text }], constraints };
}

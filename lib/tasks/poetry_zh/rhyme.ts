/**
 * Rhyme classes of Chinese characters from their Mandarin finals (pinyin-pro).
 *
 * The medial (i/u/ü) is dropped and close finals share a class, roughly the
 * 十三辙 of modern Mandarin: 霜 shuang and 乡 xiang both end in "ang". This is
 * modern pronunciation: some classical rhymes (平水韵) no longer rhyme today
 * (斜 xie with 家 jia), so a real Tang poem can score below 1 on rhyme.
 */
import { pinyin } from "pinyin-pro";

const CLASS_OF_FINAL: Record<string, string> = {
  a: "a",
  ia: "a",
  ua: "a",
  o: "o",
  uo: "o",
  e: "e",
  ie: "ie",
  ue: "ie",
  "üe": "ie",
  ve: "ie",
  i: "i",
  "ü": "i",
  v: "i",
  er: "i",
  u: "u",
  ai: "ai",
  uai: "ai",
  ei: "ei",
  ui: "ei",
  uei: "ei",
  ao: "ao",
  iao: "ao",
  ou: "ou",
  iu: "ou",
  iou: "ou",
  an: "an",
  ian: "an",
  uan: "an",
  "üan": "an",
  van: "an",
  en: "en",
  in: "en",
  un: "en",
  uen: "en",
  "ün": "en",
  vn: "en",
  ang: "ang",
  iang: "ang",
  uang: "ang",
  eng: "eng",
  ing: "eng",
  ong: "eng",
  iong: "eng",
  ueng: "eng",
};

/**
 * The rhyme classes of a character (several for characters with several readings; none for a character
 * pinyin-pro has no reading for).
 *
 * @example
 * ```ts
 * import { rhymeClasses } from "./rhyme.ts";
 * rhymeClasses("霜"); // Set { "ang" }: shuang, whose final uang rhymes with ang
 * ```
 */
export function rhymeClasses(char: string): Set<string> {
  const finals = pinyin(char, { pattern: "final", toneType: "none", multiple: true, type: "array" }) as string[];
  const classes = new Set<string>();
  for (const f of finals) {
    const c = CLASS_OF_FINAL[f];
    if (c) classes.add(c);
  }
  return classes;
}

/** Whether two characters can rhyme (share a rhyme class under some reading). */
export function rhymes(a: string, b: string): boolean {
  const ca = rhymeClasses(a);
  for (const c of rhymeClasses(b)) if (ca.has(c)) return true;
  return false;
}

/**
 * Ways to make a poem worse that the gold scorer notices, for probing what
 * the reward model has learned (lib/eval/edit_probe.ts). A response is one
 * couplet per line ("…，…。\n…，…。").
 */
import type { AnswerEdit } from "../types.ts";

const couplets = (response: string) => response.split("\n").filter((line) => line.trim());

export const POEM_EDITS: readonly AnswerEdit[] = Object.freeze([
  { name: "drop the last couplet", apply: (r) => (couplets(r).length > 1 ? couplets(r).slice(0, -1).join("\n") : undefined) },
  {
    name: "repeat the first couplet at the end",
    apply: (r) => (couplets(r).length ? [...couplets(r), couplets(r)[0]].join("\n") : undefined),
  },
  { name: "one character fewer in the first line", apply: (r) => r.replace(/\p{Script=Han}(?=，)/u, "") },
  { name: "one character more in the first line", apply: (r) => r.replace("，", "山，") },
  { name: "first comma becomes a full stop", apply: (r) => r.replace("，", "。") },
]);

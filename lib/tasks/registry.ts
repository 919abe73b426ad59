/** Tasks by name, as the config selects them. A new task is one file plus one line here. */
import type { Task } from "./types.ts";
import { loadPoetryTask } from "./poetry_zh/task.ts";

/**
 * The tasks by name, a loader each: "poetry-zh" (the mood preference) and "poetry-zh-rules" (following the instruction).
 *
 * @example
 * ```ts
 * import { TASKS } from "rlhf";
 * Object.keys(TASKS); // ["poetry-zh", "poetry-zh-rules"]
 * const task = await TASKS["poetry-zh-rules"]();
 * ```
 */
export const TASKS: Readonly<Record<string, () => Promise<Task>>> = Object.freeze({
  "poetry-zh": () => loadPoetryTask(), // the mood preference
  "poetry-zh-rules": () => loadPoetryTask({ preference: "rules" }),
});

/**
 * The task `deno task rlhf` runs unless `--task` names another.
 *
 * @example
 * ```ts
 * import { DEFAULT_TASK, loadTask } from "rlhf";
 * (await loadTask()).name === DEFAULT_TASK; // true: "poetry-zh"
 * ```
 */
export const DEFAULT_TASK = "poetry-zh";

/**
 * Loads a task by name; an unknown name lists the known ones.
 *
 * @example
 * ```ts
 * import { loadTask } from "rlhf";
 * const task = await loadTask("poetry-zh");
 * const [prompt] = task.prompts("heldout", 0);
 * prompt.messages[0].content; // "以《路中上田尚书》为题，写一首七言绝句。"
 * task.score(prompt, "春风得意马蹄疾，一日看尽长安花。").total; // the gold score, in [0, 1]
 * ```
 */
export function loadTask(name: string = DEFAULT_TASK): Promise<Task> {
  const make = Object.hasOwn(TASKS, name) ? TASKS[name] : undefined; // own keys only: "toString" is no task
  if (!make) throw new Error(`task "${name}" is unknown; expected one of ${Object.keys(TASKS).join(", ")}`);
  return make();
}

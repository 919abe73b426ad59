/** Tasks by name, as the config selects them. A new task is one file plus one line here. */
import type { Task } from "./types.ts";
import { loadPoetryTask } from "./poetry_zh/task.ts";

export const TASKS: Readonly<Record<string, () => Promise<Task>>> = Object.freeze({
  "poetry-zh": () => loadPoetryTask(), // the mood preference
  "poetry-zh-rules": () => loadPoetryTask({ preference: "rules" }),
});

export const DEFAULT_TASK = "poetry-zh";

/** Loads a task by name; an unknown name lists the known ones. */
export function loadTask(name: string = DEFAULT_TASK): Promise<Task> {
  const make = Object.hasOwn(TASKS, name) ? TASKS[name] : undefined; // own keys only: "toString" is no task
  if (!make) throw new Error(`task "${name}" is unknown; expected one of ${Object.keys(TASKS).join(", ")}`);
  return make();
}

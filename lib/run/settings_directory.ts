/**
 * Where a run with changed settings trains. A notebook that runs a stage with the pipeline's settings reuses
 * the pipeline's checkpoint (`checkpoints/ppo`); change one setting and the run directory's identity no
 * longer matches, which the run directory rightly refuses. So every changed setting names its own
 * directory under `experiments/` (`checkpoints/experiments/ppo-ptxCoef=0`): a student's experiment never
 * collides with the pipeline's run, another notebook's or another experiment, and running it again reuses it.
 */
import { hashText } from "../hash.ts";
import { flattenSettings } from "./run_directory.ts";

/** Directory names longer than this end in a hash of the settings instead of listing them all. */
const MAX_NAME = 80;
/** A value longer than this (a list of runs, a nested record) is named by its hash. */
const MAX_VALUE = 24;

const shortValue = (value: string) => (value.length <= MAX_VALUE ? value : `h${hashText(value).toString(16)}`);

/**
 * `root/stage` when `settings` has every value of `base`, else `root/experiments/stage-<what differs>`.
 * Nested settings compare field by field (`sampling.temperature=0.7`); a key only in `settings` counts as a change.
 *
 * @example
 * ```ts
 * import { PPO_DEFAULTS, settingsDirectory } from "rlhf";
 * settingsDirectory("checkpoints", "ppo", { ...PPO_DEFAULTS }, PPO_DEFAULTS); // "checkpoints/ppo"
 * settingsDirectory("checkpoints", "ppo", { ...PPO_DEFAULTS, ptxCoef: 0 }, PPO_DEFAULTS); // "checkpoints/experiments/ppo-ptxCoef=0"
 * ```
 */
export function settingsDirectory(
  root: string,
  stage: string,
  settings: Readonly<Record<string, unknown>>,
  base: Readonly<Record<string, unknown>>,
): string {
  const [now, was] = [flattenSettings(settings), flattenSettings(base)];
  const changed = [...now.keys()]
    .filter((k) => now.get(k) !== was.get(k))
    .sort()
    .map((k) => `${k}=${shortValue(now.get(k)!.replace(/^"|"$/g, ""))}`);
  if (!changed.length) return `${root}/${stage}`;
  const readable = changed.join(",").replace(/[^\w.=,+-]/g, "_");
  const name = readable.length <= MAX_NAME ? readable : `${readable.slice(0, MAX_NAME - 9)}-${hashText(changed.join(",")).toString(16)}`;
  return `${root}/experiments/${stage}-${name}`;
}

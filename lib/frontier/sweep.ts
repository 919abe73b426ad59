/**
 * What the frontier sweeps: each method over its leash, the setting that decides how far it may move from
 * the SFT model. PPO: the KL coefficient β (fixed, so that it is a leash and not a target), with PPO-ptx at
 * both ends of β (with it, β barely moves where PPO stops) and without it at three β (where the KL penalty
 * is the only leash); DPO: its β; RLOO and GRPO: their β (in the reward for RLOO, in the loss for GRPO).
 * Every run starts from the same SFT model and reward model and is measured on the same held-out requests.
 */

/** A run of the sweep: one method at one setting. */
export interface SweepRun {
  /** Its name: the run directory under the frontier's checkpoint root, and the label of its points. */
  readonly run: string;
  readonly method: "ppo" | "dpo" | "rloo" | "grpo";
  /** Settings over the method's own defaults (PPO_DEFAULTS, DPO_DEFAULTS, GROUP_DEFAULTS). */
  readonly settings: Readonly<Record<string, number | undefined>>;
}

const ppo = (beta: number, ptxCoef = 1): SweepRun => ({
  run: `ppo-beta${beta}${ptxCoef === 1 ? "" : `-ptx${ptxCoef}`}`,
  method: "ppo",
  settings: { initKlCoef: beta, klTarget: undefined, ptxCoef },
});
const dpo = (beta: number): SweepRun => ({ run: `dpo-beta${beta}`, method: "dpo", settings: { beta } });
const group = (method: "rloo" | "grpo", beta: number): SweepRun => ({ run: `${method}-beta${beta}`, method, settings: { beta } });

/**
 * The default sweep: four leashes per method, PPO five (two with PPO-ptx, three without).
 *
 * @example
 * ```ts
 * import { FRONTIER_SWEEP } from "rlhf";
 * FRONTIER_SWEEP.filter((r) => r.method === "dpo").map((r) => r.settings.beta); // [1, 0.5, 0.2, 0.1]
 * ```
 */
export const FRONTIER_SWEEP: readonly SweepRun[] = Object.freeze([
  ...[0.2, 0.01].map((b) => ppo(b)),
  ...[0.2, 0.05, 0.01].map((b) => ppo(b, 0)),
  ...[1, 0.5, 0.2, 0.1].map(dpo),
  ...[0.5, 0.2, 0.1, 0.05].map((b) => group("rloo", b)),
  ...[0.5, 0.2, 0.1, 0.05].map((b) => group("grpo", b)),
]);

/**
 * `--quick`: two leashes per method, to see the whole machinery run in minutes.
 *
 * @example
 * ```ts
 * import { FRONTIER_SWEEP_QUICK } from "rlhf";
 * FRONTIER_SWEEP_QUICK.map((r) => r.run); // ["ppo-beta0.2", "ppo-beta0.01", "dpo-beta1", "dpo-beta0.1", "rloo-beta0.5", "grpo-beta0.5"]
 * ```
 */
export const FRONTIER_SWEEP_QUICK: readonly SweepRun[] = Object.freeze([
  ppo(0.2),
  ppo(0.01),
  dpo(1),
  dpo(0.1),
  group("rloo", 0.5),
  group("grpo", 0.5),
]);

/**
 * The page's sizes, each overridable in the URL (`?requests=2&iters=3`): small enough that the whole flow
 * runs in a few minutes on two cores (wasm backend).
 */
export interface PlaygroundSettings {
  /** Requests the person ranks. @default 4 */
  requests: number;
  /** Answers sampled per request (K). @default 4 */
  k: number;
  /** The reward model's minimum of rank lists: simulated ones fill up to it (fewer overfit: held-out accuracy near chance). @default 128 */
  minLists: number;
  /** Share of the rank lists held out to measure the reward model. @default 0.25 */
  heldout: number;
  /** Passes over the training lists. @default 2 */
  rmEpochs: number;
  /** The reward model's learning rate: above the pipeline's 3e-4 (REWARD_TRAIN_DEFAULTS.lr), which fits ~100 lists too slowly. @default 1e-3 */
  rmLr: number;
  /** "ppo" or "rloo". @default "ppo" */
  method: "ppo" | "rloo";
  /** RL iterations (N). @default 10 */
  iters: number;
  /** Answers per RL iteration. @default 32 */
  batch: number;
  /** The longest answer, in tokens. @default 48 */
  tokens: number;
  /** The policy's learning rate: twice the pipeline's (PPO_DEFAULTS.lr), for a visible move in ten small iterations. @default 2e-4 */
  lr: number;
  /** The KL coefficient β. @default 0.05 for PPO (PPO_DEFAULTS.initKlCoef), 0.1 for RLOO (GROUP_BETA.rloo) */
  beta?: number;
  /** Steps of SFT in the page, offered when the site shipped the base model (no SFT checkpoint). @default 100 */
  sftSteps: number;
  /** Conversations per SFT step (the pipeline's SFT batch). @default 16 */
  sftBatch: number;
  /** Seed of sampling, the simulated labeler and the initial weights. @default 0 */
  seed: number;
}

export const PLAYGROUND_DEFAULTS: Readonly<PlaygroundSettings> = Object.freeze({
  requests: 4,
  k: 4,
  minLists: 128,
  heldout: 0.25,
  rmEpochs: 2,
  rmLr: 1e-3,
  method: "ppo",
  iters: 10,
  batch: 32,
  tokens: 48,
  lr: 2e-4,
  sftSteps: 100,
  sftBatch: 16,
  seed: 0,
});

/** The defaults with the URL's overrides (unknown names and malformed values are errors). */
export function settingsFromQuery(query: URLSearchParams): PlaygroundSettings {
  const s: PlaygroundSettings = { ...PLAYGROUND_DEFAULTS };
  for (const [key, raw] of query) {
    if (key === "backend") continue;
    if (key === "method") {
      if (raw !== "ppo" && raw !== "rloo") throw new Error(`?method= takes ppo or rloo, not ${raw}`);
      s.method = raw;
      continue;
    }
    if (!(key in PLAYGROUND_DEFAULTS) && key !== "beta") throw new Error(`unknown setting ?${key}=`);
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`?${key}= must be a number ≥ 0, not ${raw}`);
    (s as unknown as Record<string, number>)[key] = value;
  }
  if (s.k < 2) throw new Error("?k= must be at least 2");
  if (s.method === "rloo" && s.batch % 4 !== 0) throw new Error("?batch= must be a multiple of 4 for RLOO (groups of 4)");
  return s;
}

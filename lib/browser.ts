/**
 * The library as a web page loads it: everything here is platform-free (no
 * Deno call in it or in anything it imports; tests/architecture_test.ts
 * checks), so a bundle of this file runs in a browser tab. Files go through
 * `platform()`, which in a page is a memory platform (`usePlatform` installs
 * another). The backend is whichever tfjs backend the page sets (`cpu` and
 * `webgl` come with the bundle). Deno callers use lib/mod.ts, which exports
 * all of this and more.
 *
 * @module
 */
export { tf } from "./tf.ts";
export { type MemoryPlatform, memoryPlatform, type MemoryPlatformOptions } from "./platform/memory.ts";
export { type Platform, platform, usePlatform } from "./platform/platform.ts";
export { Rng } from "./rng.ts";

export { GPT2_PRESETS, type GPT2Config, resolveGPT2Config } from "./gpt2/config.ts";
export type { GPT2Model } from "./gpt2/model_types.ts";
export { cloneGPT2, createGPT2, disposeGPT2 } from "./gpt2/init.ts";
export { logits } from "./gpt2/forward.ts";
export * from "./tokenizer/mod.ts";

export { loadPretrained, type PretrainedGPT2, savePretrained } from "./pretrained.ts";

export { generate } from "./generate/generate.ts";
export { sampleToken } from "./generate/sampling.ts";

export type { Poem } from "./corpus/poems.ts";
export type { Task, TaskPrompt } from "./tasks/types.ts";
export { loadPoetryTask, poetryTask } from "./tasks/poetry_zh/task.ts";
export { SimulatedLabeler } from "./reward/simulated_labeler.ts";
export { rankCandidates } from "./reward/collect.ts";
export { appendLabels, loadLabels, type RankRecord } from "./reward/labels.ts";

export {
  createRewardModel,
  disposeRewardModel,
  fitNormalisation,
  normalisedReward,
  rawRewards,
  type RewardModel,
} from "./reward/reward_model.ts";
export { evaluateRewardModel, rawRewardsOfPairs, trainRewardModel } from "./reward/train_reward.ts";
export { type LabelItem, LabelSession, type SessionState } from "./labeling/session.ts";

export { type RewardFunction, rollout } from "./rollout/rollout.ts";
export { AdamW } from "./train/adamw.ts";
export { trainStep } from "./train/train_step.ts";
export { learningRateAt } from "./train/schedule.ts";
export { TRAIN_DEFAULTS } from "./train/train_config.ts";
export { encodeSftExamples, randomSftBatches } from "./data/sft_batches.ts";
export { AdaptiveKLController, FixedKLController } from "./ppo/kl.ts";
export { PPO_DEFAULTS, resolvePPOConfig } from "./ppo/ppo_config.ts";
export { createPolicy, createPolicyOptimizer, disposePolicy, type Policy } from "./ppo/policy.ts";
export { ppoIteration } from "./ppo/ppo_step.ts";
export { GROUP_BETA, GROUP_DEFAULTS, groupIteration } from "./group/group_step.ts";
export { BROWSER_BACKEND_ORDER, type BrowserBackendName, type BrowserBackendOptions, startBrowserBackend } from "./browser_backend.ts";

/**
 * The public door of the library: train your own ChatGPT with RLHF.
 *
 * Callers import it as `"rlhf"` (deno.json maps the name to this file; the notebooks import `../lib/mod.ts`).
 * Every function, class and constant below has an example (`tests/doc_examples_test.ts` type-checks them).
 *
 * @example
 * ```ts
 * import { generate, initBackend, loadPretrained, Rng } from "rlhf";
 * await initBackend();
 * const model = await loadPretrained("models/gpt2-poetry-zh"); // the shipped base
 * const tokenizer = model.tokenizer!;
 * const { tokens } = await generate(model, [tokenizer.encode("床前明月光")], { maxNewTokens: 12, rng: new Rng(0) });
 * console.log(tokenizer.decode(tokens[0])); // the base goes on with the poem: 12 more tokens
 * ```
 *
 * @module
 */
/**
 * TensorFlow.js (`@tensorflow/tfjs-core`, with the gradients of the `@tensorflow/tfjs` bundle registered): the
 * tensors and ops everything here computes with. One instance for the library and its callers.
 *
 * @example
 * ```ts
 * import { tf } from "rlhf";
 * const p = tf.tidy(() => tf.softmax(tf.tensor1d([0, Math.log(3)])).arraySync()); // [0.25, 0.75]
 * ```
 */
export { tf } from "./tf.ts";
export { type MemoryPlatform, memoryPlatform, type MemoryPlatformOptions } from "./platform/memory.ts";
export { type DirEntry, type FileInfo, type OpenFile, type Platform, platform, usePlatform } from "./platform/platform.ts";
export { BACKEND_ORDER, type BackendName, initBackend } from "./backend.ts";

// GPT-2
export { GPT2_DEFAULTS, GPT2_PRESETS, type GPT2Config, gpt2ParamShapes, type GPT2PresetName, resolveGPT2Config } from "./gpt2/config.ts";
export type { GPT2Model, GPT2Params } from "./gpt2/model_types.ts";
export { cloneGPT2, countParams, createGPT2, disposeGPT2 } from "./gpt2/init.ts";
export { type ForwardOptions, gpt2Hidden, gpt2HiddenWithCache, lmHead, lmHeadAt, logits } from "./gpt2/forward.ts";
export { crossEntropy } from "./gpt2/loss.ts";
export { cacheLength, disposeCache, type KVCache } from "./ops/kv_cache.ts";

// Checkpoints
export { loadPretrained, type PretrainedGPT2, savePretrained } from "./pretrained.ts";
export { parseSafetensors, serializeSafetensors } from "./checkpoint/safetensors.ts";
export { writeFileAtomic, writeJsonAtomic, writeTextFileAtomic } from "./checkpoint/atomic.ts";

// Tokenizers and the chat template
export * from "./tokenizer/mod.ts";

// Generation
export { generate, type GenerateOptions, type Generation } from "./generate/generate.ts";
export { type RandomSource, sampleToken, type SamplingOptions } from "./generate/sampling.ts";
export { samplingDistribution } from "./generate/truncation.ts";

// Data and training
export { DEFAULT_POEMS_PATH, loadPoems, type Poem, poemText, splitPoems } from "./corpus/poems.ts";
export { type BatchSource, countedPositions, type LMBatch, randomWindows, sequentialWindows, tokenStream } from "./data/lm_batches.ts";
export { AdamW } from "./train/adamw.ts";
export { nextTokenLoss } from "./train/train_step.ts";
export { learningRateAt } from "./train/schedule.ts";
export { Rng } from "./rng.ts";
export { countWork, positions, tokensPerSecond, type Work, type WorkKind, workSince, workSoFar } from "./work.ts";
export { evaluateLoss, resolveTrainConfig, TRAIN_DEFAULTS, type TrainConfig, type TrainHistory, trainLM } from "./train/trainer.ts";
export { clipByGlobalNorm } from "./train/clip.ts";
export { ProgressBar } from "./train/progress.ts";

// Tasks, SFT data and evaluation
export type { AnswerEdit, GoldScore, SftExample, Split, Task, TaskPrompt } from "./tasks/types.ts";
export { DEFAULT_TASK, loadTask, TASKS } from "./tasks/registry.ts";
export { loadPoetryTask, poetryTask } from "./tasks/poetry_zh/task.ts";
export { parseLines, scorePoem } from "./tasks/poetry_zh/scorer.ts";
export { encodeSftExamples, randomSftBatches, sequentialSftBatches, sftBatch } from "./data/sft_batches.ts";
export { loadSftJsonl } from "./data/sft_jsonl.ts";
export { sampleAndScore, type ScoredSample, summariseScores } from "./eval/sample_and_score.ts";

// Pipeline stages
// Each stage's defaults (what `deno task rlhf` runs) and its quick sizes (`--quick`, the notebooks' quick run)
export { PRETRAIN_DEFAULTS, PRETRAIN_QUICK, type PretrainOptions, runPretrainStage } from "./pipeline/pretrain_stage.ts";
export { runSftStage, SFT_DEFAULTS, SFT_QUICK, type SftOptions } from "./pipeline/sft_stage.ts";
export {
  disposePipelineResult,
  PIPELINE_DEFAULTS,
  PIPELINE_QUICK,
  type PipelineOptions,
  type PipelineResult,
  runPipeline,
} from "./pipeline/pipeline.ts";
export {
  REWARD_STAGE_DEFAULTS,
  REWARD_STAGE_QUICK,
  type RewardStageOptions,
  type RewardStageResult,
  runRewardStage,
} from "./pipeline/reward_stage.ts";

// Reward model and rankings
export { appendLabels, checkRankRecord, loadLabels, type RankRecord } from "./reward/labels.ts";
export { type Candidates, collectRankings, type Labeler, rankCandidates, sampleCandidates } from "./reward/collect.ts";
export { DEFAULT_LABELER_TEMPERATURE, SimulatedLabeler } from "./reward/simulated_labeler.ts";
export { rankingAccuracy, rankingLoss, rankPairs } from "./reward/ranking_loss.ts";
export {
  createRewardModel,
  disposeRewardModel,
  fitNormalisation,
  normalisedReward,
  rawRewards,
  type RewardModel,
} from "./reward/reward_model.ts";
export { evaluateRewardModel, scoreRankLists, trainRewardModel } from "./reward/train_reward.ts";
export { loadRewardModel, saveRewardModel } from "./reward/reward_checkpoint.ts";
export { spearman } from "./eval/spearman.ts";
export { formatDifference, inRounds, meanPerRequest, type PairedDifference, pairedDifference } from "./eval/paired_difference.ts";
export { agreementByPart, type PartAgreement } from "./eval/agreement_by_part.ts";
export { editProbe, type EditProbeRow } from "./eval/edit_probe.ts";
export { LabelSession, RankingError } from "./labeling/session.ts";
export { checkpointFingerprint } from "./checkpoint/fingerprint.ts";
export { startLabelServer } from "./labeling/server.ts";

// A class ranks together: agreement, the overlap set, simulated classrooms, the class server, many label files
export { itemKey, kendallW, krippendorffAlpha, majorityAgreement, pairwiseAgreement } from "./labeling/agreement.ts";
export { agreementLines, agreementWith, type ClassAgreement, classAgreement, listsRankedByAll } from "./labeling/class_agreement.ts";
export { assignClassLists, type ClassAssignmentConfig } from "./labeling/overlap.ts";
export { LABELER_MIXES, type LabelerMix, rankAsClass, type ScoredItem, simulatedClass } from "./labeling/simulated_class.ts";
export { Classroom } from "./labeling/classroom.ts";
export { startClassServer } from "./labeling/class_server.ts";
export { simulatedLabelerVsPeople } from "./labeling/labeler_vs_people.ts";
export { rewardDisagreement, rewardModelRowsBy, rewardModelsBy } from "./labeling/reward_by_labeler.ts";
export { labelFilesOf, loadLabelFiles, mergeRankLists } from "./reward/label_files.ts";

// Charts and tables for notebooks and reports
export { Chart, type ChartSpec, lineChart, plotlyFigure, type Series } from "./charts/figure.ts";
export { Table } from "./charts/table.ts";
export {
  heldoutGoldChart,
  heldoutKlChart,
  type HeldoutPoint,
  heldoutRewardChart,
  lossChart,
  rewardAccuracyChart,
  rewardTrainingChart,
  smooth,
} from "./charts/training.ts";
export { bestOfN, bestOfNKl } from "./eval/best_of_n.ts";
export { BASE_MODEL_DIR, exportBase } from "./pipeline/base_export.ts";
export { BASE_PRETRAIN_DEFAULTS, type BasePretrainOptions, runBasePretrain } from "./pipeline/base_stage.ts";
export { loadValenceList, moodClass, readMood, type ValenceList, varietyScore } from "./tasks/poetry_zh/mood.ts";

// Rollouts: sampling answers and scoring them under the policy and the reference (every online method)
export { type RewardFunction, type Rollout, rollout, underPolicyAndReference } from "./rollout/rollout.ts";
export { evaluateResponses, type Matrix, type SequenceBatch, sequenceBatch, type ValueHead } from "./rollout/sequence_batch.ts";
export { samplingEntropy, truncatedLogprobs } from "./rollout/logprobs.ts";
export { k3Tensor, type KlEstimator, klPerToken, sequenceKl } from "./rollout/kl_estimators.ts";

// PPO
export { computeGae, maskedMean, maskedVar, maskedWhiten } from "./ppo/advantages.ts";
export { AdaptiveKLController, FixedKLController, perTokenRewards } from "./ppo/kl.ts";
export { clippedPolicyLoss, clippedValueLoss } from "./ppo/losses.ts";
export { PPO_DEFAULTS, type PPOConfig, resolvePPOConfig } from "./ppo/ppo_config.ts";
export { createPolicy, createPolicyOptimizer, disposePolicy, type Policy, policyParams } from "./ppo/policy.ts";
export { ppoIteration, type PPOIterationOptions, type PPOStats } from "./ppo/ppo_step.ts";
export { type Advantages, advantages, ppoUpdate, type ScoredRollout, scoreRollout, type UpdateStats } from "./ppo/ppo_phases.ts";
export { evaluatePolicy, type PolicyEvaluation, type PolicySample, rewardModelScores } from "./eval/policy_eval.ts";
export {
  PPO_STAGE_DEFAULTS,
  PPO_STAGE_QUICK,
  type PPOHistory,
  type PPOStageOptions,
  type PPOStageResult,
  ppoStartedFrom,
  runPPOStage,
} from "./pipeline/ppo_stage.ts";
export { ChatSession } from "./chat/chat_session.ts";
export { dpoLoss, type DpoStats, dpoStats, sequenceLogprobs } from "./dpo/dpo_loss.ts";
export { DPO_DEFAULTS, type DpoConfig, type DpoHistory, encodePairs, trainDpo } from "./dpo/train_dpo.ts";
export { ReferenceLogprobs } from "./dpo/reference_logprobs.ts";
export { type BenchRates, bookSizeEstimate, type StageEstimate, type StageWork } from "./bench/book_estimate.ts";
export { DPO_STAGE_DEFAULTS, DPO_STAGE_QUICK, type DpoStageOptions } from "./pipeline/dpo_stage.ts";
export { pairAsTemplatedText, type PreferencePair, preferencePairs } from "./dpo/preference_pairs.ts";
export { exportPreferencePairs } from "./dpo/export_pairs.ts";
export { type BundleManifest, exportBundle, type ExportBundleOptions } from "./export/export_bundle.ts";
export { type ExportedRewardHead, exportPolicy, exportRewardModel, type RewardHeadLayout } from "./export/hf_models.ts";
export { hfTokenizerFiles } from "./export/hf_tokenizer.ts";
export { goldScorerPython, type GoldScorerPythonOptions } from "./export/gold_scorer_py.ts";
export { readVerlParquet, verlParquet, type VerlRow } from "./export/verl_parquet.ts";
export type { Engine } from "./export/engine_commands.ts";
export {
  type EvaluationBase,
  loadPolicyFor,
  POLICY_ROWS_DEFAULTS,
  type PolicyRow,
  policyRowNames,
  policyRows,
  type PolicyRowsConfig,
} from "./pipeline/policy_rows.ts";
export { groupAdvantages, type GroupMethod } from "./group/group_advantages.ts";
export { GROUP_BETA, GROUP_DEFAULTS, type GroupConfig, groupIteration, type GroupStats } from "./group/group_step.ts";
export {
  GROUP_STAGE_DEFAULTS,
  GROUP_STAGE_QUICK,
  groupOnPpoTerms,
  type GroupStageOptions,
  type GroupStageResult,
  runGroupStage,
} from "./pipeline/group_stage.ts";
export {
  appendPoints,
  type Estimate,
  estimate,
  FRONTIER_METHODS,
  type FrontierMethod,
  type FrontierPoint,
  pointFromSamples,
  pointsFromModels,
  readPoints,
  sftPoint,
} from "./frontier/points.ts";
export { fitGao, type GaoFit, type GaoForm, gaoGain, goldAtKl, type KlGold, klToReach, upperEnvelope } from "./frontier/envelope.ts";
export { equalKlTable, frontierSummary, methodEnvelopes } from "./frontier/summary.ts";
export { frontierGoldChart, frontierProxyChart } from "./frontier/frontier_chart.ts";
export { FRONTIER_SWEEP, FRONTIER_SWEEP_QUICK, type SweepRun } from "./frontier/sweep.ts";
export { FRONTIER_DEFAULTS, FRONTIER_QUICK, type FrontierOptions, runFrontier } from "./frontier/run_frontier.ts";
export { FORM_TOLERANCE, keepsForm, keepsFormThroughout, strongestFormKeepingRun } from "./frontier/leash_choice.ts";
export { settingsDirectory } from "./run/settings_directory.ts";

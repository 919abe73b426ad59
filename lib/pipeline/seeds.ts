/**
 * Every seed the pipeline's stages derive, in one place and named by what it
 * draws. A stage has a base seed (its options' `seed`, 0 by default); the
 * offsets below give its independent streams. Changing a value changes a
 * run's numbers: these are the values of the runs recorded in docs/.
 */
export const SEEDS = Object.freeze({
  /** Offset: the order in which PPO, RLOO and GRPO take training requests. */
  trainRequestOrder: 11,
  /** Offset: which SFT conversations PPO-ptx takes into each minibatch. */
  ptxConversations: 13,
  /** Offset: RLOO's and GRPO's sampling and shuffling. */
  groupSampling: 17,
  /** Offset: the answers the labeler ranks for the reward model's training lists. */
  trainRankAnswers: 1,
  /** Offset: the answers the labeler ranks for the held-out lists. */
  heldoutRankAnswers: 2,
  /** Fixed: the sampling of the held-out view of a policy during training (PPO, RLOO, GRPO, DPO alike). */
  heldoutView: 99,
  /** Fixed: the sampling of the final evaluation (every model answers with the same draws). */
  finalEvaluation: 123,
  /** Fixed: the SFT answers the gold reward's shift and scale are fitted on (`--ppo-reward gold`). */
  goldNormalisation: 7,
});

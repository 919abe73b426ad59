/**
 * The playground's steps as plain functions over lib/browser.ts (no DOM): sample K answers to requests,
 * rank lists from the simulated labeler, fit the reward model and measure it on held-out lists, and the RL
 * session (PPO or RLOO) one iteration at a time. main.ts draws them.
 */
import {
  AdamW,
  AdaptiveKLController,
  cloneGPT2,
  createPolicy,
  createPolicyOptimizer,
  createRewardModel,
  decodeReply,
  disposeGPT2,
  disposePolicy,
  disposeRewardModel,
  encodePrompt,
  encodeSftExamples,
  endOfTurnId,
  evaluateRewardModel,
  fitNormalisation,
  generate,
  type GPT2Model,
  GROUP_BETA,
  GROUP_DEFAULTS,
  groupIteration,
  type LabelItem,
  learningRateAt,
  normalisedReward,
  type Policy,
  ppoIteration,
  randomSftBatches,
  rankCandidates,
  type RankRecord,
  rawRewardsOfPairs,
  resolvePPOConfig,
  type RewardModel,
  Rng,
  SimulatedLabeler,
  type Task,
  type TaskPrompt,
  tf,
  type Tokenizer,
  TRAIN_DEFAULTS,
  trainRewardModel,
  trainStep,
} from "../lib/browser.ts";
import type { PlaygroundSettings } from "./settings.ts";

/** A request and its K sampled answers (distinct; a duplicate is dropped, so a list may be shorter). */
export interface SampledItem extends LabelItem {
  readonly request: TaskPrompt;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
/** The standard error of a mean. */
export function standardError(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) / xs.length);
}

/** K answers from `lm` to each request, decoded. */
export async function sampleAnswers(
  lm: GPT2Model,
  tokenizer: Tokenizer,
  requests: readonly TaskPrompt[],
  o: { k: number; tokens: number; rng: Rng },
): Promise<SampledItem[]> {
  const stopId = endOfTurnId(tokenizer);
  const prompts = requests.flatMap((r) => Array.from({ length: o.k }, () => encodePrompt(r.messages, tokenizer)));
  const { tokens } = await generate(lm, prompts, { maxNewTokens: o.tokens, stopIds: [stopId], rng: o.rng });
  return requests.map((request, i) => {
    const answers = tokens.slice(i * o.k, (i + 1) * o.k).map((t) => decodeReply(t, tokenizer).text);
    return { request, prompt_id: request.id, prompt: request.messages, responses: [...new Set(answers)] };
  });
}

/** Rank lists of the simulated labeler over sampled items, as the pipeline makes them (`rankCandidates`: its ties too). */
export function simulatedLists(task: Task, items: readonly SampledItem[], labeler: SimulatedLabeler, checkpoint: string): RankRecord[] {
  return rankCandidates(task, items.map((item) => ({ prompt: item.request, responses: item.responses })), labeler, checkpoint);
}

/** The fitted reward model and how it ranks held-out lists, before and after the fit. */
export interface RewardFit {
  rm: RewardModel;
  trainLists: number;
  heldoutLists: number;
  /** Share of held-out pairs in the labeler's order: untrained, then fitted. */
  before: number;
  after: number;
  losses: number[];
}

/**
 * Fits a reward model on `lists` but a held-out share of them (every n-th list), measures it on those, and
 * sets its normalisation on the SFT answers (mean 0, std 1), as the pipeline's reward stage does.
 */
export async function fitRewardModel(
  sft: GPT2Model,
  tokenizer: Tokenizer,
  lists: readonly RankRecord[],
  s: PlaygroundSettings,
): Promise<RewardFit> {
  const every = Math.max(2, Math.round(1 / s.heldout));
  const heldout = lists.filter((_, i) => i % every === every - 1);
  const train = lists.filter((_, i) => i % every !== every - 1);
  const rm = createRewardModel(sft, { seed: s.seed });
  const before = (await evaluateRewardModel(rm, tokenizer, heldout)).pairwise;
  const history = await trainRewardModel(rm, tokenizer, train, { epochs: s.rmEpochs, lr: s.rmLr, seed: s.seed, quiet: true });
  const after = (await evaluateRewardModel(rm, tokenizer, heldout)).pairwise;
  const pairs = lists.flatMap((l) => l.responses.map((response) => ({ prompt: l.prompt, response })));
  fitNormalisation(rm, await rawRewardsOfPairs(rm, tokenizer, pairs, 64));
  return { rm, trainLists: train.length, heldoutLists: heldout.length, before, after, losses: history.train.map((r) => r.loss) };
}

/** One RL iteration as the charts show it. */
export interface IterationRow {
  iteration: number;
  /** Mean reward-model score of the batch (normalised) and its standard error. */
  score: number;
  scoreSE: number;
  /** Mean KL of an answer to the SFT model, nats. */
  kl: number;
  /** Mean gold score of the simulated labeler. */
  gold: number;
  /** Live tensors after the iteration. */
  tensors: number;
  seconds: number;
}

/** An RL run: the policy (a copy of the SFT model), the frozen reference, its optimiser, one `step()` per iteration. */
export class RLSession {
  readonly rows: IterationRow[] = [];
  readonly #lm: GPT2Model;
  readonly #policy?: Policy;
  readonly #reference: GPT2Model;
  readonly #optimizer: AdamW;
  readonly #step: (prompts: number[][], reward: (idx: number[], responses: number[][]) => Promise<number[]>) => Promise<unknown>;
  readonly #rng: Rng;
  #next = 0;

  constructor(
    sft: GPT2Model,
    readonly tokenizer: Tokenizer,
    readonly task: Task,
    readonly rm: RewardModel,
    readonly requests: readonly TaskPrompt[],
    readonly s: PlaygroundSettings,
  ) {
    this.#rng = new Rng(s.seed + 1);
    this.#reference = cloneGPT2(sft, { trainable: false });
    const stopId = endOfTurnId(tokenizer);
    const padId = tokenizer.eosId;
    if (s.method === "ppo") {
      const config = resolvePPOConfig({
        batchSize: s.batch,
        miniBatchSize: Math.min(8, s.batch),
        maxNewTokens: s.tokens,
        lr: s.lr,
        initKlCoef: s.beta ?? 0.05,
        ptxCoef: 0,
        seed: s.seed,
      });
      const policy = createPolicy(sft);
      const klController = new AdaptiveKLController(config.initKlCoef, config.klTarget!, config.klHorizon);
      this.#policy = policy;
      this.#lm = policy.lm;
      this.#optimizer = createPolicyOptimizer(policy, config);
      this.#step = (prompts, reward) =>
        ppoIteration({
          policy,
          reference: this.#reference,
          optimizer: this.#optimizer,
          klController,
          prompts,
          reward,
          config,
          stopId,
          padId,
          rng: this.#rng,
        });
    } else {
      const config = { ...GROUP_DEFAULTS, method: "rloo" as const, klIn: "reward" as const, beta: s.beta ?? GROUP_BETA.rloo, lr: s.lr };
      const cfg = { ...config, maxNewTokens: s.tokens, miniBatchSize: Math.min(8, s.batch) };
      this.#lm = cloneGPT2(sft);
      this.#optimizer = new AdamW(this.#lm.params, { weightDecay: 0 });
      this.#step = (prompts, reward) =>
        groupIteration({
          lm: this.#lm,
          reference: this.#reference,
          optimizer: this.#optimizer,
          prompts,
          reward,
          config: cfg,
          stopId,
          padId,
          rng: this.#rng,
        });
    }
  }

  /** The policy being trained. */
  get lm(): GPT2Model {
    return this.#lm;
  }

  /** One iteration on the next requests of the list: its row (also pushed to `rows`). */
  async step(): Promise<IterationRow> {
    const t0 = performance.now();
    const n = this.s.method === "ppo" ? this.s.batch : this.s.batch / GROUP_DEFAULTS.groupSize;
    const asked = Array.from({ length: n }, (_, i) => this.requests[(this.#next + i) % this.requests.length]);
    this.#next += n;
    const prompts = asked.map((r) => encodePrompt(r.messages, this.tokenizer));
    const perAnswer = this.s.method === "ppo" ? asked : asked.flatMap((r) => Array.from({ length: GROUP_DEFAULTS.groupSize }, () => r));
    let scores: number[] = [];
    let gold: number[] = [];
    const reward = async (idx: number[], responses: number[][]) => {
      const pairs = idx.map((i, b) => ({ request: perAnswer[i], response: decodeReply(responses[b], this.tokenizer).text }));
      gold = pairs.map((p) => this.task.score(p.request, p.response).total);
      const raw = await rawRewardsOfPairs(
        this.rm,
        this.tokenizer,
        pairs.map((p) => ({ prompt: p.request.messages, response: p.response })),
        64,
      );
      scores = raw.map((r) => normalisedReward(this.rm, r));
      return scores;
    };
    const result = await this.#step(prompts, reward) as { stats: { "objective/kl": number } };
    const row: IterationRow = {
      iteration: this.rows.length + 1,
      score: mean(scores),
      scoreSE: standardError(scores),
      kl: result.stats["objective/kl"],
      gold: mean(gold),
      tensors: tf.memory().numTensors,
      seconds: (performance.now() - t0) / 1000,
    };
    this.rows.push(row);
    return row;
  }

  /** Frees the policy, the reference and the optimiser (the reward model and the SFT model stay). */
  dispose(): void {
    this.#optimizer.dispose();
    if (this.#policy) disposePolicy(this.#policy);
    else disposeGPT2(this.#lm);
    disposeGPT2(this.#reference);
  }
}

export { disposeRewardModel, mean };

/**
 * SFT in the page, for a base model that was shipped without it: `steps` steps of the library's own training
 * step on the task's conversations (the loss on the answer's tokens only), the learning rate warmed up to the
 * pipeline's 1e-3 and decayed to 1e-4. `onStep` gets each step's loss; the model is trained in place.
 */
export async function fineTuneInPage(
  model: GPT2Model,
  tokenizer: Tokenizer,
  task: Task,
  o: { steps: number; batch: number; seed: number; onStep: (step: number, loss: number) => Promise<void> },
): Promise<number[]> {
  const { encoded } = encodeSftExamples(task.sftExamples("train", o.seed), tokenizer, model.config.n_positions);
  if (encoded.length === 0) throw new Error("SFT: no conversation fits the model's context");
  const data = randomSftBatches(encoded, { batchSize: o.batch, seed: o.seed, padId: tokenizer.eosId });
  const { maxLr, minLr, betas, weightDecay, gradClip } = TRAIN_DEFAULTS;
  const schedule = { maxLr, minLr, warmupSteps: Math.max(1, Math.min(20, Math.floor(o.steps / 5))), totalSteps: o.steps };
  const optimizer = new AdamW(model.params, { betas, weightDecay });
  const losses: number[] = [];
  try {
    for (let step = 0; step < o.steps; step++) {
      const out = trainStep(model, optimizer, data.batch(step), { lr: learningRateAt(step, schedule), gradClip, seed: o.seed + step });
      const loss = (await out.loss.data())[0];
      tf.dispose([out.loss, out.gradNorm]);
      if (!Number.isFinite(loss)) throw new Error(`SFT diverged at step ${step}: loss is ${loss}`);
      losses.push(loss);
      await o.onStep(step + 1, loss);
    }
    return losses;
  } finally {
    optimizer.dispose();
  }
}

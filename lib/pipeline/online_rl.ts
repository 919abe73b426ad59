/**
 * The loop every online RL stage shares (PPO, RLOO, GRPO): the methods differ only in their step, what
 * one iteration does with its requests (lib/ppo/ppo_step.ts, lib/group/group_step.ts). The loop owns the
 * rest, the same for each:
 *
 *   - the run directory: resume an unfinished run, reuse a finished one, refuse another's (run_directory.ts);
 *   - the requests of each iteration, in a fixed order (a resumed run asks the same ones);
 *   - the reward: the stage's scorer on (request, decoded answer) pairs;
 *   - the divergence guard: a non-finite statistic stops the run before anything is saved from it;
 *   - the cadence: a few samples every `sampleEvery` iterations, the held-out view every `evalEvery`,
 *     a checkpoint every `checkpointEvery`, and all three after the last iteration;
 *   - an early stop as if killed (`stopAfterIteration`): save, then end like a finished loop;
 *   - the progress bar, and the held-out view of the model before and after.
 */
import type { GPT2Model } from "../gpt2/model_types.ts";
import { evaluatePolicy, type HeldoutRow, heldoutRow, type PolicyEvaluation } from "../eval/policy_eval.ts";
import type { RewardFunction } from "../rollout/rollout.ts";
import type { RewardModel } from "../reward/reward_model.ts";
import type { Task, TaskPrompt } from "../tasks/types.ts";
import { decodeReply } from "../tokenizer/chat_template.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import type { AdamW } from "../train/adamw.ts";
import { ProgressBar } from "../train/progress.ts";
import { Rng } from "../rng.ts";
import { type RunDirectory, RunDirectory as Run, type RunIdentity } from "../run/run_directory.ts";

/** What one iteration of a method returns. */
export interface OnlineStepResult<S> {
  readonly stats: S;
  /** The sampled answers (token ids) … */
  readonly responses: readonly number[][];
  /** … the request each one answers (a group method answers each request several times) … */
  readonly answered: readonly TaskPrompt[];
  /** … and the score each one got. */
  readonly scores: readonly number[];
}

/** What a method supplies to the loop. */
export interface OnlineMethod<S extends object, P extends object> {
  /** "ppo", "rloo" or "grpo": names the run directory's stage, the progress bar and the messages. */
  readonly name: string;
  /** The policy's language model: sampled, evaluated, and saved as the checkpoint's weights. */
  readonly lm: GPT2Model;
  /** Its optimiser (saved and restored with the run). */
  readonly optimizer: AdamW;
  /** Requests per iteration. */
  readonly promptsPerIteration: number;
  /** One iteration on `prompts`: sample with `rng`, score with `rewardFor(the request of each answer)`, update. */
  step(
    prompts: readonly TaskPrompt[],
    iteration: number,
    rng: Rng,
    rewardFor: (answered: readonly TaskPrompt[]) => RewardFunction,
  ): Promise<OnlineStepResult<S>>;
  /** The method's own state a resumed run needs beyond weights and optimiser (PPO: β); numbers are checked finite. */
  state(): P;
  /** Puts a saved state back (and reads the method's files, e.g. PPO's value head, from `run`). */
  restore(state: P, run: RunDirectory): Promise<void>;
  /** Files the method adds to each checkpoint (PPO: its value head). */
  files(): Promise<Record<string, Uint8Array>>;
  /** What the progress bar shows after an iteration. */
  barValues(stats: S): Record<string, string>;
}

/** The training record of an online run: statistics per iteration, held-out rows, a few samples. */
export interface OnlineHistory<S> {
  stats: (S & { iteration: number })[];
  /**
   * Held-out gold / RM score / KL of the policy over training (iteration 0 = the SFT model), with the
   * standard errors of the gold and RM means over the requests, and the mean of each gold part.
   */
  eval: HeldoutRow[];
  samples: { iteration: number; prompt: string; response: string; score: number }[];
}

export interface OnlineRLOptions {
  readonly tokenizer: Tokenizer;
  readonly task: Task;
  /** The frozen SFT model: the reference of the KL and of the held-out view. */
  readonly reference: GPT2Model;
  /** The reward model of the held-out view. */
  readonly rm: RewardModel;
  /** Scores (request, answer) pairs: the reward the method maximises. */
  readonly score: (pairs: { prompt: TaskPrompt; response: string }[]) => Promise<number[]>;
  /** The training requests, asked in this order, round and round. */
  readonly trainPrompts: readonly TaskPrompt[];
  /** The held-out requests of the periodic evaluation, and how it samples. */
  readonly heldout: readonly TaskPrompt[];
  readonly evalOptions: Parameters<typeof evaluatePolicy>[6];
  /** Seeds the sampling and the minibatch orders (saved with the run, so a resumed run draws the same). */
  readonly seed: number;
  readonly iterations: number;
  readonly evalEvery: number;
  readonly sampleEvery: number;
  readonly checkpointEvery: number;
  readonly checkpointDir: string;
  /** What the run started from and its settings: the run directory's identity. */
  readonly identity: RunIdentity;
  /** Stop after this iteration as if the process were killed, with its checkpoint written (tests and teaching). */
  readonly stopAfterIteration?: number;
  /** Called with each periodic held-out view after the first (the frontier records its points from them). */
  readonly onView?: HeldoutViewOptions["onView"];
  /** The SFT model's view, when the caller has it (HeldoutViewOptions). */
  readonly referenceView?: PolicyEvaluation;
  /**
   * Return the held-out views of the SFT model and of the policy as the loop left it, taking them when the loop
   * did not (a resumed or reused run); PPO reports both. Without it, only the views the loop takes anyway are
   * taken (RLOO and GRPO read theirs from the history).
   */
  readonly endViews?: boolean;
  readonly quiet?: boolean;
}

/** How a caller widens and watches a stage's periodic held-out view (the frontier of methods does). */
export interface HeldoutViewOptions {
  /** Answers per held-out request, asked in rounds (one when absent). */
  readonly evalAnswers?: number;
  /** Called with each periodic view after the first, with the iteration it was taken at. */
  readonly onView?: (iteration: number, view: PolicyEvaluation) => Promise<void>;
  /**
   * The SFT model's view of these very held-out requests with the loop's sampling, when the caller has it
   * (the frontier measures SFT once for all its runs): the loop takes it instead of sampling SFT again. Its
   * requests must be the loop's, in order; anything else is refused.
   */
  readonly referenceView?: PolicyEvaluation;
}

export interface OnlineRLResult<S> {
  readonly history: OnlineHistory<S>;
  /** The held-out view of the SFT model and of the policy as the loop left it (with `endViews`, always). */
  readonly before?: PolicyEvaluation;
  readonly after?: PolicyEvaluation;
  /** Wall time spent training this run, over every session that trained it (a reused run: its sessions'). */
  readonly trainingSeconds: number;
  /** The run was finished already: this session loaded it and trained nothing. */
  readonly reused: boolean;
}

/** What the loop saves to go on: the next iteration, the sampling RNG, the history, the method's state. */
interface OnlineProgress<S, P> {
  iteration: number;
  rngState: number;
  history: OnlineHistory<S>;
  method: P;
}

/** Samples recorded every `sampleEvery` iterations. */
const SAMPLES_PER_RECORD = 3;

/** Trains `method.lm` online for `o.iterations` iterations, resuming or reusing the run in `o.checkpointDir`. */
export async function runOnlineRL<S extends object, P extends object>(
  method: OnlineMethod<S, P>,
  o: OnlineRLOptions,
): Promise<OnlineRLResult<S>> {
  const run = new Run(o.checkpointDir, method.name, o.identity);
  try {
    let history: OnlineHistory<S> = { stats: [], eval: [], samples: [] };
    let rng = new Rng(o.seed);
    let start = 0;
    const saved = await run.open<OnlineProgress<S, P>>();
    if (saved) {
      await run.restore(method.lm.params, method.optimizer);
      await method.restore(saved.progress.method, run);
      ({ iteration: start, history } = saved.progress);
      rng = Rng.fromState(saved.progress.rngState);
      if (!o.quiet) {
        console.log(
          saved.finished
            ? `${method.name}: ${o.checkpointDir} holds a finished run of these settings, reused`
            : `${method.name}: resuming ${o.checkpointDir} at iteration ${start} of ${o.iterations}`,
        );
      }
    }
    const view = (lm: GPT2Model) => evaluatePolicy(lm, o.reference, o.rm, o.tokenizer, o.task, o.heldout, o.evalOptions);
    // The SFT model's view: the history's first row, and what PPO reports its gain against.
    const before = start === 0 || o.endViews ? (o.referenceView ? checkedReferenceView(o) : await view(o.reference)) : undefined;
    if (start === 0) history.eval.push(heldoutRow(0, before!));
    const rewardFor = (answered: readonly TaskPrompt[]): RewardFunction => (idx, responses) =>
      o.score(idx.map((i) => ({ prompt: answered[i], response: decodeReply(responses[i], o.tokenizer).text })));

    let after: PolicyEvaluation | undefined;
    const bar = o.quiet ? undefined : new ProgressBar({ total: o.iterations - start, label: method.name, unit: "it" });
    for (let it = start; it < o.iterations; it++) {
      const n = method.promptsPerIteration;
      const prompts = Array.from({ length: n }, (_, i) => o.trainPrompts[(it * n + i) % o.trainPrompts.length]);
      const result = await method.step(prompts, it, rng, rewardFor);
      const done = it + 1;
      refuseNonFinite(method.name, done, { ...result.stats, ...method.state() });
      history.stats.push({ ...result.stats, iteration: done });
      const last = done === o.iterations;
      if (done % o.sampleEvery === 0 || last) {
        for (let i = 0; i < Math.min(SAMPLES_PER_RECORD, result.responses.length); i++) {
          history.samples.push({
            iteration: done,
            prompt: result.answered[i].messages.at(-1)!.content,
            response: decodeReply(result.responses[i], o.tokenizer).text,
            score: result.scores[i],
          });
        }
      }
      if (done % o.evalEvery === 0 || last) {
        const e = await view(method.lm);
        history.eval.push(heldoutRow(done, e));
        await o.onView?.(done, e);
        if (last) after = e; // the final policy: no second evaluation below
      }
      bar?.update(done - start, { tokens: done - start, extra: method.barValues(result.stats) });
      if (done % o.checkpointEvery === 0 || last || done === o.stopAfterIteration) {
        const progress: OnlineProgress<S, P> = { iteration: done, rngState: rng.state(), history, method: method.state() };
        await run.save({ model: method.lm, optimizer: method.optimizer, tokenizer: o.tokenizer, files: await method.files() }, progress, {
          finished: last,
        });
      }
      if (done === o.stopAfterIteration) break;
    }
    bar?.finish();
    const end = after ?? (o.endViews ? await view(method.lm) : undefined);
    return { history, before, after: end, trainingSeconds: run.trainingSeconds, reused: run.reused };
  } finally {
    run.close();
  }
}

/** The caller's SFT view, refused unless it answers the loop's held-out requests in the loop's order. */
function checkedReferenceView(o: OnlineRLOptions): PolicyEvaluation {
  const view = o.referenceView!;
  const same = view.samples.length === o.heldout.length && view.samples.every((s, i) => s.prompt.id === o.heldout[i].id);
  if (!same) {
    throw new Error(`referenceView: ${view.samples.length} answers that are not the loop's ${o.heldout.length} held-out requests in order`);
  }
  return view;
}

/** Stops before a checkpoint can store a broken policy (the last good checkpoint stays). */
function refuseNonFinite(name: string, iteration: number, values: object): void {
  const broken = Object.entries(values).filter(([, v]) => typeof v === "number" && !Number.isFinite(v)).map(([k, v]) => `${k} = ${v}`);
  if (broken.length) {
    throw new Error(`${name.toUpperCase()} diverged at iteration ${iteration}: ${broken.join(", ")} (no checkpoint written)`);
  }
}

/**
 * A task bundles what the three RLHF steps need for one kind of assistant:
 * a pretraining corpus, SFT conversations, prompts for sampling and PPO (with
 * a held-out split no training step sees), and a gold scorer that rates a
 * response and ranks K of them as a person would. A new task is one new file
 * registered in registry.ts.
 */
import type { ChatMessage } from "../tokenizer/chat_template.ts";

export type Split = "train" | "heldout";

/** A request to the assistant, with what a good answer must satisfy. */
export interface TaskPrompt {
  readonly id: string;
  /** The conversation so far, ending with the user's turn. */
  readonly messages: readonly ChatMessage[];
  /** Task-specific requirements the gold scorer checks (e.g. form, a word to include). */
  readonly constraints: Readonly<Record<string, string | number>>;
}

/** An SFT example: a prompt and a reference answer. */
export interface SftExample {
  readonly prompt: TaskPrompt;
  readonly response: string;
}

/** The gold score of one response: each part in [0, 1], and their combination. */
export interface GoldScore {
  readonly total: number;
  readonly parts: Readonly<Record<string, number>>;
}

/** One known way to make an answer worse (for probing a reward model); undefined where it does not apply. */
export interface AnswerEdit {
  readonly name: string;
  apply(response: string, prompt: TaskPrompt): string | undefined;
}

export interface Task {
  readonly name: string;
  /** One line for people, e.g. "诗词助手: writes Tang-style poems on request". */
  readonly description: string;
  /** What the gold scorer (and so the simulated labeler) prefers: a short name and one sentence a person could say. */
  readonly preference?: {
    readonly name: string;
    readonly description: string;
    /** The part of the gold score that carries the preference (e.g. "mood"), for charts. */
    readonly part?: string;
    /** Changes whenever what the scorer prefers changes (e.g. a hash of its word list): labels of another version are not reused. */
    readonly version?: string;
    /** The class of an answer under the preference (e.g. "bright" / "even" / "sorrowful"), for distributions. */
    readonly classOf?: (response: string) => string;
  };
  /** Documents for causal-LM pretraining. */
  pretrainTexts(split: Split): string[];
  /** Text whose characters a character vocabulary must cover (corpus + instruction templates). */
  vocabularyTexts(): string[];
  /** SFT examples (deterministic for a seed). */
  sftExamples(split: Split, seed: number): SftExample[];
  /** Prompts for sampling, labelling, PPO (train) and evaluation (heldout), in a seeded random order (any prefix is a fair sample). */
  prompts(split: Split, seed: number): TaskPrompt[];
  /** Rates a response to a prompt. */
  score(prompt: TaskPrompt, response: string): GoldScore;
  /** Edits that make an answer worse in one known way, to see what a reward model has learned (lib/eval/edit_probe.ts). */
  readonly answerEdits?: readonly AnswerEdit[];
}

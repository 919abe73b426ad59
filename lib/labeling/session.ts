/**
 * A labelling session: a queue of (prompt, K responses) items that a person
 * ranks one by one. Each ranking is appended to the labels file at once
 * (atomically), so closing the page loses nothing. Undo retracts the person's
 * own last ranking of this session and shows that item again.
 */
import { writeTextFileAtomic } from "../checkpoint/atomic.ts";
import type { ChatMessage } from "../tokenizer/chat_template.ts";
import { appendLabels, loadLabels, type RankRecord } from "../reward/labels.ts";

export interface LabelItem {
  readonly prompt_id: string;
  readonly prompt: readonly ChatMessage[];
  /** Distinct responses in the order they are shown (sampled order). */
  readonly responses: readonly string[];
}

export interface SessionState {
  readonly index: number;
  readonly total: number;
  /** Rank lists in the labels file (all labelers). */
  readonly labelled: number;
  readonly item?: LabelItem;
  readonly canUndo: boolean;
}

export class LabelSession {
  readonly #items: readonly LabelItem[];
  readonly #path: string;
  readonly #labeler: string;
  readonly #checkpoint: string;
  #index = 0;
  /** (item index, record) of this session's rankings, newest last. */
  readonly #done: { index: number; record: RankRecord | undefined }[] = [];

  constructor(items: readonly LabelItem[], options: { labelsPath: string; labeler: string; checkpoint: string }) {
    if (!options.labeler.trim()) throw new Error("LabelSession: a labeler name is required");
    this.#items = items;
    this.#path = options.labelsPath;
    this.#labeler = options.labeler;
    this.#checkpoint = options.checkpoint;
  }

  async state(): Promise<SessionState> {
    return {
      index: this.#index,
      total: this.#items.length,
      labelled: (await loadLabels(this.#path)).length,
      item: this.#items[this.#index],
      canUndo: this.#done.length > 0,
    };
  }

  /**
   * Ranks the current item: `order` lists response indices best first. It must
   * name every response exactly once (a tie or a gap is refused with a reason).
   */
  rank(order: readonly number[], forIndex?: number): Promise<void> {
    return this.#serialised(() => this.#rank(order, forIndex));
  }

  /**
   * Runs state changes one at a time: two submits that arrive together (a
   * double click) must not both read the same current item before either moves on.
   */
  #serialised<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(change, change);
    this.#queue = run.then(() => {}, () => {});
    return run;
  }
  #queue: Promise<void> = Promise.resolve();

  async #rank(order: readonly number[], forIndex?: number): Promise<void> {
    if (forIndex !== undefined && forIndex !== this.#index) {
      throw new RankingError(
        `this ranking is for item ${forIndex + 1}, but item ${this.#index + 1} is the current one (a second submit?); reload the page`,
      );
    }
    const item = this.#items[this.#index];
    if (!item) throw new RankingError("every item is done");
    const K = item.responses.length;
    if (order.length !== K || new Set(order).size !== K || !order.every((i) => Number.isInteger(i) && i >= 0 && i < K)) {
      const got = JSON.stringify(order);
      throw new RankingError(
        `a ranking must order all ${K} responses once each (got ${got.length > 80 ? got.slice(0, 80) + "…" : got}); ties cannot be saved`,
      );
    }
    const record: RankRecord = {
      prompt_id: item.prompt_id,
      prompt: item.prompt,
      responses: order.map((i) => item.responses[i]),
      labeler: this.#labeler,
      time: new Date().toISOString(),
      checkpoint: this.#checkpoint,
    };
    try {
      await appendLabels(this.#path, [record]);
    } catch (err) {
      throw new RankingError((err as Error).message); // e.g. conflicts with an earlier ranking
    }
    this.#done.push({ index: this.#index, record });
    this.#index++;
  }

  /** Moves on without ranking. */
  skip(): Promise<void> {
    return this.#serialised(() => {
      if (this.#index < this.#items.length) {
        this.#done.push({ index: this.#index, record: undefined });
        this.#index++;
      }
      return Promise.resolve();
    });
  }

  /** Goes back one item; a ranking made for it in this session is removed from the file. */
  undo(): Promise<void> {
    return this.#serialised(() => this.#undo());
  }

  async #undo(): Promise<void> {
    const last = this.#done.pop();
    if (!last) return;
    if (last.record) {
      // Remove exactly the line this session appended; every other line stays byte for byte.
      const lines = (await Deno.readTextFile(this.#path)).split("\n");
      const at = lines.lastIndexOf(JSON.stringify(last.record));
      if (at >= 0) lines.splice(at, 1);
      await writeTextFileAtomic(this.#path, lines.join("\n"));
    }
    this.#index = last.index;
  }
}

/** A ranking the person can fix (shown on the page), as opposed to a server fault. */
export class RankingError extends Error {}

/**
 * A labelling session: a queue of (prompt, K responses) items that a person
 * ranks one by one. Each ranking is written to the labels file at once
 * (atomically, under the file's lock, so two servers on one file both keep
 * every line), so closing the page loses nothing.
 *
 * The rules a labeler sees:
 * - An item is a prompt and its set of responses (prompt_id + the responses,
 *   in any order); the same seed samples the same items again.
 * - A session starts at the first item this labeler has not ranked yet, so a
 *   restarted `deno task label` goes on where the person left off.
 * - After a ranking, the session moves to the next item this labeler has not
 *   ranked; Skip moves one item on without ranking.
 * - Back goes to the previous item, ranked or not. A ranked item shows the
 *   labeler's earlier order, and ranking it again REPLACES their earlier line
 *   for that item in the file (every other line stays byte for byte): one
 *   ranking per labeler and item, the latest.
 * - Undo takes back this session's last action and shows that item again: a
 *   new ranking leaves the file, a replacing one puts the earlier line back, a
 *   skip is undone.
 * - Ties: a ranking may give equally good responses the same rank (the file's
 *   `ranks`, e.g. [1, 2, 2, 3]); "all bad" ties them all. The reward model
 *   learns only from untied pairs, so a tied pair trains nothing and an
 *   all-tied list is left out of training; it is still saved, so the item
 *   counts as done.
 */
import type { ChatMessage } from "../tokenizer/chat_template.ts";
import {
  checkRankRecord,
  loadLabels,
  rankingKey,
  type RankRecord,
  replaceRanking,
  type SavedRanking,
  withdrawRanking,
} from "../reward/labels.ts";

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
  /** How many of this session's items this labeler has ranked (in the file, this start or earlier). */
  readonly done: number;
  readonly item?: LabelItem;
  /** When this labeler already ranked the current item: their order, as indices into `item.responses`, best first. */
  readonly ranked?: readonly number[];
  /** With `ranked`, when that ranking had ties: the rank of each response in that order (1 = best). */
  readonly rankedTies?: readonly number[];
  readonly canUndo: boolean;
  readonly canGoBack: boolean;
}

/**
 * A person's labelling session over a queue of items (the rules above); `startLabelServer` serves it as a page.
 *
 * @example
 * ```ts
 * import { LabelSession } from "rlhf";
 * const labelsPath = `${await Deno.makeTempDir()}/labels.jsonl`;
 * const item = { prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses: ["春风", "秋雨", "夜雪"] };
 * const session = new LabelSession([item], { labelsPath, labeler: "ann", checkpoint: "sft@3f2a" });
 * await session.rank([2, 0, 1]); // 夜雪 best, then 春风, then 秋雨: one line in labels.jsonl
 * (await session.state()).done; // 1
 * // A tie: `await session.rank([2, 0, 1], { ranks: [1, 2, 2] })` would say 春风 and 秋雨 are equally good.
 * ```
 */
export class LabelSession {
  readonly #items: readonly LabelItem[];
  /** Each item's key as this labeler's ranking of it is keyed in the file (`rankingKey`). */
  readonly #keys: readonly string[];
  readonly #path: string;
  readonly #labeler: string;
  readonly #checkpoint: string;
  readonly #session?: string;
  #index = 0;
  /** Set once the label file has been read at the start (a failed read is tried again on the next request). */
  #resumed = false;
  /** This session's actions, newest last: the item, and for a ranking where it went in the file. */
  readonly #done: { index: number; saved?: SavedRanking }[] = [];

  /** `session`: a class session's id, written on each of its lines (RankRecord.session). */
  constructor(items: readonly LabelItem[], options: { labelsPath: string; labeler: string; checkpoint: string; session?: string }) {
    if (!options.labeler.trim()) throw new Error("LabelSession: a labeler name is required");
    this.#items = items;
    this.#path = options.labelsPath;
    this.#labeler = options.labeler;
    this.#keys = items.map((item) => rankingKey({ ...item, labeler: options.labeler }));
    this.#checkpoint = options.checkpoint;
    this.#session = options.session;
  }

  state(): Promise<SessionState> {
    return this.#serialised(() => this.#state());
  }

  async #state(): Promise<SessionState> {
    const all = await loadLabels(this.#path);
    const mine = this.#mine(all);
    const item = this.#items[this.#index];
    const earlier = item && mine.get(this.#keys[this.#index]);
    return {
      index: this.#index,
      total: this.#items.length,
      labelled: all.length,
      done: this.#keys.filter((key) => mine.has(key)).length,
      item,
      ...(earlier ? { ranked: earlier.responses.map((r) => item.responses.indexOf(r)) } : {}),
      ...(earlier?.ranks ? { rankedTies: earlier.ranks } : {}),
      canUndo: this.#done.length > 0,
      canGoBack: this.#index > 0,
    };
  }

  /** This labeler's rankings by item. */
  #mine(all: readonly RankRecord[]): Map<string, RankRecord> {
    return new Map(all.filter((r) => r.labeler === this.#labeler).map((r) => [rankingKey(r), r]));
  }

  /** The first item at or after `from` this labeler has not ranked (the item count when there is none). */
  async #nextUnranked(from: number): Promise<number> {
    const mine = this.#mine(await loadLabels(this.#path));
    let i = from;
    while (i < this.#items.length && mine.has(this.#keys[i])) i++;
    return i;
  }

  /**
   * Ranks the current item: `order` lists response indices best first. It must
   * name every response exactly once (a repeat or a gap is refused with a reason).
   * `ranks`: ties, the rank of each response in `order` (1, then each the same as the one before or one
   * more: [1, 2, 2] ties the 2nd and 3rd; all 1 is "all bad"). `index`, the item the page showed, guards
   * against a second submit ranking the next item.
   */
  rank(order: readonly number[], options: { index?: number; ranks?: readonly number[] } = {}): Promise<void> {
    return this.#serialised(() => this.#rank(order, options.index, options.ranks));
  }

  /**
   * Runs state changes one at a time: two submits that arrive together (a
   * double click) must not both read the same current item before either moves on.
   * The first one also finds where this labeler left off.
   */
  #serialised<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      await this.#resume();
      return await change();
    });
    this.#queue = run.then(() => {}, () => {});
    return run;
  }
  #queue: Promise<void> = Promise.resolve();

  async #resume(): Promise<void> {
    if (this.#resumed) return;
    this.#index = await this.#nextUnranked(0);
    this.#resumed = true;
  }

  async #rank(order: readonly number[], forIndex?: number, ranks?: readonly number[]): Promise<void> {
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
        `a ranking must order all ${K} responses once each (got ${
          got.length > 80 ? got.slice(0, 80) + "…" : got
        }); to say two are equally good, mark a tie (ranks) instead`,
      );
    }
    const strict = ranks === undefined || (ranks.length === K && ranks.every((r, i) => r === i + 1));
    const record: RankRecord = {
      prompt_id: item.prompt_id,
      prompt: item.prompt,
      responses: order.map((i) => item.responses[i]),
      labeler: this.#labeler,
      time: new Date().toISOString(),
      checkpoint: this.#checkpoint,
      ...(this.#session ? { session: this.#session } : {}),
      ...(strict ? {} : { ranks: [...ranks] }), // a strict order is written as before, without ranks
    };
    try {
      checkRankRecord(record, "this ranking"); // the ranks' rule is the label file's
    } catch (err) {
      throw new RankingError((err as Error).message);
    }
    // The re-rank path: this labeler's earlier ranking of the item, if any, is replaced.
    const saved = await replaceRanking(this.#path, record);
    this.#done.push({ index: this.#index, saved });
    this.#index = await this.#nextUnranked(this.#index + 1);
  }

  /** Moves on without ranking. */
  skip(): Promise<void> {
    return this.#serialised(() => {
      if (this.#index < this.#items.length) {
        this.#done.push({ index: this.#index });
        this.#index++;
      }
      return Promise.resolve();
    });
  }

  /** Goes to the previous item (ranked or not), without changing the file; ranking it again replaces the earlier ranking. */
  back(): Promise<void> {
    return this.#serialised(() => {
      if (this.#index > 0) this.#index--;
      return Promise.resolve();
    });
  }

  /** Takes back this session's last action and shows its item again; a ranking made by it leaves the file (or gives back the line it replaced). */
  undo(): Promise<void> {
    return this.#serialised(() => this.#undo());
  }

  async #undo(): Promise<void> {
    const last = this.#done.pop();
    if (!last) return;
    if (last.saved) await withdrawRanking(this.#path, last.saved);
    this.#index = last.index;
  }
}

/**
 * A ranking the person can fix (shown on the page with its reason), as opposed to a server fault.
 *
 * @example
 * ```ts
 * import { LabelSession, RankingError } from "rlhf";
 * const item = { prompt_id: "p1", prompt: [{ role: "user" as const, content: "写诗" }], responses: ["春风", "秋雨"] };
 * const session = new LabelSession([item], { labelsPath: `${await Deno.makeTempDir()}/labels.jsonl`, labeler: "ann", checkpoint: "sft" });
 * await session.rank([0, 0]).catch((e) => e instanceof RankingError); // true: 秋雨 is not ranked
 * ```
 */
export class RankingError extends Error {}

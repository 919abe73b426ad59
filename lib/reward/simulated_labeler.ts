/**
 * A simulated labeler, so the pipeline runs unattended: it ranks K responses
 * by the task's gold score with Bradley–Terry (Plackett–Luce) noise. Best is
 * drawn with probability ∝ exp(score / temperature), then the next best from
 * the rest, and so on; temperature → 0 is a perfect labeler, larger values
 * disagree more often on close calls, as people do. Responses with exactly
 * the same gold score that end up next to each other are marked as tied
 * (equally good), as a person may mark them; about a third of the pairs of
 * K = 4 answers of the default task tie.
 */
import { hashText } from "../hash.ts";
import { Rng } from "../rng.ts";

/**
 * The pipeline's labeler noise (REWARD_STAGE_DEFAULTS.labelerTemperature). A labeler at any other noise says
 * so in its name, so rank lists of two noise levels in one label file are never read back as each other's.
 *
 * @example
 * ```ts
 * import { DEFAULT_LABELER_TEMPERATURE, SimulatedLabeler } from "rlhf";
 * new SimulatedLabeler({ temperature: DEFAULT_LABELER_TEMPERATURE, seed: 0 }).name; // "simulated:0"
 * new SimulatedLabeler({ temperature: 0.2, seed: 0 }).name; // "simulated:0:noise0.2"
 * ```
 */
export const DEFAULT_LABELER_TEMPERATURE = 0.02;

export interface SimulatedLabelerOptions {
  /** Noise: 0 ranks exactly by score. @default 0.02 (DEFAULT_LABELER_TEMPERATURE) */
  readonly temperature?: number;
  /** @default 0 */
  readonly seed?: number;
  /** Mark equal scores as ties (else they are ordered at random, which is label noise). @default true */
  readonly ties?: boolean;
  /** The preference it ranks by (the task's), part of its name so that label files never mix two. @default none */
  readonly preference?: string;
}

/**
 * A labeler that ranks by the gold score with Plackett–Luce noise (above), so the pipeline runs unattended.
 *
 * @example
 * ```ts
 * import { SimulatedLabeler } from "rlhf";
 * const labeler = new SimulatedLabeler({ temperature: 0.05, seed: 0 });
 * labeler.rank([0.2, 0.9, 0.5]); // [1, 2, 0]: best first
 * labeler.name; // "simulated:0:noise0.05", recorded in each rank list
 * ```
 */
export class SimulatedLabeler {
  readonly name: string;
  readonly #seed: number;
  readonly #rng: Rng;
  readonly #temperature: number;
  readonly #ties: boolean;

  constructor(options: SimulatedLabelerOptions = {}) {
    const seed = options.seed ?? 0;
    this.#temperature = options.temperature ?? DEFAULT_LABELER_TEMPERATURE;
    if (!(this.#temperature >= 0)) throw new Error(`SimulatedLabeler.temperature: expected ≥ 0, got ${this.#temperature}`);
    this.#seed = seed;
    this.#rng = new Rng(seed);
    this.#ties = options.ties ?? true;
    const noise = this.#temperature === DEFAULT_LABELER_TEMPERATURE ? "" : `:noise${this.#temperature}`;
    this.name = (options.preference ? `simulated:${options.preference}:${seed}` : `simulated:${seed}`) + noise;
  }

  /**
   * Indices of the responses ordered best → worst, given their gold scores.
   * `key` names what is ranked (collectRankings passes the prompt id and the
   * responses): the noise is then drawn from (seed, key) alone, so a list is
   * ranked the same whatever was ranked before it — a run resumed after its
   * training lists were saved labels the held-out lists as an uninterrupted
   * run does. Without a key the draws continue one stream.
   */
  rank(scores: readonly number[], key?: string): number[] {
    const rng = key === undefined ? this.#rng : new Rng(this.#seed ^ hashText(key));
    const left = scores.map((_, i) => i);
    const order: number[] = [];
    while (left.length) {
      let pick: number;
      if (this.#temperature === 0) {
        pick = left.reduce((best, i, k) => (scores[i] > scores[left[best]] ? k : best), 0);
      } else {
        const max = Math.max(...left.map((i) => scores[i]));
        const weights = left.map((i) => Math.exp((scores[i] - max) / this.#temperature));
        const total = weights.reduce((a, b) => a + b, 0);
        let u = rng.nextFloat() * total;
        pick = weights.length - 1;
        for (let k = 0; k < weights.length; k++) {
          u -= weights[k];
          if (u < 0) {
            pick = k;
            break;
          }
        }
      }
      order.push(left[pick]);
      left.splice(pick, 1);
    }
    return order;
  }

  /**
   * The rank of each response of `order` (1 = best): equal scores next to each other share a
   * rank. Undefined when nothing is tied (a strict order) or ties are off.
   */
  tiedRanks(scores: readonly number[], order: readonly number[]): number[] | undefined {
    if (!this.#ties) return undefined;
    const ranks = [1];
    for (let i = 1; i < order.length; i++) ranks.push(ranks[i - 1] + (scores[order[i]] === scores[order[i - 1]] ? 0 : 1));
    return ranks.at(-1) === order.length ? undefined : ranks;
  }
}

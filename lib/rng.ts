/**
 * A small seeded random number generator (mulberry32): the same seed gives
 * the same stream on every machine, and its whole state is one integer, so a
 * resumed run continues the same stream.
 *
 * @example
 * ```ts
 * import { Rng } from "rlhf";
 * const rng = new Rng(42); // the same seed gives the same stream on every machine
 * rng.nextFloat(); // uniform in [0, 1)
 * rng.shuffle(["a", "b", "c"]); // a shuffled copy
 * ```
 */
export class Rng {
  #state: number;

  /** @param seed any integer; different seeds give unrelated streams. */
  constructor(seed: number) {
    // Mix the seed (splitmix-style) so nearby seeds do not start alike.
    let s = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
    this.#state = (s ^ (s >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    if (!(Number.isInteger(n) && n > 0)) throw new Error(`Rng.nextInt: expected a positive integer, got ${n}`);
    return Math.floor(this.nextFloat() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.nextFloat(); // (0, 1]: log(u) is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.nextFloat());
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** The current state, to save with a checkpoint. */
  state(): number {
    return this.#state;
  }

  /** An Rng that continues from a saved state. */
  static fromState(state: number): Rng {
    const rng = new Rng(0);
    rng.#state = state >>> 0;
    return rng;
  }
}

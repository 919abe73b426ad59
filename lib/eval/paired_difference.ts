/**
 * Is model B really better than model A? Both answered the same requests, so
 * compare them request by request: the mean of the differences and its
 * standard error. Pairing cancels how hard each request is (an 8-line poem
 * that must contain a given word scores lower for every model), so the
 * uncertainty is much smaller than that of two separate means.
 */
export interface PairedDifference {
  /** mean(b − a) */
  readonly mean: number;
  /** Standard error of that mean: sd(b − a) / √n. */
  readonly standardError: number;
  readonly n: number;
}

/**
 * The mean of b − a over paired values (the same requests, two models) and its standard error.
 *
 * @example
 * ```ts
 * import { formatDifference, pairedDifference } from "rlhf";
 * const sft = [0.5, 0.25, 0.75, 0.5]; // gold score per request
 * const ppo = [0.75, 0.25, 1, 0.75]; // the same requests
 * const gain = pairedDifference(sft, ppo); // { mean: 0.1875, standardError: 0.0625, n: 4 }
 * formatDifference(gain); // "+0.188 ± 0.063"
 * ```
 */
export function pairedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length || a.length < 2) {
    throw new Error(`pairedDifference: need two equal-length lists of ≥ 2 values (${a.length}, ${b.length})`);
  }
  const n = a.length;
  const d = a.map((x, i) => b[i] - x);
  const mean = d.reduce((s, v) => s + v, 0) / n;
  const variance = d.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, standardError: Math.sqrt(variance / n), n };
}

/**
 * The requests asked `rounds` times: every request once, then every request
 * again, … (request i at i, i + n, …: the layout `meanPerRequest` reads; the
 * first n rows are the distinct requests, as sample tables show them).
 *
 * @example
 * ```ts
 * import { inRounds } from "rlhf";
 * inRounds(["a", "b"], 3); // ["a", "b", "a", "b", "a", "b"]: each request answered 3 times
 * ```
 */
export function inRounds<T>(requests: readonly T[], rounds: number): T[] {
  return Array.from({ length: rounds }, () => requests).flat();
}

/**
 * The mean of each request's answers when the requests were asked `rounds`
 * times in a row (values[i] and values[i + n], … belong to request i). The
 * paired difference is then taken over requests, not over answers: answers to
 * the same request are not independent, and treating them as such would
 * understate the standard error.
 *
 * @example
 * ```ts
 * import { meanPerRequest } from "rlhf";
 * meanPerRequest([1, 2, 3, 4], 2); // [2, 3]: request 0 scored 1 and 3, request 1 scored 2 and 4
 * ```
 */
export function meanPerRequest(values: readonly number[], requests: number): number[] {
  if (requests < 1 || values.length % requests !== 0) {
    throw new Error(`meanPerRequest: ${values.length} values is not a whole number of rounds of ${requests} requests`);
  }
  const rounds = values.length / requests;
  return Array.from({ length: requests }, (_, i) => {
    let sum = 0;
    for (let r = 0; r < rounds; r++) sum += values[r * requests + i];
    return sum / rounds;
  });
}

/**
 * "+0.021 ± 0.006" (± one standard error).
 *
 * @example
 * ```ts
 * import { formatDifference } from "rlhf";
 * formatDifference({ mean: 0.021, standardError: 0.006, n: 200 }); // "+0.021 ± 0.006"
 * ```
 */
export function formatDifference(p: PairedDifference, digits = 3): string {
  return `${p.mean >= 0 ? "+" : ""}${p.mean.toFixed(digits)} ± ${p.standardError.toFixed(digits)}`;
}

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

/** "+0.021 ± 0.006" (± one standard error). */
export function formatDifference(p: PairedDifference, digits = 3): string {
  return `${p.mean >= 0 ? "+" : ""}${p.mean.toFixed(digits)} ± ${p.standardError.toFixed(digits)}`;
}

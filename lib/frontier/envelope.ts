/**
 * Reading a method's frontier: the best gold score it reached at each KL budget, and Gao, Schulman & Hilton's
 * (2022) functional forms of gold against d = √KL:
 *
 *   best-of-n:  R(d) = d (α − β d)          RL:  R(d) = d (α − β log d)
 *
 * where R is the gold gain over the SFT model. Each is linear in (α, β), so least squares fits them exactly.
 */
import type { Estimate } from "./points.ts";

/** A point as the envelope reads it: KL (nats) and gold with its standard error. */
export interface KlGold {
  readonly kl: number;
  readonly gold: number;
  readonly goldSe: number;
}

/**
 * The upper envelope of a method's points: the points no other point beats with less or equal KL (the best
 * gold reached within each KL budget), by increasing KL, starting at `origin` (the SFT model, KL 0) when given.
 *
 * @example
 * ```ts
 * import { upperEnvelope } from "rlhf";
 * const at = (kl: number, gold: number) => ({ kl, gold, goldSe: 0.01 });
 * upperEnvelope([at(2, 0.5), at(1, 0.45), at(3, 0.48)], at(0, 0.4)).map((p) => p.kl); // [0, 1, 2]: 3 buys nothing over 2
 * ```
 */
export function upperEnvelope(points: readonly KlGold[], origin?: KlGold): KlGold[] {
  const sorted = [...(origin ? [origin] : []), ...points].sort((a, b) => a.kl - b.kl || b.gold - a.gold);
  const envelope: KlGold[] = [];
  for (const p of sorted) if (envelope.length === 0 || p.gold > envelope.at(-1)!.gold) envelope.push(p);
  return envelope;
}

/**
 * The envelope's gold at `kl`, linear between its two neighbours, with the larger of their standard errors;
 * undefined beyond its last point (the method did not get that far) or before its first.
 *
 * @example
 * ```ts
 * import { goldAtKl, upperEnvelope } from "rlhf";
 * const env = upperEnvelope([{ kl: 1, gold: 0.5, goldSe: 0.02 }, { kl: 3, gold: 0.7, goldSe: 0.01 }]);
 * goldAtKl(env, 2); // { mean: 0.6, se: 0.02 }, halfway, with the larger SE
 * ```
 */
export function goldAtKl(envelope: readonly KlGold[], kl: number): Estimate | undefined {
  for (let i = 0; i < envelope.length; i++) {
    const b = envelope[i];
    if (b.kl === kl) return { mean: b.gold, se: b.goldSe };
    if (b.kl > kl) {
      if (i === 0) return undefined;
      const a = envelope[i - 1];
      const t = (kl - a.kl) / (b.kl - a.kl);
      return { mean: a.gold + t * (b.gold - a.gold), se: Math.max(a.goldSe, b.goldSe) };
    }
  }
  return undefined;
}

/**
 * The least KL at which the envelope reaches `gold` (linear between points); undefined when it never does.
 *
 * @example
 * ```ts
 * import { klToReach, upperEnvelope } from "rlhf";
 * const env = upperEnvelope([{ kl: 1, gold: 0.5, goldSe: 0.02 }, { kl: 3, gold: 0.7, goldSe: 0.01 }]);
 * klToReach(env, 0.65); // 2.5 nats
 * ```
 */
export function klToReach(envelope: readonly KlGold[], gold: number): number | undefined {
  for (let i = 0; i < envelope.length; i++) {
    const b = envelope[i];
    if (b.gold >= gold) {
      if (i === 0) return b.kl;
      const a = envelope[i - 1];
      return a.kl + ((gold - a.gold) / (b.gold - a.gold)) * (b.kl - a.kl);
    }
  }
  return undefined;
}

/** Gao et al.'s two forms; `gain(d)` is the gold gain over SFT at d = √KL. */
export type GaoForm = "best-of-n" | "rl";

export interface GaoFit {
  readonly form: GaoForm;
  readonly alpha: number;
  readonly beta: number;
  /** Root-mean-square error of the fit over the points, in gold units. */
  readonly rmse: number;
}

/**
 * The form's value at d = √KL for (α, β).
 *
 * @example
 * ```ts
 * import { gaoGain } from "rlhf";
 * gaoGain("best-of-n", 0.3, 0.05, 2); // 2 × (0.3 − 0.05 × 2) = 0.4
 * ```
 */
export function gaoGain(form: GaoForm, alpha: number, beta: number, d: number): number {
  if (d === 0) return 0;
  return form === "best-of-n" ? d * (alpha - beta * d) : d * (alpha - beta * Math.log(d));
}

/**
 * Least-squares (α, β) of `form` through (KL, gain) points: the gain is α·d − β·g(d) with g(d) = d² or
 * d·log d, so the normal equations of two unknowns give them. Undefined with fewer than three points of KL > 0
 * (two would fit exactly, whatever the shape).
 *
 * @example
 * ```ts
 * import { fitGao, gaoGain } from "rlhf";
 * const points = [0.5, 1, 2, 4].map((kl) => ({ kl, gain: gaoGain("rl", 0.2, 0.04, Math.sqrt(kl)) }));
 * fitGao("rl", points); // { form: "rl", alpha: 0.2, beta: 0.04, rmse: ≈0 }
 * ```
 */
export function fitGao(form: GaoForm, points: readonly { kl: number; gain: number }[]): GaoFit | undefined {
  const used = points.filter((p) => p.kl > 0);
  if (used.length < 3) return undefined;
  const rows = used.map((p) => {
    const d = Math.sqrt(p.kl);
    return { x1: d, x2: -(form === "best-of-n" ? d * d : d * Math.log(d)), y: p.gain };
  });
  const s11 = rows.reduce((a, r) => a + r.x1 * r.x1, 0);
  const s12 = rows.reduce((a, r) => a + r.x1 * r.x2, 0);
  const s22 = rows.reduce((a, r) => a + r.x2 * r.x2, 0);
  const s1y = rows.reduce((a, r) => a + r.x1 * r.y, 0);
  const s2y = rows.reduce((a, r) => a + r.x2 * r.y, 0);
  const det = s11 * s22 - s12 * s12;
  if (Math.abs(det) < 1e-12) return undefined;
  const alpha = (s1y * s22 - s2y * s12) / det;
  const beta = (s2y * s11 - s1y * s12) / det;
  const rmse = Math.sqrt(used.reduce((a, p) => a + (p.gain - gaoGain(form, alpha, beta, Math.sqrt(p.kl))) ** 2, 0) / used.length);
  return { form, alpha, beta, rmse };
}

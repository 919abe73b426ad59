/**
 * A one-line progress bar for long loops: percent, tokens/s, ETA and a few
 * live numbers (loss, lr). On a terminal it redraws in place; elsewhere (CI,
 * notebooks, log files) it prints a plain line every few seconds and at the end.
 */
import { platform } from "../platform/platform.ts";

export interface ProgressOptions {
  /** Units of work in the loop (e.g. steps). */
  readonly total: number;
  /** Shown first, e.g. "pretrain". */
  readonly label: string;
  /** Name of the throughput unit. @default "tok" */
  readonly unit?: string;
  /** Where lines go. @default stdout */
  readonly write?: (text: string) => void;
  /** Redraw in place with a carriage return. @default stdout is a terminal */
  readonly inPlace?: boolean;
  /** Seconds between plain lines when not in place. @default 10 */
  readonly plainEverySeconds?: number;
  /** Clock in ms (tests inject one). @default performance.now */
  readonly now?: () => number;
}

/** "1h02m", "3m05s", "42s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** "1.2k", "950", "3.4M", "0.12". */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(2);
}

/**
 * A one-line progress bar: percent, throughput, ETA and live numbers; redrawn in place on a terminal, a plain
 * line every few seconds elsewhere.
 *
 * @example
 * ```ts
 * import { ProgressBar } from "rlhf";
 * const bar = new ProgressBar({ total: 100, label: "train" });
 * for (let step = 1; step <= 100; step++) bar.update(step, { tokens: step * 512, extra: { loss: "2.31" } });
 * bar.finish();
 * ```
 */
export class ProgressBar {
  readonly #o: Required<ProgressOptions>;
  readonly #start: number;
  #lastPlain = -Infinity;
  #lastLine = "";

  constructor(options: ProgressOptions) {
    this.#o = {
      unit: "tok",
      write: (text) => platform().writeStdout(text),
      inPlace: platform().stdoutIsTerminal(),
      plainEverySeconds: 10,
      now: () => performance.now(),
      ...options,
    };
    this.#start = this.#o.now();
  }

  /** Reports `done` units finished, `tokens` processed so far and live numbers. */
  update(done: number, info: { tokens?: number; extra?: Record<string, string | number> } = {}): void {
    const elapsed = (this.#o.now() - this.#start) / 1000;
    const fraction = this.#o.total > 0 ? Math.min(1, done / this.#o.total) : 1;
    const width = 20;
    const filled = Math.round(fraction * width);
    const parts = [
      `${this.#o.label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${
        (fraction * 100).toFixed(0).padStart(3)
      }% ${done}/${this.#o.total}`,
    ];
    if (info.tokens !== undefined && elapsed > 0) parts.push(`${formatRate(info.tokens / elapsed)} ${this.#o.unit}/s`);
    parts.push(`ETA ${done > 0 ? formatDuration((elapsed / done) * (this.#o.total - done)) : "?"}`);
    for (const [k, v] of Object.entries(info.extra ?? {})) parts.push(`${k}=${v}`);
    this.#lastLine = parts.join("  ");
    if (this.#o.inPlace) {
      this.#o.write(`\r${this.#lastLine}\x1b[K`);
    } else if (elapsed - this.#lastPlain >= this.#o.plainEverySeconds || done >= this.#o.total) {
      this.#lastPlain = elapsed;
      this.#o.write(`${this.#lastLine}\n`);
    }
  }

  /** Ends the bar (a newline after in-place drawing, with the total time). */
  finish(): void {
    const elapsed = (this.#o.now() - this.#start) / 1000;
    if (this.#o.inPlace) this.#o.write(`\n`);
    this.#o.write(`${this.#o.label} done in ${formatDuration(elapsed)}\n`);
  }
}

/** The wall time of each stage of a run, in the order the stages ran (the report's "Stage times"), and its throughput. */
import { type Work, type WorkKind, workSince, workSoFar } from "../work.ts";

export interface StageTiming {
  readonly stage: string;
  readonly seconds: number;
  /** Tokens the stage sampled and trained on in this session, and the seconds inside those calls (lib/work.ts). */
  readonly work: Record<WorkKind, Work>;
}

export class StageTimer {
  readonly timings: StageTiming[] = [];

  /** Runs one stage and records how long it took and what it generated and trained. */
  async time<T>(stage: string, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const before = workSoFar();
    const result = await run();
    this.timings.push({ stage, seconds: (performance.now() - start) / 1000, work: workSince(before) });
    return result;
  }

  /** Seconds of a stage that ran, else undefined. */
  seconds(stage: string): number | undefined {
    return this.timings.find((t) => t.stage === stage)?.seconds;
  }
}

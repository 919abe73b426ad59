/** The wall time of each stage of a run, in the order the stages ran (the report's "Stage times"). */

export interface StageTiming {
  readonly stage: string;
  readonly seconds: number;
}

export class StageTimer {
  readonly timings: StageTiming[] = [];

  /** Runs one stage and records how long it took. */
  async time<T>(stage: string, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const result = await run();
    this.timings.push({ stage, seconds: (performance.now() - start) / 1000 });
    return result;
  }

  /** Seconds of a stage that ran, else undefined. */
  seconds(stage: string): number | undefined {
    return this.timings.find((t) => t.stage === stage)?.seconds;
  }
}

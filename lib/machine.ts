/**
 * The machine a measurement ran on, as every figure must name it: the CPU
 * model, its core count, and the vector instruction sets the fast path and
 * the BLAS kernels depend on (AVX2, AVX-512, AMX).
 */
import { platform } from "./platform/platform.ts";

export interface MachineInfo {
  /** e.g. "AMD EPYC" or "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz". */
  readonly cpu: string;
  readonly cores: number;
  /** Of avx2, fma, avx512f, amx_tile: the ones the CPU reports. */
  readonly vectorSets: readonly string[];
}

export function describeMachine(): MachineInfo {
  let cpuinfo = "";
  try {
    cpuinfo = platform().readTextFileSync("/proc/cpuinfo");
  } catch {
    // not Linux: the model name is unknown here
  }
  const flags = new Set((cpuinfo.match(/^flags\s*:(.*)$/m)?.[1] ?? "").trim().split(/\s+/));
  return {
    cpu: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1]?.trim() ?? `${platform().arch} CPU`,
    cores: navigator.hardwareConcurrency,
    vectorSets: ["avx2", "fma", "avx512f", "amx_tile"].filter((f) => flags.has(f)),
  };
}

/** One line: "AMD EPYC, 2 cores, AVX2 + FMA + AVX-512". */
export function machineLine(m: MachineInfo = describeMachine()): string {
  const names: Record<string, string> = { avx2: "AVX2", fma: "FMA", avx512f: "AVX-512", amx_tile: "AMX" };
  const sets = m.vectorSets.map((s) => names[s]).join(" + ");
  return `${m.cpu}, ${m.cores} ${m.cores === 1 ? "core" : "cores"}${sets ? `, ${sets}` : ""}`;
}

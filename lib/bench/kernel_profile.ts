/**
 * Where a training step's or a generation's time goes, kernel by kernel: every tfjs kernel
 * registered for the active backend is wrapped with a timer for the length of
 * one measurement. Meaningful on backends whose kernels run synchronously
 * (wasm, cpu): there a kernel's wall time is its cost. On tfjs-node or a GPU
 * the timer sees only the dispatch.
 *
 *   deno task bench --profile
 */
import { tf } from "../tf.ts";

export interface KernelTime {
  readonly kernel: string;
  readonly calls: number;
  readonly ms: number;
}

/**
 * Runs `measure` with every kernel of the active backend timed and returns the
 * kernels by total time (largest first). The original kernels are back in
 * place afterwards, also when `measure` throws.
 */
export async function profileKernels<T>(measure: () => Promise<T>): Promise<{ result: T; kernels: KernelTime[] }> {
  const backendName = tf.getBackend();
  const originals = tf.getKernelsForBackend(backendName);
  const totals = new Map<string, { calls: number; ms: number }>();
  const swap = (configs: readonly tf.KernelConfig[]) => {
    for (const c of configs) {
      tf.unregisterKernel(c.kernelName, backendName);
      // The backend is set up already: the replacement needs no setupFunc of its own.
      tf.registerKernel({ kernelName: c.kernelName, backendName, kernelFunc: c.kernelFunc, disposeFunc: c.disposeFunc });
    }
  };
  swap(originals.map((c) => ({
    ...c,
    kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => {
      const start = performance.now();
      const out = c.kernelFunc(args);
      const t = totals.get(c.kernelName) ?? { calls: 0, ms: 0 };
      t.calls++;
      t.ms += performance.now() - start;
      totals.set(c.kernelName, t);
      return out;
    },
  })));
  try {
    const result = await measure();
    const kernels = [...totals].map(([kernel, t]) => ({ kernel, ...t })).sort((a, b) => b.ms - a.ms);
    return { result, kernels };
  } finally {
    swap(originals);
  }
}

/**
 * The profile as a table: per step (or per `per`), each kernel's calls and milliseconds and its share of
 * `stepMs`; then all kernels together and the time outside them. `unit` names the rows ("op" for PyTorch).
 */
export function formatKernelProfile(
  kernels: readonly KernelTime[],
  steps: number,
  stepMs: number,
  { top = 20, unit = "kernel", per = "step", outside = "outside kernels (JS, tape)" } = {},
): string {
  const row = (name: string, calls: string, ms: number | string, share: string) =>
    `${name.padEnd(32)} ${calls.padStart(10)} ${String(ms).padStart(8)} ${share.padStart(9)}`;
  const line = (name: string, calls: number | undefined, ms: number) =>
    row(name, calls === undefined ? "" : calls.toFixed(0), ms.toFixed(2), (100 * ms / stepMs).toFixed(1));
  const inKernels = kernels.reduce((s, k) => s + k.ms, 0) / steps;
  return [
    row(unit, `calls/${per}`, `ms/${per}`, `% of ${per}`),
    ...kernels.slice(0, top).map((k) => line(k.kernel, k.calls / steps, k.ms / steps)),
    line(`all ${unit}s`, kernels.reduce((s, k) => s + k.calls, 0) / steps, inKernels),
    line(outside, undefined, stepMs - inKernels),
  ].join("\n");
}

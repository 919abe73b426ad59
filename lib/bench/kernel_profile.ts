/**
 * Where a training step's time goes, kernel by kernel: every tfjs kernel
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

/** The profile as a table: per step, each kernel's calls and milliseconds and its share of the step. */
export function formatKernelProfile(kernels: readonly KernelTime[], steps: number, stepMs: number, top = 20): string {
  const pad = (s: string, n: number) => s.padStart(n);
  const lines = [`${"kernel".padEnd(28)} ${pad("calls/step", 10)} ${pad("ms/step", 8)} ${pad("% of step", 9)}`];
  for (const k of kernels.slice(0, top)) {
    const ms = k.ms / steps;
    lines.push(
      `${k.kernel.padEnd(28)} ${pad((k.calls / steps).toFixed(0), 10)} ${pad(ms.toFixed(2), 8)} ${pad((100 * ms / stepMs).toFixed(1), 9)}`,
    );
  }
  const inKernels = kernels.reduce((s, k) => s + k.ms, 0) / steps;
  const calls = kernels.reduce((s, k) => s + k.calls, 0) / steps;
  lines.push(
    `${"all kernels".padEnd(28)} ${pad(calls.toFixed(0), 10)} ${pad(inKernels.toFixed(2), 8)} ${
      pad((100 * inKernels / stepMs).toFixed(1), 9)
    }`,
  );
  lines.push(
    `${"outside kernels (JS, tape)".padEnd(28)} ${pad("", 10)} ${pad((stepMs - inKernels).toFixed(2), 8)} ${
      pad((100 * (stepMs - inKernels) / stepMs).toFixed(1), 9)
    }`,
  );
  return lines.join("\n");
}

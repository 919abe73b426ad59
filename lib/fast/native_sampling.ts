/**
 * Plain sampling of a batch of logits rows in C (`sample_softmax_rows` in
 * native/kernels.c): the walk of the JavaScript sampler
 * (lib/generate/sampling.ts), without its `Math.exp` per element, which was
 * 600 of 960 ms of a vocab-50257 generation. Not a tfjs kernel: it reads a
 * plain array, which may be a view of the wasm heap.
 */

/** The C function (a symbol of the loaded kernels); it writes a token and a log-probability per row. */
export type SampleSoftmaxRowsSymbol = (
  logits: Float32Array,
  uniforms: Float64Array,
  rows: number,
  vocabSize: number,
  temperature: number,
  tokens: Int32Array,
  logprobs: Float32Array,
) => void;

// Set by loadNativeKernels (native_kernels.ts) when it opens the kernels: this module stays free of FFI, so the
// fast-path table that imports it runs in a browser too.
let loaded: { sample_softmax_rows: SampleSoftmaxRowsSymbol } | undefined;

/** Called by loadNativeKernels with the kernels it opened (undefined when they are unavailable). */
export function setNativeSampler(kernels: { sample_softmax_rows: SampleSoftmaxRowsSymbol } | undefined): void {
  loaded = kernels;
}

/** True when the backend set-up has loaded the C kernels (never builds them: see loadNativeKernels). */
export function nativeSamplingAvailable(): boolean {
  return loaded !== undefined;
}

/**
 * Draws a token from each row of a [n, V] block of logits with softmax(logits / temperature) and the row's
 * uniform number; rows whose uniform is undefined come back undefined. Nothing here calls tfjs.
 */
export function nativeSampleSoftmaxRows(
  logits: Float32Array,
  vocabSize: number,
  uniforms: readonly (number | undefined)[],
  temperature: number,
): ({ token: number; logprob: number } | undefined)[] {
  const native = loaded;
  if (!native) throw new Error("sample_softmax_rows: the native kernels are not loaded");
  const n = uniforms.length;
  const tokens = new Int32Array(n);
  const logprobs = new Float32Array(n);
  // One call for the whole block: a skipped row is sampled with 0 and its draw dropped.
  native.sample_softmax_rows(logits, Float64Array.from(uniforms, (u) => u ?? 0), n, vocabSize, temperature, tokens, logprobs);
  if (tokens.some((t) => t < 0)) throw new Error("sample_softmax_rows: out of memory");
  return uniforms.map((u, i) => (u === undefined ? undefined : { token: tokens[i], logprob: logprobs[i] }));
}

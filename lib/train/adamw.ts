/**
 * AdamW exactly as `torch.optim.AdamW` (tfjs has no AdamW, and its Adam
 * places epsilon differently). For step t (1-based), per weight p:
 *
 *   p ← p · (1 − lr·wd)                      decoupled weight decay (matrices and embeddings only)
 *   m ← β1·m + (1 − β1)·g
 *   v ← β2·v + (1 − β2)·g²
 *   p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
 */
import { tf, variableOf } from "../tf.ts";
import { withFastPath } from "../ops/fast_path.ts";

export interface AdamWOptions {
  /** Adam's decay rates of the first and second moments. @default [0.9, 0.95] */
  readonly betas?: readonly [number, number];
  /** Added to the denominator for stability. @default 1e-8 */
  readonly eps?: number;
  /** Decoupled weight decay. @default 0.1 */
  readonly weightDecay?: number;
  /** Which weights decay. @default rank ≥ 2 (matmul weights and embeddings; not biases or LayerNorm) */
  readonly decays?: (name: string, variable: tf.Variable) => boolean;
  /** Learning-rate multiplier per weight name (e.g. a freshly initialised head). @default 1 for every weight */
  readonly lrScale?: Readonly<Record<string, number>>;
}

/** Saved optimiser state: the step count and every moment tensor (`m.<name>`, `v.<name>`). */
export interface AdamWState {
  readonly step: number;
  readonly tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/**
 * AdamW over a record of named variables, updated in place; `state()` and `loadState()` carry it across a
 * checkpoint, `dispose()` frees its moments.
 *
 * @example
 * ```ts
 * import { AdamW, createGPT2, crossEntropy, logits, resolveGPT2Config, tf } from "rlhf";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const optimizer = new AdamW(model.params, { weightDecay: 0.1 }); // matrices and embeddings decay, biases and LayerNorm not
 * const ids = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
 * const targets = tf.tensor2d([[2, 3, 4]], [1, 3], "int32");
 * const { grads } = tf.variableGrads(() => crossEntropy(logits(model, ids, { training: true }), targets));
 * // tfjs keys gradients by variable; the optimiser by weight name.
 * optimizer.step(Object.fromEntries(Object.entries(model.params).map(([name, v]) => [name, grads[v.name]])), 1e-3);
 * optimizer.stepCount; // 1
 * ```
 */
export class AdamW {
  readonly #params: Record<string, tf.Variable>;
  readonly #m: Record<string, tf.Variable> = {};
  readonly #v: Record<string, tf.Variable> = {};
  readonly #decay: Record<string, boolean> = {};
  readonly #lrScale: Readonly<Record<string, number>>;
  readonly #beta1: number;
  readonly #beta2: number;
  readonly #eps: number;
  readonly #weightDecay: number;
  #step = 0;

  constructor(params: Record<string, tf.Variable>, options: AdamWOptions = {}) {
    this.#params = params;
    [this.#beta1, this.#beta2] = options.betas ?? [0.9, 0.95];
    this.#eps = options.eps ?? 1e-8;
    this.#weightDecay = options.weightDecay ?? 0.1;
    const decays = options.decays ?? ((_: string, v: tf.Variable) => v.rank >= 2);
    this.#lrScale = options.lrScale ?? {};
    for (const name of Object.keys(this.#lrScale)) {
      if (!(name in params)) throw new Error(`AdamW.lrScale: no weight named "${name}"`);
    }
    for (const [name, p] of Object.entries(params)) {
      this.#m[name] = variableOf(() => tf.zerosLike(p), false);
      this.#v[name] = variableOf(() => tf.zerosLike(p), false);
      this.#decay[name] = decays(name, p);
    }
  }

  /** Number of steps taken so far. */
  get stepCount(): number {
    return this.#step;
  }

  /** Applies one update with learning rate `lr`; `grads` is keyed like the params. */
  step(grads: Record<string, tf.Tensor>, baseLr: number): void {
    this.#step += 1;
    const t = this.#step;
    const names = Object.keys(this.#params);
    const weights = names.map((name) => {
      const lr = baseLr * (this.#lrScale[name] ?? 1);
      const grad = grads[name];
      if (!grad) throw new Error(`AdamW.step: no gradient for "${name}"`);
      return {
        param: this.#params[name],
        grad,
        m: this.#m[name],
        v: this.#v[name],
        decay: this.#decay[name] ? 1 - lr * this.#weightDecay : 1, // multiplier of p before the update
        stepSize: lr / (1 - this.#beta1 ** t),
      };
    });
    tf.tidy(() => {
      const shared = { beta1: this.#beta1, beta2: this.#beta2, eps: this.#eps, sqrtBias2: Math.sqrt(1 - this.#beta2 ** t) };
      adamWUpdates(weights, shared).forEach(([p, m, v], i) => {
        this.#params[names[i]].assign(p);
        // The native kernel writes the moments into these variables themselves (they are this optimiser's alone).
        if (m !== this.#m[names[i]]) this.#m[names[i]].assign(m);
        if (v !== this.#v[names[i]]) this.#v[names[i]].assign(v);
      });
    });
  }

  /** Copies the state out (for a checkpoint). */
  async state(): Promise<AdamWState> {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const name of Object.keys(this.#params)) {
      tensors.set(`m.${name}`, { shape: this.#m[name].shape, data: (await this.#m[name].data()) as Float32Array });
      tensors.set(`v.${name}`, { shape: this.#v[name].shape, data: (await this.#v[name].data()) as Float32Array });
    }
    return { step: this.#step, tensors };
  }

  /** Restores a state saved by `state()`; errors name a missing or misshapen moment. */
  loadState(state: AdamWState): void {
    for (const name of Object.keys(this.#params)) {
      for (const [prefix, target] of [["m", this.#m[name]], ["v", this.#v[name]]] as const) {
        const saved = state.tensors.get(`${prefix}.${name}`);
        if (!saved || saved.shape.join() !== target.shape.join()) {
          throw new Error(
            `AdamW.loadState: "${prefix}.${name}" expected shape [${target.shape}], found ${saved ? `[${saved.shape}]` : "nothing"}`,
          );
        }
        tf.tidy(() => target.assign(tf.tensor(saved.data, saved.shape, "float32")));
      }
    }
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`AdamW.loadState: bad step ${state.step}`);
    this.#step = state.step;
  }

  /** Frees the moment tensors (not the params). */
  dispose(): void {
    for (const name of Object.keys(this.#params)) {
      this.#m[name].dispose();
      this.#v[name].dispose();
    }
  }
}

/**
 * One AdamW step of each weight (decoupled weight decay, as torch.optim.AdamW):
 *   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²,   p ← decay·p − stepSize · m / (√v / √(1 − β2ᵗ) + ε)
 * with the weight's own decay = 1 − lr·weight_decay and stepSize = lr / (1 − β1ᵗ).
 */
export const adamWUpdates = withFastPath(
  "adamWUpdates",
  (weights, s) =>
    weights.map(({ param: p, grad: g, m: m0, v: v0, decay, stepSize }) => {
      const m = tf.add(tf.mul(m0, s.beta1), tf.mul(g, 1 - s.beta1));
      const v = tf.add(tf.mul(v0, s.beta2), tf.mul(tf.square(g), 1 - s.beta2));
      const decayed = decay !== 1 ? tf.mul(p, decay) : p;
      const denom = tf.add(tf.div(tf.sqrt(v), s.sqrtBias2), s.eps);
      return [tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)), m, v];
    }),
);

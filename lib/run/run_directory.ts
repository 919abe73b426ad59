/**
 * One way to keep a training stage on disk, for every stage that trains (pretraining, SFT, the reward
 * model, PPO, DPO, RLOO, GRPO): a run directory. It holds the model's weights in the HF layout (so it loads
 * anywhere a GPT-2 does), the files the stage adds (tokenizer, optimiser moments, a value or reward head)
 * and `run.json`:
 *
 *   { "stage": "ppo", "identity": {…}, "progress": {…}, "finished": false, "training_seconds": 812.4 }
 *
 * - identity: what the run started from (fingerprints of models and data) and every setting that changes
 *   its result; settings that only say how often to evaluate or save are left out;
 * - progress: the loop's own state, whatever the stage needs to go on (step, history, RNG, β …);
 * - finished: whether the stage ended;
 * - training_seconds: the wall time every session spent training this run up to its last save, so a resumed
 *   or reused run still says what it cost (a report that timed only the last session would say seconds).
 *
 * One rule for every stage: the same identity resumes an unfinished run or reuses a finished one; another
 * identity is refused in one line that names the fields that differ and how to start afresh, so two runs
 * are never mixed and a finished run is never silently trained again. Every save is one atomic directory
 * swap. While a stage runs, it holds its directory's lock: a second process training the same directory
 * (another terminal, a notebook) is refused instead of overwriting it half-way.
 */
import { tf } from "../tf.ts";
import { loadGPT2Weights, recoverInterruptedSwap, saveGPT2Weights } from "../checkpoint/pretrained.ts";
import { saveTokenizerFiles } from "../tokenizer/io.ts";
import type { Tokenizer } from "../tokenizer/types.ts";
import { parseSafetensors, serializeSafetensors } from "../checkpoint/safetensors.ts";
import { disposeGPT2 } from "../gpt2/init.ts";
import type { GPT2Model, GPT2Params } from "../gpt2/model_types.ts";
import { type HeldLock, lockOrRefuse } from "../file_lock.ts";
import { parseJsonText, pathExists } from "../fs.ts";
import { platform } from "../platform/platform.ts";

export const RUN_FILE = "run.json";
const OPTIMIZER_FILE = "optimizer.safetensors";
/** The state files of the formats before run.json: a directory holding one is refused, never overwritten. */
const OLDER_STATE_FILES = ["train_state.json", "ppo_state.json", "dpo_run.json", "group_run.json", "reward_history.json"];

/** An optimiser as a run directory saves it: its step and its named moment tensors (AdamW is one). */
export interface SavableOptimizer {
  state(): Promise<{ step: number; tensors: Map<string, { shape: number[]; data: Float32Array }> }>;
  loadState(state: { step: number; tensors: Map<string, { shape: number[]; data: Float32Array }> }): void;
}

/** What a run started from and the settings that change its result: a JSON object (nested objects allowed). */
export type RunIdentity = Readonly<Record<string, unknown>>;

/** A run as saved: its identity, the loop's state and whether the stage ended. */
export interface SavedRun<P> {
  readonly identity: RunIdentity;
  readonly progress: P;
  readonly finished: boolean;
  /** Wall time spent training this run, over every session, up to the save (0 in a run.json without it). */
  readonly trainingSeconds: number;
}

/** What `save` writes beside run.json. */
export interface RunFiles {
  readonly model: GPT2Model;
  /** Its moments and step, for a run that resumes. */
  readonly optimizer?: SavableOptimizer;
  /** Its files (vocab.txt …) go beside the weights, and its end-of-text id into config.json, as savePretrained writes them. */
  readonly tokenizer?: Tokenizer;
  /** More files by plain name (a value or reward head, …). */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
}

/** How a person starts afresh, said when a run is refused. */
const AFRESH = "start afresh (deno task rlhf --fresh, or delete the directory) or give this run another checkpoint directory";

/**
 * A stage's run directory. `open()` before training (it takes the directory's lock and returns the saved
 * run of the same identity, if any), `save()` as often as the stage checkpoints, `close()` at the end.
 *
 * @example
 * ```ts
 * import { RunDirectory } from "./run_directory.ts";
 * import { resolveGPT2Config } from "../gpt2/config.ts";
 * import { createGPT2 } from "../gpt2/init.ts";
 * const model = createGPT2(resolveGPT2Config({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const run = new RunDirectory(`${await Deno.makeTempDir()}/dpo`, "dpo", { started_from: "sft@3f2a…", beta: 0.1 });
 * const saved = await run.open<{ history: number[] }>();
 * try {
 *   if (saved?.finished) await run.restore(model.params); // reuse
 *   // … else train, then:
 *   await run.save({ model }, { history: [] }, { finished: true });
 * } finally {
 *   run.close();
 * }
 * ```
 */
export class RunDirectory {
  #lock: HeldLock | undefined;
  /** Training seconds of the sessions before this one (from run.json), and when this session opened the run. */
  #secondsBefore = 0;
  #openedAt = performance.now();
  #savedSeconds = 0;
  #reused = false;

  constructor(readonly dir: string, readonly stage: string, readonly identity: RunIdentity) {}

  /**
   * Takes the directory's lock and reads the run saved there: undefined when there is none. A run of
   * another identity, or a checkpoint of an older format, is refused (the lock is released again).
   */
  async open<P>(): Promise<SavedRun<P> | undefined> {
    this.#lock ??= await lockOrRefuse(
      this.dir,
      (pid) => `${this.dir}: another process${pid ? ` (${pid})` : ""} is training this ${this.stage} run; wait for it to end`,
    );
    try {
      const saved = await this.#read<P>();
      this.#secondsBefore = this.#savedSeconds = saved?.trainingSeconds ?? 0;
      this.#reused = saved?.finished ?? false;
      this.#openedAt = performance.now();
      return saved;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  async #read<P>(): Promise<SavedRun<P> | undefined> {
    await recoverInterruptedSwap(this.dir); // a crash between the two renames of a swap left the checkpoint aside
    const path = `${this.dir}/${RUN_FILE}`;
    let text: string;
    try {
      text = await platform().readTextFile(path);
    } catch (err) {
      if (!platform().isNotFound(err)) throw new Error(`${path}: cannot read (${(err as Error).message})`);
      for (const file of OLDER_STATE_FILES) {
        if (await pathExists(`${this.dir}/${file}`)) {
          throw new Error(`${this.dir}: a checkpoint of an older format (${file}, no ${RUN_FILE}); ${AFRESH}`);
        }
      }
      return undefined;
    }
    const saved = parseJsonText(text, path) as Partial<SavedRun<P>> & { stage?: unknown };
    if (typeof saved !== "object" || saved === null || typeof saved.identity !== "object" || typeof saved.finished !== "boolean") {
      throw new Error(`${path}: expected {"stage", "identity", "progress", "finished"}`);
    }
    const differs = identityDifferences(saved.identity ?? {}, this.identity);
    if (saved.stage !== this.stage || differs.length) {
      const what = saved.stage !== this.stage ? [`stage: ${JSON.stringify(saved.stage)} → "${this.stage}"`, ...differs] : differs;
      throw new Error(`${this.dir}: this ${this.stage} run was made from other inputs or settings (${what.join("; ")}); ${AFRESH}`);
    }
    const seconds = (saved as { training_seconds?: unknown }).training_seconds;
    const trainingSeconds = typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0 ? seconds : 0;
    return { identity: saved.identity!, progress: saved.progress as P, finished: saved.finished, trainingSeconds };
  }

  /** Puts the saved weights into `params` (every name, same shapes) and, when given, the optimiser's state. */
  async restore(params: GPT2Params, optimizer?: SavableOptimizer): Promise<void> {
    const saved = await loadGPT2Weights(this.dir);
    try {
      for (const [name, variable] of Object.entries(params)) {
        const source = saved.params[name];
        if (!source || source.shape.join() !== variable.shape.join()) {
          throw new Error(
            `${this.dir}: weight "${name}" does not match the model being trained (shape ${
              source?.shape ?? "missing"
            } vs ${variable.shape})`,
          );
        }
        variable.assign(source);
      }
    } finally {
      disposeGPT2(saved);
    }
    if (!optimizer) return;
    const file = this.file(OPTIMIZER_FILE);
    const stored = parseSafetensors(await platform().readFile(file), file);
    const tensors = new Map([...stored.tensors].map(([name, t]) => [name, { shape: t.shape, data: t.data as Float32Array }]));
    optimizer.loadState({ step: Number(stored.metadata.adamw_step), tensors });
  }

  /** Reads tensors saved with `tensorFile` into `targets` (by name), checking every shape. */
  async restoreTensors(name: string, targets: Readonly<Record<string, tf.Variable>>): Promise<void> {
    const file = this.file(name);
    const stored = parseSafetensors(await platform().readFile(file), file);
    for (const [tensorName, target] of Object.entries(targets)) {
      const t = stored.tensors.get(tensorName);
      if (!t || t.shape.join() !== target.shape.join()) {
        throw new Error(`${file}: tensor "${tensorName}": expected shape [${target.shape}], found ${t ? `[${t.shape}]` : "nothing"}`);
      }
      tf.tidy(() => target.assign(tf.tensor(t.data as Float32Array, t.shape, "float32")));
    }
  }

  /** Writes the model, the optimiser, the other files and run.json in one atomic directory swap. */
  async save<P>(files: RunFiles, progress: P, options: { finished: boolean }): Promise<void> {
    const trainingSeconds = this.#secondsBefore + (performance.now() - this.#openedAt) / 1000;
    const record = { stage: this.stage, identity: this.identity, progress, finished: options.finished, training_seconds: trainingSeconds };
    const tokenizer = files.tokenizer;
    await saveGPT2Weights(files.model, this.dir, {
      bosTokenId: tokenizer?.eosId,
      eosTokenId: tokenizer?.eosId,
      extraFiles: {
        ...(tokenizer ? saveTokenizerFiles(tokenizer) : {}),
        ...files.files,
        ...(files.optimizer ? { [OPTIMIZER_FILE]: await optimizerFile(files.optimizer) } : {}),
        [RUN_FILE]: JSON.stringify(record, null, 1) + "\n",
      },
    });
    this.#savedSeconds = trainingSeconds;
  }

  /** Wall time spent training this run over every session, up to its last save (or as read by `open`). */
  get trainingSeconds(): number {
    return this.#savedSeconds;
  }

  /** Whether `open` found the run finished: this session loaded it and trained nothing. */
  get reused(): boolean {
    return this.#reused;
  }

  /** A file of the directory. */
  file(name: string): string {
    return `${this.dir}/${name}`;
  }

  /** Lets another process train this directory. */
  close(): void {
    this.#lock?.release();
    this.#lock = undefined;
  }
}

/** Tensors as a safetensors file (F32), e.g. a value head: what `restoreTensors` reads back. */
export async function tensorFile(tensors: Readonly<Record<string, tf.Tensor>>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const stored = new Map<string, { dtype: "F32"; shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(tensors)) {
    stored.set(name, { dtype: "F32", shape: t.shape, data: (await t.data()) as Float32Array });
  }
  return serializeSafetensors(stored, metadata);
}

async function optimizerFile(optimizer: SavableOptimizer): Promise<Uint8Array> {
  const state = await optimizer.state();
  const stored = new Map([...state.tensors].map(([name, t]) => [name, { dtype: "F32" as const, shape: t.shape, data: t.data }]));
  return serializeSafetensors(stored, { adamw_step: String(state.step) });
}

/** The fields (dotted paths into nested objects) whose values differ, as "field: was → now". */
export function identityDifferences(was: RunIdentity, now: RunIdentity): string[] {
  const a = flattenSettings(was);
  const b = flattenSettings(now);
  return [...new Set([...a.keys(), ...b.keys()])]
    .filter((k) => a.get(k) !== b.get(k))
    .map((k) => `${k}: ${a.get(k) ?? "(none)"} → ${b.get(k) ?? "(none)"}`);
}

/** Settings as dotted paths (nested objects opened) to their values as JSON; undefined values left out. */
export function flattenSettings(value: unknown, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenSettings(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

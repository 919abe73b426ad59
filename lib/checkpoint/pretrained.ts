/**
 * GPT-2 weights in a Hugging Face directory: config.json + model.safetensors.
 *
 * Loading accepts what real files contain: names with or without the
 * `transformer.` prefix, the `attn.bias` / `attn.masked_bias` causal-mask
 * buffers of older files (ignored), a tied `lm_head.weight` (ignored), and
 * sharded checkpoints (model.safetensors.index.json). Saving writes what
 * current HF `save_pretrained` writes for GPT2LMHeadModel, as one atomic
 * directory swap.
 */
import { basename, dirname, join } from "../platform/path.ts";
import { tf, variableOf } from "../tf.ts";
import { gpt2ParamShapes } from "../gpt2/config.ts";
import type { GPT2Model, GPT2Params } from "../gpt2/model_types.ts";
import { gpt2ConfigFromHF, gpt2ConfigToHF } from "./hf_config.ts";
import {
  isFloatDtype,
  readSafetensorsHeader,
  readSafetensorsTensors,
  type SafetensorsHeader,
  serializeSafetensors,
  type StoredDtype,
  type StoredTensor,
  type TensorData,
} from "./safetensors.ts";
import { openTorchStateDict } from "./torch_pickle.ts";
import { writeFileAtomic, writerAlive, writeSynced } from "./atomic.ts";
import { pathExists, readJsonFile } from "../fs.ts";
import { platform } from "../platform/platform.ts";
import { tempTag } from "../platform/temp_tag.ts";

const CONFIG = "config.json";
const WEIGHTS = "model.safetensors";
const INDEX = "model.safetensors.index.json";
/** PyTorch's own format (the book's uer/gpt2-chinese-cluecorpussmall ships only this). */
const TORCH_WEIGHTS = "pytorch_model.bin";
const PREFIX = "transformer.";
/** Causal-mask buffers that older PyTorch versions saved with the weights; not parameters. */
const MASK_BUFFER = /^h\.\d+\.attn\.(bias|masked_bias)$/;

/** A stored tensor's dtype and shape as its file declares them (a safetensors header, a pickle), and that file. */
interface Declared {
  readonly dtype: StoredDtype;
  readonly shape: readonly number[];
  readonly file: string;
}

/** A checkpoint's weights file(s): every tensor declared first, the data read only when asked for. */
interface WeightsFiles {
  /** By stored name. */
  readonly declared: Map<string, Declared>;
  /** The file(s), for errors about a tensor that is in none of them. */
  readonly describe: string;
  /** The named tensors' data (stored names); only called once their declarations passed every check. */
  read(names: readonly string[]): Promise<Map<string, StoredTensor>>;
}

/**
 * Loads config.json and the weights of a GPT-2 directory into new trainable
 * variables. Every error names the file and the tensor. The config's sizes,
 * then every declared shape, are checked against `gpt2ParamShapes(config)`
 * before any weight is read, so a damaged or hostile file is refused before
 * it costs memory; a NaN or infinite weight is refused too.
 *
 * @example
 * ```ts
 * import { loadGPT2Weights } from "./pretrained.ts";
 * import { disposeGPT2 } from "../gpt2/init.ts";
 * const model = await loadGPT2Weights("models/gpt2-poetry-zh");
 * // … use it, then free it:
 * disposeGPT2(model);
 * ```
 */
export async function loadGPT2Weights(dir: string): Promise<GPT2Model> {
  await recoverInterruptedSwap(dir);
  const configPath = join(dir, CONFIG);
  const config = gpt2ConfigFromHF(await readJsonFile(configPath), configPath);
  const expected = gpt2ParamShapes(config);
  const weights = await openWeights(dir, expected);
  const chosen = chooseTensors(weights, expected, config.n_layer);
  const stored = await weights.read([...chosen.values()]);
  const values = new Map<string, TensorData>();
  for (const [name, shape] of expected) {
    const storedName = chosen.get(name)!;
    values.set(name, stored.get(storedName)!.data);
    checkFinite(values.get(name)!, weights.declared.get(storedName)!.file, name, shape);
  }
  // All checks passed, so creating the variables cannot fail half-way and leak.
  // No variable names: tfjs names are global and a duplicate throws, so two loads of
  // one checkpoint would collide; unnamed variables get a fresh numeric id each.
  const params: GPT2Params = {};
  for (const [name, shape] of expected) {
    params[name] = variableOf(() => tf.tensor(values.get(name)!, shape, "float32"));
  }
  return { config, params };
}

/**
 * Which stored tensor holds each parameter (parameter name → stored name), checked from the declarations alone:
 * every parameter present once with its shape and a float dtype, nothing unexpected. Mask buffers and the tied
 * lm_head are skipped (never read).
 */
function chooseTensors(weights: WeightsFiles, expected: Map<string, number[]>, nLayer: number): Map<string, string> {
  const wteShape = expected.get("wte.weight")!;
  const chosen = new Map<string, string>();
  for (const [rawName, entry] of weights.declared) {
    const name = rawName.startsWith(PREFIX) ? rawName.slice(PREFIX.length) : rawName;
    if (MASK_BUFFER.test(name)) continue;
    if (name === "lm_head.weight") {
      // Tied to wte.weight: HF ties it again on load, so the stored copy is redundant.
      if (!sameShape(entry.shape, wteShape)) {
        throw new Error(
          `${entry.file}: tensor "${rawName}": expected shape [${wteShape.join(", ")}] (tied to wte.weight), found [${
            entry.shape.join(", ")
          }]`,
        );
      }
      continue;
    }
    if (!expected.has(name)) throw new Error(`${entry.file}: unexpected tensor "${rawName}" for a GPT-2 with n_layer = ${nLayer}`);
    if (chosen.has(name)) throw new Error(`${entry.file}: tensor "${name}" appears twice (with and without the ${PREFIX} prefix)`);
    chosen.set(name, rawName);
  }
  for (const [name, shape] of expected) {
    const entry = weights.declared.get(chosen.get(name) ?? "");
    if (!entry) throw new Error(`${weights.describe}: missing tensor "${name}" (expected shape [${shape.join(", ")}])`);
    if (!sameShape(entry.shape, shape)) {
      throw new Error(`${entry.file}: tensor "${name}": expected shape [${shape.join(", ")}], found [${entry.shape.join(", ")}]`);
    }
    if (!isFloatDtype(entry.dtype)) throw new Error(`${entry.file}: tensor "${name}": expected a float dtype, found ${entry.dtype}`);
  }
  return chosen;
}

/** model.safetensors, or every shard listed by model.safetensors.index.json, or pytorch_model.bin. */
async function openWeights(dir: string, expected: Map<string, number[]>): Promise<WeightsFiles> {
  const weightsPath = join(dir, WEIGHTS);
  const indexPath = join(dir, INDEX);
  if (await pathExists(weightsPath)) return await safetensorsWeights([weightsPath], weightsPath);
  if (await pathExists(indexPath)) return await shardedWeights(dir, indexPath);
  const binPath = join(dir, TORCH_WEIGHTS);
  if (await pathExists(binPath)) return torchWeights(binPath, expected);
  throw new Error(`${dir}: no ${WEIGHTS} (nor ${INDEX}, nor ${TORCH_WEIGHTS})`);
}

/**
 * pytorch_model.bin through the restricted unpickler, which never runs code from the file. Shapes come from the
 * pickle; read() inflates only the storages of the tensors asked for, together at most 8 bytes (float64, the
 * widest dtype) for each weight the config declares, so a storage far larger than the model is refused first.
 */
async function torchWeights(path: string, expected: Map<string, number[]>): Promise<WeightsFiles> {
  const dict = openTorchStateDict(await platform().readFile(path), path);
  const declared = new Map([...dict.declared].map(([name, t]) => [name, { ...t, file: path }]));
  const elements = [...expected.values()].reduce((n, shape) => n + shape.reduce((a, b) => a * b, 1), 0);
  const limit = { bytes: 8 * elements, why: `8 bytes for each of the ${elements} weights config.json declares` };
  return { declared, describe: path, read: (names) => Promise.resolve(dict.read(names, limit)) };
}

/** Safetensors files read header first: the data of a tensor is read only when asked for. */
async function safetensorsWeights(files: readonly string[], describe: string): Promise<WeightsFiles> {
  const headers = new Map<string, SafetensorsHeader>();
  const declared = new Map<string, Declared>();
  for (const file of files) {
    const header = await readSafetensorsHeader(file);
    for (const [name, { dtype, shape }] of header.tensors) {
      const other = declared.get(name);
      if (other) throw new Error(`${file}: tensor "${name}" is also in ${other.file}`);
      declared.set(name, { dtype, shape, file });
    }
    headers.set(file, header);
  }
  const read = async (names: readonly string[]) => {
    const out = new Map<string, StoredTensor>();
    for (const [file, header] of headers) {
      const here = names.filter((n) => declared.get(n)?.file === file);
      for (const [name, tensor] of await readSafetensorsTensors(header, here)) out.set(name, tensor);
    }
    return out;
  };
  return { declared, describe, read };
}

/** The shards listed by model.safetensors.index.json, each checked to hold what the index says. */
async function shardedWeights(dir: string, indexPath: string): Promise<WeightsFiles> {
  const index = await readJsonFile(indexPath);
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new Error(`${indexPath}: expected an object "weight_map"`);
  }
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== "string" || shard !== basename(shard) || shard === "." || shard === "..") {
      throw new Error(`${indexPath}: weight_map["${name}"] must be a file name in the same directory, got ${JSON.stringify(shard)}`);
    }
  }
  const shards = [...new Set(Object.values(weightMap as Record<string, string>))].sort();
  const weights = await safetensorsWeights(shards.map((shard) => join(dir, shard)), `${indexPath} (shards ${shards.join(", ")})`);
  for (const [name, shard] of Object.entries(weightMap as Record<string, string>)) {
    if (weights.declared.get(name)?.file !== join(dir, shard)) {
      throw new Error(`${indexPath}: tensor "${name}" is listed in ${shard}, but that file does not hold it`);
    }
  }
  return weights;
}

/** Options of `saveGPT2Weights`. */
export interface SaveOptions {
  /** `bos_token_id` written to config.json. @default undefined (omitted) */
  readonly bosTokenId?: number;
  /** `eos_token_id` written to config.json. @default undefined (omitted) */
  readonly eosTokenId?: number;
  /** More `__metadata__` strings for model.safetensors, beside `format: "pt"`. @default {} */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Fields written over the GPT-2 fields of config.json, e.g. another `architectures` and `num_labels` for a
   * model with a classification head, or `pad_token_id`. @default {}
   */
  readonly config?: Readonly<Record<string, unknown>>;
  /**
   * More float32 tensors for model.safetensors, by their full stored name (a head such as `score.weight`);
   * a name of the GPT-2 body (`transformer.…`) is refused. @default {}
   */
  readonly extraTensors?: Readonly<Record<string, { readonly shape: readonly number[]; readonly data: Float32Array }>>;
  /**
   * More files for the same directory (tokenizer, optimiser state…), by plain
   * file name, written in the same atomic swap. They may not replace
   * config.json or model.safetensors. @default {}
   */
  readonly extraFiles?: Readonly<Record<string, string | Uint8Array>>;
}

/**
 * Writes config.json + model.safetensors (+ `extraFiles`) as directory `dir`.
 *
 * The directory is replaced whole: the new contents are built in a temporary
 * directory beside `dir` and swapped in with renames, so a crash or an error
 * at any point leaves either the complete old checkpoint or the complete new
 * one. Files of the old directory are NOT kept; pass everything the
 * checkpoint needs (tokenizer files…) in `extraFiles`.
 *
 * Weights are written as HF `save_pretrained` writes GPT2LMHeadModel: F32,
 * `transformer.`-prefixed names, the tied `lm_head.weight` omitted, metadata
 * `{"format": "pt"}`.
 *
 * @example
 * ```ts
 * import { saveGPT2Weights } from "./pretrained.ts";
 * import { resolveGPT2Config } from "../gpt2/config.ts";
 * import { createGPT2 } from "../gpt2/init.ts";
 * import { buildCharVocab } from "../tokenizer/char_vocab.ts";
 * import { saveTokenizerFiles } from "../tokenizer/io.ts";
 * const tokenizer = buildCharVocab(["床前明月光"]);
 * const model = createGPT2(resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 }));
 * const dir = `${await Deno.makeTempDir()}/sft`;
 * await saveGPT2Weights(model, dir, { eosTokenId: tokenizer.eosId, extraFiles: saveTokenizerFiles(tokenizer) });
 * ```
 */
export async function saveGPT2Weights(model: GPT2Model, dir: string, options: SaveOptions = {}): Promise<void> {
  for (const name of Object.keys(options.extraFiles ?? {})) {
    if (name === CONFIG || name === WEIGHTS) throw new Error(`saveGPT2Weights: extraFiles may not replace ${name}`);
  }
  const weights = await serializeGPT2Weights(model, options.metadata, options.extraTensors);
  const configText = JSON.stringify({ ...gpt2ConfigToHF(model.config, options), ...options.config }, null, 2) + "\n";
  await writeDirectoryAtomic(dir, { [CONFIG]: configText, [WEIGHTS]: weights, ...options.extraFiles });
}

/** model.safetensors' bytes as HF writes them: F32, `transformer.`-prefixed names, no tied lm_head, metadata `{"format": "pt"}`. */
async function serializeGPT2Weights(
  model: GPT2Model,
  metadata: Readonly<Record<string, string>> = {},
  extraTensors: SaveOptions["extraTensors"] = {},
): Promise<Uint8Array> {
  const expected = gpt2ParamShapes(model.config);
  for (const name of Object.keys(model.params)) {
    if (!expected.has(name)) {
      throw new Error(`saveGPT2Weights: unexpected parameter "${name}" for a GPT-2 with n_layer = ${model.config.n_layer}`);
    }
  }
  const tensors = new Map<string, { dtype: "F32"; shape: number[]; data: Float32Array }>();
  for (const [name, shape] of expected) {
    const v = model.params[name];
    if (!v) throw new Error(`saveGPT2Weights: missing parameter "${name}" (expected shape [${shape.join(", ")}])`);
    if (!sameShape(v.shape, shape)) {
      throw new Error(`saveGPT2Weights: parameter "${name}": expected shape [${shape.join(", ")}], found [${v.shape.join(", ")}]`);
    }
    if (v.dtype !== "float32") throw new Error(`saveGPT2Weights: parameter "${name}": expected float32, found ${v.dtype}`);
    tensors.set(PREFIX + name, { dtype: "F32", shape, data: (await v.data()) as Float32Array });
  }
  for (const [name, t] of Object.entries(extraTensors)) {
    if (name.startsWith(PREFIX) || tensors.has(name)) {
      throw new Error(`saveGPT2Weights: extra tensor "${name}" would replace a GPT-2 weight`);
    }
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== size) {
      throw new Error(
        `saveGPT2Weights: extra tensor "${name}": shape [${t.shape.join(", ")}] needs ${size} values, found ${t.data.length}`,
      );
    }
    tensors.set(name, { dtype: "F32", shape: [...t.shape], data: t.data });
  }
  return serializeSafetensors(tensors, { ...metadata, format: "pt" });
}

/**
 * Writes model.safetensors beside a directory's pytorch_model.bin (read once
 * through the restricted unpickler), leaving every other file as it is: later
 * loads are fast and need no unpickler. Returns the path written.
 */
export async function convertTorchWeights(dir: string): Promise<string> {
  const out = join(dir, WEIGHTS);
  if (await pathExists(out)) throw new Error(`${out} exists already: nothing to convert`);
  if (!(await pathExists(join(dir, TORCH_WEIGHTS)))) throw new Error(`${join(dir, TORCH_WEIGHTS)}: file not found`);
  const model = await loadGPT2Weights(dir);
  try {
    await writeFileAtomic(out, await serializeGPT2Weights(model));
  } finally {
    for (const v of Object.values(model.params)) v.dispose();
  }
  return out;
}

/**
 * Replaces directory `dir` by one holding exactly `files` (plain file names),
 * atomically: build `.<name>.new-<pid>-<tag>` beside it, rename the old one to
 * `.<name>.old-<pid>-<tag>`, rename the new one into place, remove the old.
 * A crash between the two renames is repaired by the next load or swap; the
 * leftovers of writers that died are removed here, those of live ones kept.
 */
export async function writeDirectoryAtomic(dir: string, files: Readonly<Record<string, string | Uint8Array>>): Promise<void> {
  for (const name of Object.keys(files)) {
    if (!name || name !== basename(name) || name === "." || name === "..") {
      throw new Error(`writeDirectoryAtomic(${dir}): "${name}" is not a plain file name`);
    }
  }
  await recoverInterruptedSwap(dir);
  await removeDeadSwapLeftovers(dir);
  const parent = dirname(dir);
  await platform().mkdir(parent, { recursive: true });
  const tag = `${platform().pid}-${tempTag()}`;
  const fresh = join(parent, `.${basename(dir)}.new-${tag}`);
  const old = join(parent, `.${basename(dir)}.old-${tag}`);
  await platform().mkdir(fresh);
  let hadOld = false;
  try {
    for (const [name, content] of Object.entries(files)) {
      await writeSynced(join(fresh, name), typeof content === "string" ? new TextEncoder().encode(content) : content);
    }
    hadOld = await pathExists(dir);
    if (hadOld) await platform().rename(dir, old);
    try {
      await platform().rename(fresh, dir);
    } catch (err) {
      if (hadOld) await platform().rename(old, dir).catch(() => {}); // put the old checkpoint back
      throw err;
    }
  } catch (err) {
    await platform().remove(fresh, { recursive: true }).catch(() => {});
    throw new Error(`${dir}: could not write the checkpoint (${(err as Error).message})`, { cause: err });
  }
  await syncDirectory(parent);
  // The new checkpoint is in place; failing to delete the old copy is not an error (the next swap removes it).
  if (hadOld) await platform().remove(old, { recursive: true }).catch(() => {});
}

/** Flushes the renames in `path` to disk where the OS allows it (Linux, macOS); best effort elsewhere. */
async function syncDirectory(path: string): Promise<void> {
  try {
    const handle = await platform().open(path, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Windows cannot open directories; the renames are still atomic, only not yet flushed.
  }
}

/** A `.<name>.old-<pid>-<tag>` or `.<name>.new-<pid>-<tag>` beside a checkpoint directory, and the PID of its writer. */
interface SwapLeftover {
  readonly path: string;
  readonly kind: "old" | "new";
  readonly pid: number;
}

/** The swap directories beside `dir`, sorted by name; none when the parent does not exist. */
async function swapLeftovers(dir: string): Promise<SwapLeftover[]> {
  const parent = dirname(dir);
  if (!(await pathExists(parent))) return [];
  const prefix = `.${basename(dir)}.`;
  const found: SwapLeftover[] = [];
  for await (const entry of platform().readDir(parent)) {
    if (!entry.name.startsWith(prefix)) continue;
    const kind = entry.name.slice(prefix.length, prefix.length + 4);
    if (kind !== "old-" && kind !== "new-") continue;
    const pid = Number(entry.name.slice(prefix.length + 4).split("-")[0]);
    found.push({ path: join(parent, entry.name), kind: kind === "old-" ? "old" : "new", pid });
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * If a writer died between the two renames of a swap, `dir` is missing and its
 * previous version waits as `.<name>.old-*`: put it back. Safe for readers
 * (load, resume, chat) while another process writes: it never removes
 * anything, and it leaves alone an `.old-*` whose writer is alive, because
 * that writer is between its renames and its new directory arrives next
 * (putting the old one back would make the writer's second rename fail).
 * Leftovers of dead writers are removed by the next write (writeDirectoryAtomic).
 */
export async function recoverInterruptedSwap(dir: string): Promise<void> {
  if (await pathExists(dir)) return;
  const olds = (await swapLeftovers(dir)).filter((l) => l.kind === "old");
  for (const old of olds) if (await writerAlive(old.pid, old.path)) return;
  if (!olds.length) return;
  // Another reader may put it back at the same moment: then the rename fails and `dir` is there all the same.
  await platform().rename(olds[0].path, dir).catch(async (err) => {
    if (!(await pathExists(dir))) throw err;
  });
}

/** Removes the `.old-*` / `.new-*` directories of writers of `dir` that are dead; a live writer's are kept. For writers only. */
async function removeDeadSwapLeftovers(dir: string): Promise<void> {
  for (const leftover of await swapLeftovers(dir)) {
    if (!(await writerAlive(leftover.pid, leftover.path))) await platform().remove(leftover.path, { recursive: true }).catch(() => {});
  }
}

/**
 * Refuses a NaN or ±Infinity weight, naming the first: such a model loads and runs, but every logit it computes
 * is NaN and sampling fails far from the cause (chat's "gather: index -1 …"). One pass over the values.
 */
function checkFinite(data: TensorData, file: string, name: string, shape: readonly number[]): void {
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    throw new Error(
      `${file}: tensor "${name}": ${data[i]} at index ${i} ([${positionOf(i, shape).join(", ")}] of shape [${shape.join(", ")}]); ` +
        `the checkpoint is damaged or its training diverged`,
    );
  }
}

/** The row-major coordinates of flat index `i` in `shape`. */
function positionOf(i: number, shape: readonly number[]): number[] {
  const position = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    position[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return position;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

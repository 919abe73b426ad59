/**
 * GPT-2 weights in a Hugging Face directory: config.json + model.safetensors.
 *
 * Loading accepts what real files contain: names with or without the
 * `transformer.` prefix, the `attn.bias` / `attn.masked_bias` buffers of older
 * files (ignored), a tied `lm_head.weight` (ignored), sharded checkpoints
 * (model.safetensors.index.json). Saving writes what current HF
 * `save_pretrained` writes, as one atomic directory swap.
 */
import { basename, dirname, join } from "node:path";
import { tf } from "../tf.ts";
import { gpt2ParamShapes } from "../gpt2/config.ts";
import type { GPT2Model, GPT2Params } from "../gpt2/model_types.ts";
import { gpt2ConfigFromHF, gpt2ConfigToHF } from "./hf_config.ts";
import { readSafetensorsFile, serializeSafetensors, type StoredTensor } from "./safetensors.ts";
import { writeSynced } from "./atomic.ts";
import { pathExists } from "../fs.ts";

const WEIGHTS = "model.safetensors";
const INDEX = "model.safetensors.index.json";

/** Loads config.json and the weights of a GPT-2 directory into new variables. */
export async function loadGPT2Weights(dir: string): Promise<GPT2Model> {
  await recoverInterruptedSwap(dir);
  const configPath = join(dir, "config.json");
  const config = gpt2ConfigFromHF(JSON.parse(await readText(configPath)), configPath);
  const stored = await readWeights(dir);
  const expected = gpt2ParamShapes(config);
  const found = new Map<string, { tensor: StoredTensor; file: string }>();
  for (const [rawName, entry] of stored) {
    const name = rawName.startsWith("transformer.") ? rawName.slice("transformer.".length) : rawName;
    if (/^h\.\d+\.attn\.(bias|masked_bias)$/.test(name)) continue; // causal-mask buffers, not weights
    if (name === "lm_head.weight") {
      const wte = expected.get("wte.weight")!;
      if (entry.tensor.shape.join() !== wte.join()) {
        throw new Error(`${entry.file}: tensor "lm_head.weight": expected shape [${wte}] (tied to wte), found [${entry.tensor.shape}]`);
      }
      continue; // tied to wte.weight
    }
    if (!expected.has(name)) throw new Error(`${entry.file}: unexpected tensor "${rawName}" for a GPT-2 with ${config.n_layer} layers`);
    if (found.has(name)) throw new Error(`${entry.file}: tensor "${name}" appears twice (with and without the transformer. prefix)`);
    found.set(name, entry);
  }
  const params: GPT2Params = {};
  try {
    for (const [name, shape] of expected) {
      const entry = found.get(name);
      if (!entry) throw new Error(`${join(dir, WEIGHTS)}: missing tensor "${name}" (expected shape [${shape}])`);
      if (entry.tensor.shape.join() !== shape.join()) {
        throw new Error(`${entry.file}: tensor "${name}": expected shape [${shape}], found [${entry.tensor.shape}]`);
      }
      if (!(entry.tensor.data instanceof Float32Array)) throw new Error(`${entry.file}: tensor "${name}" has integer dtype ${entry.tensor.dtype}`);
      params[name] = tf.tidy(() => tf.variable(tf.tensor(entry.tensor.data, shape, "float32"), true));
    }
  } catch (err) {
    for (const v of Object.values(params)) v.dispose();
    throw err;
  }
  return { config, params };
}

async function readWeights(dir: string): Promise<Map<string, { tensor: StoredTensor; file: string }>> {
  const out = new Map<string, { tensor: StoredTensor; file: string }>();
  const add = async (file: string) => {
    for (const [name, tensor] of (await readSafetensorsFile(file)).tensors) out.set(name, { tensor, file });
  };
  if (await pathExists(join(dir, WEIGHTS))) {
    await add(join(dir, WEIGHTS));
  } else if (await pathExists(join(dir, INDEX))) {
    const index = JSON.parse(await readText(join(dir, INDEX))) as { weight_map?: Record<string, string> };
    if (!index.weight_map) throw new Error(`${join(dir, INDEX)}: no "weight_map"`);
    for (const shard of new Set(Object.values(index.weight_map))) await add(join(dir, shard));
  } else if (await pathExists(join(dir, "pytorch_model.bin"))) {
    throw new Error(`${dir}: only pytorch_model.bin found; convert it to model.safetensors first (e.g. with HF transformers: model.save_pretrained(dir, safe_serialization=True))`);
  } else {
    throw new Error(`${dir}: no ${WEIGHTS} (nor ${INDEX})`);
  }
  return out;
}

export interface SaveOptions {
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  /** More files for the same directory (tokenizer, optimiser state…), written in the same swap. */
  readonly extraFiles?: Readonly<Record<string, string | Uint8Array>>;
}

/**
 * Writes config.json + model.safetensors (+ extra files) into `dir`.
 * The new directory is built beside `dir` and swapped in with renames, so a
 * crash leaves either the old checkpoint or the new one. Files of the old
 * directory that are not rewritten are not kept.
 */
export async function saveGPT2Weights(model: GPT2Model, dir: string, options: SaveOptions = {}): Promise<void> {
  const tensors = new Map<string, { dtype: "F32"; shape: number[]; data: Float32Array }>();
  for (const [name, v] of Object.entries(model.params)) {
    tensors.set(`transformer.${name}`, { dtype: "F32", shape: v.shape, data: (await v.data()) as Float32Array });
  }
  const files: Record<string, string | Uint8Array> = {
    "config.json": JSON.stringify(gpt2ConfigToHF(model.config, options), null, 2) + "\n",
    [WEIGHTS]: serializeSafetensors(tensors, { format: "pt" }),
    ...options.extraFiles,
  };
  await writeDirectoryAtomic(dir, files);
}

/** Replaces directory `dir` by one holding exactly `files`, atomically. */
export async function writeDirectoryAtomic(dir: string, files: Readonly<Record<string, string | Uint8Array>>): Promise<void> {
  await recoverInterruptedSwap(dir);
  await Deno.mkdir(dirname(dir), { recursive: true });
  const tag = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const fresh = join(dirname(dir), `.${basename(dir)}.new-${tag}`);
  const old = join(dirname(dir), `.${basename(dir)}.old-${tag}`);
  await Deno.mkdir(fresh);
  try {
    for (const [name, content] of Object.entries(files)) {
      await writeSynced(join(fresh, name), typeof content === "string" ? new TextEncoder().encode(content) : content);
    }
    const hadOld = await pathExists(dir);
    if (hadOld) await Deno.rename(dir, old);
    await Deno.rename(fresh, dir);
    if (hadOld) await Deno.remove(old, { recursive: true });
  } catch (err) {
    await Deno.remove(fresh, { recursive: true }).catch(() => {});
    throw err;
  }
}

/**
 * If a crash hit between the two renames of a swap, `dir` is missing and its
 * previous version waits as `.<name>.old-*`: put it back. Half-built `.new-*`
 * directories are removed.
 */
async function recoverInterruptedSwap(dir: string): Promise<void> {
  const parent = dirname(dir);
  if (!(await pathExists(parent))) return;
  const prefix = `.${basename(dir)}.`;
  for await (const entry of Deno.readDir(parent)) {
    if (!entry.name.startsWith(prefix)) continue;
    const path = join(parent, entry.name);
    if (entry.name.startsWith(`${prefix}old-`) && !(await pathExists(dir))) await Deno.rename(path, dir);
    else if (entry.name.startsWith(`${prefix}new-`) || entry.name.startsWith(`${prefix}old-`)) {
      // Leftovers of a crashed process (ours are still in use, so keep those).
      const pid = Number(entry.name.split("-").at(-2));
      if (pid !== Deno.pid) await Deno.remove(path, { recursive: true }).catch(() => {});
    }
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`${path}: file not found`);
    throw err;
  }
}


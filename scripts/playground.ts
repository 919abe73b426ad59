/**
 * `deno task playground`: builds the browser playground, a static site, into dist/playground/ (or `--out DIR`).
 * The page (playground/index.html) and its code, bundled by `deno bundle --platform browser`; tfjs' .wasm
 * files; the model, with its tokenizer files: checkpoints/sft when a finished SFT stage is there, else the
 * shipped base models/gpt2-poetry-zh; a slice of the poems and the mood lists, from which the page makes its
 * requests and the simulated labeler's gold score. Any static file server serves it (`deno task
 * playground-serve`, or `python3 -m http.server -d dist/playground`); once loaded, it needs no network.
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { parseCommand, runMain, usageError } from "../lib/cli.ts";

const ROOT = fromFileUrl(new URL("../", import.meta.url));
const { values } = parseCommand({
  command: "deno task playground",
  summary:
    "Builds the browser playground, a static site: the page, its bundled code, tfjs' .wasm files, the model and a slice of the poems.",
  flags: {
    out: {
      type: "string",
      value: "DIR",
      help: "where the site goes: a new or empty directory, or an earlier build, which is replaced (default dist/playground)",
    },
  },
  examples: ["deno task playground", "deno task playground --out /tmp/site"],
});
const OUT = resolve((values.out as string | undefined) ?? join(ROOT, "dist/playground"));
/** A site's marker: the build writes it last, and only a directory holding it is replaced. */
const MANIFEST = "manifest.json";
/** How many poems of each split the site carries: the page's requests come from them. */
const POEMS_PER_SPLIT = 200;

/** The model the page starts from: the SFT checkpoint when one is complete, else the shipped base. */
async function chooseModel(): Promise<{ dir: string; name: string; kind: "sft" | "base" }> {
  const sft = join(ROOT, "checkpoints/sft");
  const complete = await Promise.all(
    ["config.json", "model.safetensors"].map((f) => Deno.stat(join(sft, f)).then(() => true, () => false)),
  );
  if (complete.every(Boolean)) return { dir: sft, name: "checkpoints/sft", kind: "sft" };
  return { dir: join(ROOT, "models/gpt2-poetry-zh"), name: "models/gpt2-poetry-zh", kind: "base" };
}

const MODEL_FILES = [
  "config.json",
  "model.safetensors",
  "vocab.txt",
  "tokenizer_config.json",
  "tokenizer.json",
  "vocab.json",
  "merges.txt",
];

async function copyIfThere(from: string, to: string): Promise<boolean> {
  try {
    await Deno.copyFile(from, to);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function bundle(entry: string, out: string): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "-o", out, entry],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`deno bundle ${entry} failed:\n${new TextDecoder().decode(stderr)}`);
}

/** The first `n` poems of each split (train: the requests; heldout: before/after). */
async function poemSlice(n: number): Promise<string> {
  const lines = (await Deno.readTextFile(join(ROOT, "data/poetry-zh/poems.jsonl"))).split("\n").filter((l) => l.trim());
  const taken = { train: 0, heldout: 0 } as Record<string, number>;
  const out: string[] = [];
  for (const line of lines) {
    const split = JSON.parse(line).split as string;
    if ((taken[split] ?? 0) < n) {
      taken[split] = (taken[split] ?? 0) + 1;
      out.push(line);
    }
  }
  return out.join("\n") + "\n";
}

/**
 * Refuses (exit 2) an --out that is not a new or empty directory or an earlier build: replacing it would delete
 * whatever it holds (`--out .` would be the checkout).
 */
async function checkOut(dir: string): Promise<void> {
  const info = await Deno.stat(dir).catch(() => undefined);
  if (!info) return;
  if (!info.isDirectory) usageError(`--out ${dir}: is a file, expected a directory`);
  const entries = [];
  for await (const e of Deno.readDir(dir)) entries.push(e.name);
  if (entries.length > 0 && !entries.includes(MANIFEST)) {
    usageError(`--out ${dir}: holds files and is not a playground build (no ${MANIFEST}); give a new or empty directory`);
  }
}

/** Writes the whole site into `dir`, the manifest last. */
async function build(dir: string): Promise<{ model: string }> {
  for (const sub of ["", "model", "task", "wasm"]) await Deno.mkdir(join(dir, sub), { recursive: true });
  await bundle("playground/main.ts", join(dir, "app.js"));
  await Deno.copyFile(join(ROOT, "playground/index.html"), join(dir, "index.html"));
  const wasmDist = join(ROOT, "node_modules/@tensorflow/tfjs-backend-wasm/dist");
  for await (const e of Deno.readDir(wasmDist)) {
    if (e.name.endsWith(".wasm")) await Deno.copyFile(join(wasmDist, e.name), join(dir, "wasm", e.name));
  }
  const model = await chooseModel();
  const files: string[] = [];
  for (const f of MODEL_FILES) if (await copyIfThere(join(model.dir, f), join(dir, "model", f))) files.push(f);
  await Deno.writeTextFile(join(dir, "task/poems.jsonl"), await poemSlice(POEMS_PER_SPLIT));
  await Deno.copyFile(join(ROOT, "data/poetry-zh/valence.json"), join(dir, "task/valence.json"));
  const manifest = { model: { name: model.name, kind: model.kind, files }, task: { files: ["poems.jsonl", "valence.json"] } };
  await Deno.writeTextFile(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
  return { model: model.name };
}

await checkOut(OUT);
await runMain(async () => {
  const t0 = performance.now();
  // Built beside OUT and swapped in when complete: a failed or interrupted build leaves the earlier site whole.
  const staging = `${OUT}.building-${Deno.pid}`;
  let model: string;
  try {
    ({ model } = await build(staging));
    await Deno.remove(OUT, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    await Deno.rename(staging, OUT);
  } catch (err) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw err;
  }
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      e.isDirectory ? await walk(join(dir, e.name)) : (bytes += (await Deno.stat(join(dir, e.name))).size);
    }
  };
  await walk(OUT);
  console.log(
    `playground: ${OUT} (${(bytes / 1e6).toFixed(1)} MB, model ${model}) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n` +
      `  serve it with: deno task playground-serve   (or: python3 -m http.server -d ${
        dirname(OUT) === join(ROOT, "dist") ? "dist/playground" : OUT
      } 8000)`,
  );
});

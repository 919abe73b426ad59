/**
 * The site's files into the page: manifest.json names the model and the task files, which are fetched once
 * into a memory platform (lib/platform/memory.ts) and loaded from there by the library's own loaders, as a
 * Deno run loads them from the disk. After this, nothing is fetched: the page works offline.
 */
import { loadPoetryTask, loadPretrained, memoryPlatform, type PretrainedGPT2, type Task, usePlatform } from "../lib/browser.ts";

/** What manifest.json (written by scripts/playground.ts) says. */
export interface Manifest {
  model: { name: string; kind: "sft" | "base"; files: string[] };
  task: { files: string[] };
}

/** The model directory and the task directory inside the memory platform. */
export const MODEL_DIR = "/model";
export const TASK_DIR = "/task";

async function fetchBytes(url: URL): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Fetches the manifest and every file it names into a new memory platform, installed as `platform()`. */
export async function fetchSite(base: URL): Promise<Manifest> {
  const manifest = await (await fetch(new URL("manifest.json", base))).json() as Manifest;
  const files: Record<string, Uint8Array> = {};
  for (const f of manifest.model.files) files[`${MODEL_DIR}/${f}`] = await fetchBytes(new URL(`model/${f}`, base));
  for (const f of manifest.task.files) files[`${TASK_DIR}/${f}`] = await fetchBytes(new URL(`task/${f}`, base));
  usePlatform(memoryPlatform({ files }));
  return manifest;
}

/** The model (with its tokenizer) and the poetry task, read from the memory platform. */
export async function loadModelAndTask(): Promise<{ model: PretrainedGPT2; task: Task }> {
  const model = await loadPretrained(MODEL_DIR);
  if (!model.tokenizer) throw new Error(`${MODEL_DIR}: no tokenizer files`);
  const task = await loadPoetryTask({ poemsPath: `${TASK_DIR}/poems.jsonl`, valencePath: `${TASK_DIR}/valence.json`, requestsPerPoem: 1 });
  return { model, task };
}

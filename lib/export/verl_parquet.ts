/**
 * Prompts for verl as a parquet file, in the schema of verl's own data
 * preparation scripts (examples/data_preprocess/gsm8k.py writes it with
 * `datasets.Dataset.to_parquet`; verl/utils/dataset/rl_dataset.py reads
 * `prompt` as chat messages, `data_source` and `reward_model.ground_truth`
 * for the reward function):
 *
 *   data_source   string
 *   prompt        list<struct<role: string, content: string>>
 *   ability       string
 *   reward_model  struct<style: string, ground_truth: string>
 *   extra_info    struct<split: string, index: int64, id: string>
 *
 * Written with hyparquet-writer (snappy, nested columns in Dremel encoding),
 * read back with hyparquet, its separate reader.
 */
import { ByteWriter, parquetWrite } from "hyparquet-writer";
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import type { ChatMessage } from "../tokenizer/chat_template.ts";

/** One prompt of verl's RL dataset. */
export interface VerlRow {
  readonly data_source: string;
  readonly prompt: readonly ChatMessage[];
  readonly ability: string;
  readonly reward_model: { readonly style: "rule" | "model"; readonly ground_truth: string };
  readonly extra_info: { readonly split: string; readonly index: number; readonly id: string };
}

const STRING = { type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" } as const;

/** The parquet schema above, depth first, as parquet's SchemaElement list. */
const SCHEMA = [
  { name: "root", num_children: 5 },
  { name: "data_source", ...STRING },
  { name: "prompt", repetition_type: "REQUIRED", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", repetition_type: "REQUIRED", num_children: 2 },
  { name: "role", ...STRING },
  { name: "content", ...STRING },
  { name: "ability", ...STRING },
  { name: "reward_model", repetition_type: "REQUIRED", num_children: 2 },
  { name: "style", ...STRING },
  { name: "ground_truth", ...STRING },
  { name: "extra_info", repetition_type: "REQUIRED", num_children: 3 },
  { name: "split", ...STRING },
  { name: "index", type: "INT64", repetition_type: "REQUIRED" },
  { name: "id", ...STRING },
] as const;

/**
 * The rows as a parquet file's bytes.
 *
 * @example
 * ```ts
 * import { verlParquet } from "rlhf";
 * const bytes = verlParquet([{
 *   data_source: "poetry-zh",
 *   prompt: [{ role: "user", content: "写一首五言绝句。" }],
 *   ability: "poetry",
 *   reward_model: { style: "rule", ground_truth: '{"chars_per_line":5,"n_lines":4}' },
 *   extra_info: { split: "train", index: 0, id: "p0" },
 * }]);
 * await Deno.writeFile(`${await Deno.makeTempDir()}/train.parquet`, bytes); // what verl's data.train_files reads
 * ```
 */
export function verlParquet(rows: readonly VerlRow[]): Uint8Array {
  if (rows.length === 0) throw new Error("verlParquet: no rows");
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    schema: SCHEMA.map((e) => ({ ...e })),
    columnData: [
      { name: "data_source", data: rows.map((r) => r.data_source) },
      { name: "prompt", data: rows.map((r) => r.prompt.map((m) => ({ role: m.role, content: m.content }))) },
      { name: "ability", data: rows.map((r) => r.ability) },
      { name: "reward_model", data: rows.map((r) => ({ ...r.reward_model })) },
      { name: "extra_info", data: rows.map((r) => ({ ...r.extra_info, index: BigInt(r.extra_info.index) })) },
    ],
  });
  return new Uint8Array(writer.getBuffer());
}

/**
 * Reads a file `verlParquet` wrote, with hyparquet, refusing one whose columns are not verl's.
 *
 * @example
 * ```ts
 * import { readVerlParquet, verlParquet } from "rlhf";
 * const row = {
 *   data_source: "poetry-zh",
 *   prompt: [{ role: "user" as const, content: "写诗" }],
 *   ability: "poetry",
 *   reward_model: { style: "rule" as const, ground_truth: "{}" },
 *   extra_info: { split: "test", index: 0, id: "p0" },
 * };
 * (await readVerlParquet(verlParquet([row])))[0].prompt[0].content; // "写诗"
 * ```
 */
export async function readVerlParquet(bytes: Uint8Array, source = "parquet file"): Promise<VerlRow[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const columns = parquetSchema(parquetMetadata(file)).children.map((c) => c.element.name);
  const expected = ["data_source", "prompt", "ability", "reward_model", "extra_info"];
  if (columns.join() !== expected.join()) throw new Error(`${source}: columns ${columns.join(", ")}, expected ${expected.join(", ")}`);
  const rows = await parquetReadObjects({ file });
  return rows.map((r) => ({ ...r, extra_info: { ...r.extra_info, index: Number(r.extra_info.index) } }) as VerlRow);
}

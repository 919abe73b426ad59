/**
 * The command line of every script: `--help` with usage and examples, and bad
 * input (an unknown flag, a value that is not what the flag takes) reported in
 * one line that names the flag, with exit status 2 and no stack trace — before
 * any slow work starts. Errors raised later (a missing file, a checkpoint of
 * another run) are printed as one line too; RLHF_DEBUG=1 shows the stack.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";

/** One flag: its type, default, value name and what it does. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly default?: string | boolean;
  /** How the value is named in the usage, e.g. "N" or "DIR". */
  readonly value?: string;
  readonly help: string;
  /**
   * For a count: the integers accepted, checked as the command line is parsed (before any work) and shown in
   * `--help`. The upper bound is what a person would still wait for: a typo such as 1e20 steps is refused.
   */
  readonly range?: readonly [min: number, max: number];
}

export interface CommandSpec {
  /** e.g. "deno task rlhf" */
  readonly command: string;
  readonly summary: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** e.g. "<run directory> <output prefix>"; without it, positional arguments are refused. */
  readonly positionals?: string;
  readonly examples: readonly string[];
}

/** Prints one line to stderr and exits with status 2. */
export function usageError(message: string): never {
  console.error(`error: ${message} (see --help)`);
  Deno.exit(2);
}

/** The usage text of a command. */
function usageText(spec: CommandSpec): string {
  const flagLines = Object.entries(spec.flags).map(([name, f]) => {
    const left = `  --${name}${f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""}`;
    const def = f.default !== undefined && f.default !== false ? ` (default: ${f.default})` : "";
    const range = f.range ? ` [${f.range[0]}–${f.range[1]}]` : "";
    return `${left.padEnd(30)} ${f.help}${range}${def}`;
  });
  return [
    `${spec.command}${spec.positionals ? ` ${spec.positionals}` : ""} [flags]`,
    "",
    spec.summary,
    "",
    "Flags:",
    ...flagLines,
    `${"  --help".padEnd(30)} this text`,
    "",
    "Examples:",
    ...spec.examples.map((e) => `  ${e}`),
  ].join("\n");
}

/** Parses `args`; prints the usage and exits 0 on --help, exits 2 with one line on bad input. */
export function parseCommand(spec: CommandSpec, args: readonly string[] = Deno.args) {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usageText(spec));
    Deno.exit(0);
  }
  const options: Record<string, { type: "string" | "boolean"; default?: string | boolean }> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = f.default === undefined ? { type: f.type } : { type: f.type, default: f.default };
  }
  // "--kl-coef -1": node:util reads -1 as a flag; join a negative number to its flag so that our check can name it.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : "";
    if (spec.flags[name]?.type === "string" && /^-\d|^-\.\d|^-Infinity$/.test(args[i + 1] ?? "")) joined.push(`${args[i]}=${args[++i]}`);
    else joined.push(args[i]);
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: joined, options, allowPositionals: spec.positionals !== undefined, strict: true });
  } catch (err) {
    // node:util's messages name the flag ("Unknown option '--foo'", "Option '--k <value>' argument missing").
    return usageError((err as Error).message.split("\n")[0].replace(/\. To specify a positional argument.*$/, ""));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  for (const [name, f] of Object.entries(spec.flags)) {
    if (f.range) {
      numberFlag(
        values,
        name,
        (n) => Number.isInteger(n) && n >= f.range![0] && n <= f.range![1],
        `an integer ${f.range[0]}–${f.range[1]}`,
      );
    }
  }
  return { values, positionals: parsed.positionals };
}

/** A flag's number, checked where it is parsed: undefined when absent, exit 2 when it is not a finite number that `ok` accepts. */
export function numberFlag(
  values: Record<string, unknown>,
  name: string,
  ok: (n: number) => boolean,
  expected: string,
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(n) || !ok(n)) usageError(`--${name} ${raw}: expected ${expected}`);
  return n;
}

/** A positive integer flag. */
export function positiveIntFlag(values: Record<string, unknown>, name: string): number | undefined {
  return numberFlag(values, name, (n) => Number.isInteger(n) && n > 0, "a positive integer");
}

/**
 * The entry of `table` that a flag names, by the table's own keys only: a name such as "toString" or
 * "constructor" is an Object.prototype property, not an entry. Anything else exits 2 listing the entries.
 */
export function choiceFlag<T>(values: Record<string, unknown>, name: string, table: Readonly<Record<string, T>>): string | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || !Object.hasOwn(table, raw)) {
    usageError(`--${name} ${raw}: expected one of ${Object.keys(table).join(", ")}`);
  }
  return raw;
}

/**
 * Refuses (exit 2) an output path that is one of the inputs, also when they are spelled differently or one is a
 * link to the other: writing there would destroy the input the command reads.
 */
export function refuseOutputOverInput(output: { flag: string; path: string }, inputs: readonly { flag: string; path: string }[]): void {
  const out = sameFileKey(output.path);
  for (const input of inputs) {
    if (out === sameFileKey(input.path)) {
      usageError(`--${output.flag} ${output.path}: is the same file as --${input.flag} ${input.path}; writing it would destroy the input`);
    }
  }
}

/** A key equal for two paths of the same file: device and inode when it exists, else the resolved path. */
function sameFileKey(path: string): string {
  try {
    const info = Deno.statSync(path);
    if (info.ino !== null) return `${info.dev}:${info.ino}`;
  } catch {
    // not there yet: compare the spelled-out paths
  }
  return resolve(path);
}

/**
 * Reads a file that a flag names now, before any slow work, with the reader that will use it (which checks
 * it): a missing file, a directory or a malformed one exits 2 with one line naming the flag and the problem.
 */
export async function checkInputFile(flag: string, path: string, read: (path: string) => Promise<unknown>): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    return usageError(`--${flag} ${path}: file not found`);
  }
  if (!info.isFile) usageError(`--${flag} ${path}: expected a file, found a directory or a device`);
  try {
    await read(path);
  } catch (err) {
    usageError(`--${flag}: ${(err as Error).message.split("\n")[0]}`);
  }
}

/** Runs a script's body; an error ends the process with its message in one line (RLHF_DEBUG=1: with the stack), status 1. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (Deno.env.get("RLHF_DEBUG") === "1") throw err;
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
}

/** Command-line usage errors: one line on stderr naming the flag and what was expected, exit status 2, no stack trace. */
export function usageError(message: string): never {
  console.error(`error: ${message}`);
  Deno.exit(2);
}

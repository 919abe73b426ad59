/**
 * The random part of a temporary file's name: 8 hexadecimal digits, like the
 * first 8 of `crypto.randomUUID()`, from `crypto.getRandomValues`, which every
 * page has (randomUUID exists only in secure contexts: https and localhost).
 */
export function tempTag(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

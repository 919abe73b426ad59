/** Small file-system helpers shared across lib/. */

/** Whether a file or directory exists. */
export async function pathExists(path: string | URL): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

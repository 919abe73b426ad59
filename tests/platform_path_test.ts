/** lib/platform/path.ts gives node:path's POSIX results on every case below. */
import * as node from "node:path";
import { basename, dirname, join, resolve } from "../lib/platform/path.ts";
import { assert } from "./helpers.ts";

const PATHS = ["", "/", ".", "..", "a", "/a", "a/", "/a/b", "a/b/", "/a/b.txt", "./a", "../a", "a/../b", "/a//b", "a//b/", "/a/./b/../c"];

Deno.test("dirname() and basename() match node:path", () => {
  for (const p of PATHS) {
    assert.equal(dirname(p), node.posix.dirname(p), `dirname(${JSON.stringify(p)})`);
    assert.equal(basename(p), node.posix.basename(p), `basename(${JSON.stringify(p)})`);
  }
});

Deno.test("join() and resolve() match node:path", () => {
  const pairs = PATHS.flatMap((a) => PATHS.map((b) => [a, b]));
  for (const [a, b] of [...pairs, ["/x", "y", "../z"], ["x", "", "y/"], ["/r/", "c", "d.ts"]]) {
    assert.equal(join(a, b), node.posix.join(a, b), `join(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
    assert.equal(resolve(a, b), node.posix.resolve(a, b), `resolve(${JSON.stringify(a)}, ${JSON.stringify(b)})`);
  }
  assert.equal(resolve(), node.posix.resolve());
});

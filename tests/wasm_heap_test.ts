/** Reading a tensor's values in the wasm heap: the values of `data()`, without the copy; other backends and dtypes get no view. */
import { initBackend } from "../lib/backend.ts";
import { float32View } from "../lib/generate/generate.ts";
import { tf } from "../lib/tf.ts";
import { assert } from "./helpers.ts";

await initBackend({ quiet: true });

Deno.test("float32View(): on wasm the tensor's own values in the heap; undefined for int32 and on other backends", async () => {
  const x = tf.tensor2d([[1.5, -2, 3], [4, 5, 6.25]]);
  const view = float32View(x);
  if (tf.getBackend() === "wasm") {
    assert.ok(view, "a view on wasm");
    assert.deepEqual(Array.from(view), Array.from(await x.data()));
    const copy = await x.data();
    assert.notEqual(view.buffer, copy.buffer, "data() copies; the view does not");
    assert.equal(view.buffer.byteLength > view.byteLength, true, "the view is a window on the whole heap");
  } else {
    assert.equal(view, undefined);
  }
  const ids = tf.tensor1d([1, 2], "int32");
  assert.equal(float32View(ids), undefined);
  x.dispose();
  ids.dispose();
});

/**
 * The one place the project imports TensorFlow.js from.
 *
 * Model code uses `@tensorflow/tfjs-core` ops only, so every backend runs it.
 * `@tensorflow/tfjs-core` on its own registers no gradients ("gradient function
 * not found for RealDiv"); the `@tensorflow/tfjs` bundle registers them into the
 * same core instance, so it is imported here for that side effect.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs";

export { tf };

/**
 * A variable holding the tensor `make()` builds, and nothing else.
 * `tf.variable(t)` shares t's data but leaves t itself alive beside it: one
 * leaked tensor per variable unless t is built inside the same `tf.tidy`.
 */
export function variableOf(make: () => tf.Tensor, trainable = true): tf.Variable {
  return tf.tidy(() => tf.variable(make(), trainable));
}

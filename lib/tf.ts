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

/** The PPO policy's optimiser: the value head at its own learning-rate scale, nothing decayed. */
import { tf } from "../lib/tf.ts";
import { initBackend } from "../lib/backend.ts";
import { resolveGPT2Config } from "../lib/gpt2/config.ts";
import { createGPT2, disposeGPT2 } from "../lib/gpt2/init.ts";
import { createPolicy, createPolicyOptimizer, disposePolicy, policyParams } from "../lib/ppo/policy.ts";
import { assertAllClose } from "./helpers.ts";

await initBackend({ quiet: true });

Deno.test("createPolicyOptimizer() steps the value head at valueHeadLrScale × the learning rate and decays no weight", async () => {
  const sft = createGPT2(resolveGPT2Config({ preset: "gpt2-nano", vocab_size: 16, n_positions: 8 }), { seed: 0 });
  const policy = createPolicy(sft);
  const params = policyParams(policy);
  const optimizer = createPolicyOptimizer(policy, { valueHeadLrScale: 10 });
  const before = { wte: await params["wte.weight"].data(), head: await params["value.weight"].data() };
  // Adam's first step moves every weight by lr × sign(gradient), whatever the gradient's size.
  const lr = 0.01;
  tf.tidy(() => optimizer.step(Object.fromEntries(Object.entries(params).map(([name, p]) => [name, tf.onesLike(p)])), lr));
  const moved = (now: ArrayLike<number>, was: ArrayLike<number>) => Array.from(now, (v, i) => v - was[i]);
  const wte = moved(await params["wte.weight"].data(), before.wte);
  const head = moved(await params["value.weight"].data(), before.head);
  assertAllClose(wte, wte.map(() => -lr), { atol: 1e-7, what: "an embedding: lr, no weight decay" });
  assertAllClose(head, head.map(() => -10 * lr), { atol: 1e-6, what: "the value head: 10 × lr" });
  optimizer.dispose();
  disposePolicy(policy);
  disposeGPT2(sft);
});

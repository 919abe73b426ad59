/** Where a notebook's changed settings train: never the pipeline's directory, the same one on every run. */
import { assert } from "./helpers.ts";
import { settingsDirectory } from "../lib/run/settings_directory.ts";

const base = { lr: 1e-4, ptxCoef: 1, sampling: { temperature: 1 }, klTarget: 6 };

Deno.test("settingsDirectory(): the stage's own directory for the base settings, a named one for each change", () => {
  assert.equal(settingsDirectory("c", "ppo", { ...base }, base), "c/ppo");
  assert.equal(settingsDirectory("c", "ppo", { ...base, klTarget: undefined }, base), "c/ppo", "an absent setting is the base's");
  assert.equal(settingsDirectory("c", "ppo", { ...base, ptxCoef: 0 }, base), "c/experiments/ppo-ptxCoef=0");
  assert.equal(
    settingsDirectory("c", "ppo", { ...base, sampling: { temperature: 0.7 }, lr: 3e-5 }, base),
    "c/experiments/ppo-lr=0.00003,sampling.temperature=0.7",
  );
  assert.equal(settingsDirectory("c", "ppo", { ...base, extra: 2 }, base), "c/experiments/ppo-extra=2");
  const runs = [{ run: "grpo-beta0.05", settings: { beta: 0.05 } }];
  assert.match(
    settingsDirectory("c", "frontier", { runs }, { runs: [] }),
    /^c\/experiments\/frontier-runs=h[0-9a-f]+$/,
    "a long value by its hash",
  );
});

Deno.test("settingsDirectory(): long changes end in a hash, different changes never share a directory", () => {
  const many = (v: number) => ({ ...base, ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`setting${i}`, v])) });
  const [a, b] = [settingsDirectory("c", "dpo", many(1), base), settingsDirectory("c", "dpo", many(2), base)];
  assert.ok(a.length < 120 && a !== b, `${a} / ${b}`);
  assert.equal(settingsDirectory("c", "dpo", many(1), base), a, "the same changes, the same directory");
});

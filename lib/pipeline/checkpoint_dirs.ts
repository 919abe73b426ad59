/**
 * Where each stage of the pipeline keeps its checkpoint: one function, used by
 * runPipeline and by whatever prints the paths. A PPO checkpoint resumes only
 * the run that wrote it, so PPO settings other than the defaults get a
 * directory of their own (`ppo-lr3e-05`, `ppo-gold-kl0`, …); a default value
 * given explicitly is the default run.
 */
import { PPO_DEFAULTS } from "../ppo/ppo_config.ts";
import { PPO_STAGE_DEFAULTS } from "./ppo_stage.ts";

export type StageName = "pretrain" | "sft" | "rm" | "ppo" | "dpo" | "rloo" | "grpo";

/** The PPO settings that name a run's directory. */
export interface PPORunSettings {
  readonly reward?: "rm" | "gold";
  readonly iterations?: number;
  readonly ptxCoef?: number;
  readonly lr?: number;
  readonly initKlCoef?: number;
}

/** The suffix of a PPO run's directory: empty for the default run. */
function ppoVariant(s: PPORunSettings): string {
  const other = (v: number | undefined, d: number) => v !== undefined && v !== d;
  return (s.reward === "gold" ? "-gold" : "") +
    (other(s.ptxCoef, PPO_DEFAULTS.ptxCoef) ? `-ptx${s.ptxCoef}` : "") +
    (other(s.lr, PPO_DEFAULTS.lr) ? `-lr${s.lr}` : "") +
    (other(s.initKlCoef, PPO_DEFAULTS.initKlCoef) ? `-kl${s.initKlCoef}` : "") +
    (other(s.iterations, PPO_STAGE_DEFAULTS.iterations) ? `-it${s.iterations}` : "");
}

/** Every stage's directory under `root`; `--quick` runs keep theirs apart (`sft-quick`, …). */
export function checkpointDirs(root: string, options: { quick?: boolean; ppo?: PPORunSettings } = {}): Record<StageName, string> {
  const q = options.quick ? "-quick" : "";
  return {
    pretrain: `${root}/pretrain${q}`,
    sft: `${root}/sft${q}`,
    rm: `${root}/rm${q}`,
    ppo: `${root}/ppo${ppoVariant(options.ppo ?? {})}${q}`,
    dpo: `${root}/dpo${q}`,
    rloo: `${root}/rloo${q}`,
    grpo: `${root}/grpo${q}`,
  };
}

/**
 * Writes the trained base as a Hugging Face directory (config.json,
 * model.safetensors, vocab.txt) with a model card (README.md), the loss curve
 * (loss_curve.svg) and a compact training log (training_log.json).
 */
import { lossChart } from "../charts/training.ts";
import { renderSvg } from "../charts/svg.ts";
import { countParams } from "../gpt2/init.ts";
import { savePretrained } from "../pretrained.ts";
import type { Poem } from "../corpus/poems.ts";
import { resolveTrainConfig, type TrainHistory } from "../train/trainer.ts";
import { type BasePretrainResult, HELDOUT_SLICE, heldoutSliceLoss, unknownShare } from "./base_stage.ts";

/**
 * Where the base is shipped (absolute: notebooks run from notebooks/, scripts from the project root).
 *
 * @example
 * ```ts
 * import { BASE_MODEL_DIR, loadPretrained } from "rlhf";
 * const base = await loadPretrained(BASE_MODEL_DIR); // models/gpt2-poetry-zh, from whatever the working directory
 * ```
 */
export const BASE_MODEL_DIR = new URL("../../models/gpt2-poetry-zh", import.meta.url).pathname;

/** Facts about the run that the model card states; all measured by the caller. */
export interface BaseRunFacts {
  /** The command that made it. */
  readonly command: string;
  /** CPU model and core count, e.g. "AMD EPYC, 2 cores". */
  readonly machine: string;
  /** The backend line printed at start-up. */
  readonly backend: string;
  /** Date of the export (YYYY-MM-DD). */
  readonly date: string;
}

/** Train loss averaged over blocks of `every` steps (keeps the log small). */
function compactHistory(history: TrainHistory, every = 100): TrainHistory {
  const train: TrainHistory["train"] = [];
  for (let i = 0; i < history.train.length; i += every) {
    const block = history.train.slice(i, i + every);
    const mean = (f: (r: (typeof block)[number]) => number) => block.reduce((a, r) => a + f(r), 0) / block.length;
    train.push({
      step: block.at(-1)!.step,
      loss: mean((r) => r.loss),
      lr: mean((r) => r.lr),
      gradNorm: mean((r) => r.gradNorm),
      tokensPerSecond: mean((r) => r.tokensPerSecond),
    });
  }
  return { train, eval: history.eval };
}

/**
 * Writes `dir` atomically and returns the model card's numbers.
 *
 * @example
 * ```ts
 * import { exportBase, initBackend, loadPoems, runBasePretrain, splitPoems } from "rlhf";
 * await initBackend(); // the fast kernels: a stage on the pure-JavaScript backend is many times slower
 * const { heldout } = splitPoems(await loadPoems());
 * const dir = await Deno.makeTempDir();
 * const result = await runBasePretrain(heldout, ["写一首五言绝句"], { train: { steps: 20 }, checkpointDir: `${dir}/base` });
 * const facts = { command: "deno task pretrain-base", machine: "2 cores", backend: "wasm", date: "2026-12-07" };
 * await exportBase(result, heldout, facts, `${dir}/gpt2-poetry-zh`);
 * // config.json, model.safetensors, vocab.txt, README.md (the model card), loss_curve.svg, training_log.json
 * ```
 */
export async function exportBase(
  result: BasePretrainResult,
  heldoutPoems: readonly Poem[],
  facts: BaseRunFacts,
  dir = BASE_MODEL_DIR,
): Promise<{ heldoutSliceLoss: number; heldoutLoss: number }> {
  const { model, tokenizer, history, corpus, options } = result;
  const steps = history.train.length;
  const tokensPerStep = options.batchSize * options.seqLen;
  const seconds = history.train.reduce((a, r) => a + tokensPerStep / r.tokensPerSecond, 0);
  const sliceLoss = await heldoutSliceLoss(model, tokenizer, heldoutPoems);
  const heldoutLoss = history.eval.at(-1)?.loss ?? NaN;
  const corpusChars = corpus.train.reduce((n, p) => n + p.title.length + p.lines.join("").length, 0);
  const compact = compactHistory(history);
  const chart = lossChart(compact, "gpt2-poetry-zh: pretraining loss (train: mean of 100 steps)");
  const c = model.config;
  const t = resolveTrainConfig(options.train);
  const snapshot = steps < t.steps
    ? ` This is a snapshot of a run in progress, at step ${steps} of ${t.steps} (the learning rate was still ${
      history.train.at(-1)?.lr.toExponential(2)
    }).`
    : "";
  const card = `# gpt2-poetry-zh

A small GPT-2 (${options.preset}: ${c.n_layer} layers, ${c.n_head} heads, C = ${c.n_embd}, context ${c.n_positions},
${countParams(model).toLocaleString("en")} parameters) pretrained by this project's own trainer on classical Chinese
poems, in the Hugging Face \`GPT2LMHeadModel\` layout with a character vocabulary (\`vocab.txt\`, as
\`uer/gpt2-chinese-cluecorpussmall\`). It is the base that \`deno task rlhf\` fine-tunes; the book starts from a
pretrained Chinese GPT-2 in the same way.

## How it was made

    ${facts.command}

- **Corpus:** every regular poem (4 or 8 lines of 5 or 7 characters) of the Tang (${corpus.counts.tang.toLocaleString("en")})
  and Song (${corpus.counts.song.toLocaleString("en")}) collections of the npm package \`chinese-poetry\` 2.0.1 (MIT),
  converted to simplified characters with \`opencc-js\`, duplicates removed (lib/corpus/base_corpus.ts). Left out: the
  held-out split (${corpus.heldout.length.toLocaleString("en")} poems, 5 % by a hash of the id, which contains the
  pipeline's ${heldoutPoems.length} held-out poems) and ${corpus.counts.nearCopiesDropped} training poems that share two or more lines with one of those ${heldoutPoems.length}.
  Training: ${corpus.train.length.toLocaleString("en")} poems, ${corpusChars.toLocaleString("en")} characters. Each poem is
  one document \`《title》\\n<couplet>\\n<couplet>…\` followed by \`[SEP]\`.
- **Vocabulary:** ${tokenizer.vocabSize.toLocaleString("en")} entries: characters seen at least ${options.minCharCount} times,
  every character of the instruction templates, the BERT specials and the chat markers. [UNK] share: training poems
  ${(100 * unknownShare(tokenizer, corpus.train)).toFixed(3)} %, held-out poems ${
    (100 * unknownShare(tokenizer, heldoutPoems)).toFixed(3)
  } %.
- **Training:** ${steps.toLocaleString("en")} steps of ${options.batchSize} random windows × ${options.seqLen} tokens
  (${(steps * tokensPerStep / 1e6).toFixed(1)} M tokens seen, ${
    (steps * tokensPerStep / corpusChars).toFixed(1)
  } passes over the corpus), AdamW
  (β ${t.betas.join(", ")}), learning rate ${t.maxLr} → ${t.minLr} (warmup ${t.warmupSteps}, cosine),
  weight decay ${t.weightDecay}, gradient clip ${t.gradClip}, no dropout.${snapshot} Training-step time ${
    (seconds / 3600).toFixed(2)
  } h on ${facts.machine}
  (${facts.backend}); ${facts.date}.
- **Held-out loss** (nats per token, about one token per character): ${heldoutLoss.toFixed(3)} on all
  ${heldoutPoems.length} held-out poems in windows of ${options.seqLen}; **${sliceLoss.toFixed(4)}** on the fixed slice the pipeline's
  own pretraining reports (the first ${HELDOUT_SLICE.maxBatches} × ${HELDOUT_SLICE.batchSize} windows of ${HELDOUT_SLICE.seqLen} tokens;
  \`tests/base_model_test.ts\` checks this number).

![loss curve](loss_curve.svg)

## Use

    const base = await loadPretrained("models/gpt2-poetry-zh");   // lib/pretrained.ts

\`deno task rlhf\` starts from it; \`deno task rlhf --from-scratch\` pretrains a small model in minutes instead.
`;
  await savePretrained({ ...model, tokenizer }, dir, {
    extraFiles: {
      "README.md": card,
      "loss_curve.svg": renderSvg(chart.spec),
      "training_log.json": JSON.stringify({ heldout_slice_loss: sliceLoss, heldout_loss: heldoutLoss, history: compact }) + "\n",
    },
  });
  return { heldoutSliceLoss: sliceLoss, heldoutLoss };
}

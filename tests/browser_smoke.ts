/**
 * One small pass through the playground's steps, written against lib/browser.ts only, so the same function
 * runs under Deno (tests/browser_test.ts) and, bundled, in a page of headless Chromium: a forward pass of a
 * tiny GPT-2, answers sampled and ranked by the simulated labeler on the poetry task's gold score, the rank
 * lists saved and read back as JSONL (through the platform's files), one reward-model step, one PPO
 * iteration and one RLOO iteration. It returns plain numbers to compare between the two.
 */
import {
  AdamW,
  appendLabels,
  buildCharVocab,
  CHAT_SPECIAL_TOKENS,
  chatTemplateFor,
  cloneGPT2,
  createGPT2,
  createPolicy,
  createPolicyOptimizer,
  createRewardModel,
  disposeGPT2,
  disposePolicy,
  disposeRewardModel,
  encodePrompt,
  endOfTurnId,
  FixedKLController,
  generate,
  GROUP_DEFAULTS,
  groupIteration,
  loadLabels,
  logits,
  platform,
  type Poem,
  poetryTask,
  ppoIteration,
  type RankRecord,
  rawRewards,
  resolveGPT2Config,
  resolvePPOConfig,
  Rng,
  SimulatedLabeler,
  tf,
  trainRewardModel,
} from "../lib/browser.ts";

/** The page starts its backend with these (one tfjs instance in the bundle). */
export { startBrowserBackend, tf } from "../lib/browser.ts";

const POEMS: Poem[] = [
  ["静夜思", "李白", ["床前明月光，", "疑是地上霜。", "举头望明月，", "低头思故乡。"]],
  ["春晓", "孟浩然", ["春眠不觉晓，", "处处闻啼鸟。", "夜来风雨声，", "花落知多少。"]],
  ["登鹳雀楼", "王之涣", ["白日依山尽，", "黄河入海流。", "欲穷千里目，", "更上一层楼。"]],
].map(([title, author, lines]) => ({
  id: title as string,
  title: title as string,
  author: author as string,
  lines: lines as string[],
  chars_per_line: 5,
  n_lines: 4,
  split: "train" as const,
}));

/** What one pass computed; every number is read back from the backend. */
export interface SmokeResult {
  backend: string;
  platform: string;
  /** The first logits of the first prompt's last position. */
  logits: number[];
  labelsSaved: number;
  rewardLoss: number;
  ppo: { scores: number; kl: number; policyLoss: number };
  rloo: { loss: number; scores: number };
  /** Live tensors after the pass minus before it (0: nothing leaked). */
  leakedTensors: number;
}

/** The pass; the caller has set the tfjs backend. */
export async function browserSmoke(): Promise<SmokeResult> {
  const before = tf.memory().numTensors;
  const task = poetryTask(POEMS, { preference: "rules", requestsPerPoem: 1 });
  const tokenizer = buildCharVocab(task.vocabularyTexts(), { extraSpecialTokens: CHAT_SPECIAL_TOKENS });
  const stopId = endOfTurnId(tokenizer);
  const requests = task.prompts("train", 0);
  const prompts = requests.map((r) => encodePrompt(r.messages, tokenizer, chatTemplateFor(tokenizer)));
  const config = resolveGPT2Config({ vocab_size: tokenizer.vocabSize, n_positions: 96, n_embd: 32, n_layer: 1, n_head: 2 });
  const sft = createGPT2(config, { seed: 1 });

  // 1. Forward pass.
  const head = tf.tidy(() => {
    const out = logits(sft, tf.tensor2d([prompts[0]], undefined, "int32"));
    return out.slice([0, prompts[0].length - 1, 0], [1, 1, 5]).reshape([5]);
  });
  const firstLogits = Array.from(await head.data());
  head.dispose();

  // 2. Three answers a request, ranked by the simulated labeler on the gold score, saved and read back.
  const labeler = new SimulatedLabeler({ seed: 0 });
  const K = 3;
  const { tokens } = await generate(sft, prompts.flatMap((p) => [p, p, p]), { maxNewTokens: 10, stopIds: [stopId], rng: new Rng(2) });
  const lists: RankRecord[] = requests.map((request, i) => {
    const answers = tokens.slice(i * K, (i + 1) * K).map((t) => tokenizer.decode(t.filter((id) => id !== stopId)));
    const order = labeler.rank(answers.map((a) => task.score(request, a).total), request.id);
    return {
      prompt_id: request.id,
      prompt: request.messages,
      responses: order.map((j) => answers[j]),
      labeler: labeler.name,
      time: "2026-01-01T00:00:00.000Z",
      checkpoint: "smoke",
      ranks: [1, 2, 3],
    };
  });
  const path = `${await platform().makeTempDir()}/labels/poetry.jsonl`;
  const labelsSaved = await appendLabels(path, lists);
  const loaded = await loadLabels(path);

  // 3. One reward-model step on the rank lists.
  const rm = createRewardModel(sft, { seed: 3 });
  const history = await trainRewardModel(rm, tokenizer, loaded, { epochs: 1, listsPerStep: loaded.length, quiet: true });
  const reward = async (_: number[], responses: number[][]) => {
    const ids = responses.map((r) => [...r, ...Array(10 - r.length).fill(0)]);
    const scores = tf.tidy(() => rawRewards(rm, tf.tensor2d(ids, undefined, "int32"), responses.map((r) => Math.max(0, r.length - 1))));
    const values = Array.from(await scores.data());
    scores.dispose();
    return values;
  };

  // 4. One PPO iteration against the reward model.
  const policy = createPolicy(sft);
  const reference = cloneGPT2(sft, { trainable: false });
  const ppoConfig = resolvePPOConfig({ batchSize: 4, miniBatchSize: 2, ppoEpochs: 1, maxNewTokens: 8, klTarget: undefined, ptxCoef: 0 });
  const optimizer = createPolicyOptimizer(policy, ppoConfig);
  const { stats } = await ppoIteration({
    policy,
    reference,
    optimizer,
    klController: new FixedKLController(ppoConfig.initKlCoef),
    prompts: [prompts[0], prompts[1], prompts[2], prompts[0]],
    reward,
    config: ppoConfig,
    stopId,
    padId: 0,
    rng: new Rng(4),
  });
  optimizer.dispose();

  // 5. One RLOO iteration (groups of 4 answers to a request).
  const lm = cloneGPT2(sft);
  const groupOptimizer = new AdamW(lm.params, { weightDecay: 0 });
  const group = await groupIteration({
    lm,
    reference,
    optimizer: groupOptimizer,
    prompts: prompts.slice(0, 2),
    reward,
    config: { ...GROUP_DEFAULTS, method: "rloo", klIn: "reward", maxNewTokens: 8, miniBatchSize: 4 },
    stopId,
    padId: 0,
    rng: new Rng(5),
  });
  groupOptimizer.dispose();
  disposeGPT2(lm);
  disposePolicy(policy);
  disposeGPT2(reference);
  disposeRewardModel(rm);
  disposeGPT2(sft);

  return {
    backend: tf.getBackend(),
    platform: platform().name,
    logits: firstLogits,
    labelsSaved,
    rewardLoss: history.train[0].loss,
    ppo: { scores: stats["objective/scores"], kl: stats["objective/kl"], policyLoss: stats["loss/policy"] },
    rloo: { loss: group.stats["loss/policy"], scores: group.scores.reduce((a, b) => a + b, 0) / group.scores.length },
    leakedTensors: tf.memory().numTensors - before,
  };
}

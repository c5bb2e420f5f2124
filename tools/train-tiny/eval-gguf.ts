/**
 * Measures the GGUF model on the arithmetic task with node-llama-cpp: greedy accuracy,
 * single-sample accuracy (mean over the samples), majority vote over the samples (maj@k),
 * the sample the exact step checker scores highest (checker@k) and at least one correct
 * sample (pass@k), per level. Reproduces the table in models/README.md:
 *
 *   npx tsx tools/train-tiny/eval-gguf.ts --model models/reckon-tiny.gguf --count 100 --samples 16
 */
import { parseArgs } from "node:util";
import { getLlama, LlamaCompletion } from "node-llama-cpp";
import {
  arithmeticLevels,
  arithmeticTask,
  generateArithmeticProblems,
  toProblem,
} from "../../src/tasks/arithmetic.js";
import { scoreArithmeticCandidate } from "../../src/verifiers/step-checker.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/reckon-tiny.gguf" },
    count: { type: "string", default: "100" },
    samples: { type: "string", default: "16" },
    temperature: { type: "string", default: "1" },
    seed: { type: "string", default: "1" },
    levels: { type: "string", default: arithmeticLevels.join(",") },
    "max-tokens": { type: "string", default: "96" },
    threads: { type: "string", default: "1" },
    show: { type: "boolean", default: false },
  },
});
const count = Number(values.count);
const samples = Number(values.samples);
const temperature = Number(values.temperature);
const problemSeed = Number(values.seed);
const levels = values.levels.split(",").map(Number);
const maxTokens = Number(values["max-tokens"]);

const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath: values.model });
const context = await model.createContext({
  contextSize: 256 * samples,
  sequences: samples,
  batchSize: 512,
  threads: Number(values.threads),
});
const completions = Array.from(
  { length: samples },
  () => new LlamaCompletion({ contextSequence: context.getSequence() }),
);

function majority(answers: (string | undefined)[]): string | undefined {
  const counts = new Map<string, number>();
  let best: string | undefined;
  for (const a of answers) {
    if (a === undefined) continue;
    const n = (counts.get(a) ?? 0) + 1;
    counts.set(a, n);
    if (best === undefined || n > counts.get(best)!) best = a;
  }
  return best;
}

console.log(
  `model ${values.model}, T=${temperature}, ${count} problems/level (seed ${problemSeed}), ${samples} samples`,
);
console.log("| level | greedy | single | maj@%d | checker@%d | pass@%d |".replaceAll("%d", String(samples)));
console.log("|---|---|---|---|---|---|");
const started = Date.now();
for (const level of levels) {
  let greedy = 0;
  let single = 0;
  let maj = 0;
  let pass = 0;
  let checker = 0;
  const problems = generateArithmeticProblems({ level, count, seed: problemSeed });
  for (const [pi, p] of problems.entries()) {
    const correct = (text: string) => {
      const a = arithmeticTask.extractAnswer(text);
      return a !== undefined && arithmeticTask.isCorrect(a, p.reference);
    };
    const greedyText = await completions[0]!.generateCompletion(p.prompt, { temperature: 0, maxTokens });
    if (correct(greedyText)) greedy++;
    const texts = await Promise.all(
      completions.map((c, i) =>
        c.generateCompletion(p.prompt, {
          temperature,
          topK: 0,
          topP: 1,
          minP: 0,
          seed: problemSeed * 1_000_003 + level * 10_007 + pi * 101 + i,
          maxTokens,
        }),
      ),
    );
    const answers = texts.map((t) => arithmeticTask.extractAnswer(t));
    const ok = texts.filter(correct).length;
    single += ok / samples;
    const voted = majority(answers);
    if (voted !== undefined && arithmeticTask.isCorrect(voted, p.reference)) maj++;
    if (ok > 0) pass++;
    const scores = texts.map((t) => scoreArithmeticCandidate(toProblem(p), t));
    if (correct(texts[scores.indexOf(Math.max(...scores))]!)) checker++;
    if (values.show && pi < 3)
      console.error(JSON.stringify({ prompt: p.prompt, greedyText, sample: texts[0] }));
  }
  const pct = (x: number) => `${((100 * x) / count).toFixed(1)}%`;
  console.log(
    `| ${level} | ${pct(greedy)} | ${pct(single)} | ${pct(maj)} | ${pct(checker)} | ${pct(pass)} |`,
  );
}
console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
await context.dispose();
await model.dispose();
await llama.dispose();

/**
 * Builds a replay file from MATH-500: each problem's reference solution (correct, high noisy
 * reward) and perturbed copies whose boxed answer is changed (wrong, lower noisy reward). It
 * gives voting and verification strategies realistic material to work on without a model.
 *
 *   npx tsx tools/make-math-replay.ts --out /tmp/math-replay.jsonl \
 *     [--dataset ../shared/datasets/math500-test.jsonl] [--samples 8] [--correct 0.5] \
 *     [--seed 1] [--limit 100] [--levels 1,2,3]
 *
 * Output is data for tests and demos; it is generated where needed, not committed.
 */
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type DatasetRow, loadDataset } from "../src/bench/datasets.js";
import { type ReplayRow, writeReplayRows } from "../src/bench/replay-format.js";
import { deriveSeed, type Random, seededRandom } from "../src/core/random.js";
import { renderPrompt } from "../src/tasks/registry.js";

/** How the synthetic samples are drawn. */
export interface MathReplayOptions {
  /** Samples per problem (default 8). */
  samples?: number;
  /** Mean probability that a sample is correct (default 0.5); harder levels get less. */
  correctFraction?: number;
  seed?: number;
  /** The prompt sent for a question (default: the math task's own prompt). */
  prompt?: (question: string) => string;
}

const openers = [
  "",
  "Let's work through this step by step.\n\n",
  "We solve the problem directly.\n\n",
  "First, set up what we know.\n\n",
  "Let us reason carefully.\n\n",
  "Here is a solution.\n\n",
  "Consider the problem step by step.\n\n",
  "We proceed as follows.\n\n",
];

/** Synthetic replay rows for the given MATH problems (rows need `meta.solution`). */
export function makeMathReplayRows(
  problems: readonly DatasetRow[],
  options: MathReplayOptions = {},
): ReplayRow[] {
  const samples = options.samples ?? 8;
  const fraction = options.correctFraction ?? 0.5;
  const seed = options.seed ?? 1;
  const prompt = options.prompt ?? ((question: string) => renderPrompt("math", question));
  return problems.map((problem) => {
    const random = seededRandom(deriveSeed(seed, "math-replay", problem.id));
    // Easier levels are solved more often; the mean over levels stays near `fraction`.
    const levelShift = problem.level === undefined ? 0 : (3 - problem.level) * 0.12;
    const pCorrect = clamp(fraction + levelShift + (random() - 0.5) * 0.3, 0.02, 0.98);
    const solution = withBoxed(String(problem.meta?.solution ?? ""), problem.reference);
    const wrongAnswers = perturbedAnswers(problem.reference, 3, random);
    return {
      id: problem.id,
      prompt: prompt(problem.question),
      reference: problem.reference,
      samples: Array.from({ length: samples }, (_, j) => {
        const correct = random() < pCorrect;
        // Wrong answers cluster (0.6 / 0.3 / 0.1) so that a popular wrong answer can win a vote.
        const u = random();
        const wrong = wrongAnswers[u < 0.6 ? 0 : u < 0.9 ? 1 : 2]!;
        const body = correct ? solution : replaceBoxed(solution, wrong);
        const opener = openers[j % openers.length]!;
        const text = `${opener}${body}${j >= openers.length ? `\n\n(Checked ${j + 1}.)` : ""}`;
        const reward = round(
          clamp(gaussian(random, correct ? 0.78 : 0.42, correct ? 0.12 : 0.18), 0.01, 0.99),
        );
        const steps = text.split(/\n\n+/).filter((s) => s.trim() !== "").length;
        const step_rewards = Array.from({ length: steps }, (_, i) =>
          i === steps - 1 ? reward : round(clamp(gaussian(random, correct ? 0.8 : 0.6, 0.1), 0.01, 0.99)),
        );
        return { text, reward, step_rewards };
      }),
      meta: { level: problem.level, subject: problem.subject },
    };
  });
}

/** The solution with its boxed answer; appends one when the solution states none. */
function withBoxed(solution: string, answer: string): string {
  return solution.includes("\\boxed{")
    ? solution
    : `${solution}\n\nThe final answer is $\\boxed{${answer}}$.`;
}

/** Replaces the content of the last `\boxed{...}` (balanced braces) with `answer`. */
export function replaceBoxed(text: string, answer: string): string {
  const start = text.lastIndexOf("\\boxed{");
  if (start < 0) return `${text}\n\nThe final answer is $\\boxed{${answer}}$.`;
  let depth = 0;
  const open = start + "\\boxed".length;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return `${text.slice(0, open + 1)}${answer}${text.slice(i)}`;
  }
  return text;
}

/** `count` distinct wrong answers: a number in the answer shifted, or a term added when it has none. */
export function perturbedAnswers(answer: string, count: number, random: Random): string[] {
  const found = new Set<string>([answer]);
  // Exponents are often units (`cm^2`) that graders strip, so changing them would not make a wrong answer.
  const all = [...answer.matchAll(/\d+/g)];
  const bases = all.filter((m) => answer[m.index - 1] !== "^");
  const numbers = bases.length > 0 ? bases : all;
  for (let attempt = 0; found.size <= count && attempt < 50; attempt++) {
    if (numbers.length === 0) {
      found.add(`${answer} + ${attempt + 1}`);
      continue;
    }
    const target = numbers[Math.floor(random() * numbers.length)]!;
    const value = Number(target[0]);
    const shifted = Math.max(0, value + (random() < 0.5 ? -1 : 1) * (1 + Math.floor(random() * 9)));
    if (shifted === value) continue;
    found.add(`${answer.slice(0, target.index)}${shifted}${answer.slice(target.index! + target[0].length)}`);
  }
  found.delete(answer);
  return [...found].slice(0, count);
}

function gaussian(random: Random, mean: number, sd: number): number {
  const u = 1 - random();
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      dataset: { type: "string" },
      samples: { type: "string", default: "8" },
      correct: { type: "string", default: "0.5" },
      seed: { type: "string", default: "1" },
      limit: { type: "string" },
      levels: { type: "string" },
    },
  });
  if (!values.out) throw new Error("--out FILE is required");
  const problems = await loadDataset({
    name: "math500",
    path: values.dataset,
    limit: values.limit === undefined ? undefined : Number(values.limit),
    seed: values.limit === undefined ? undefined : Number(values.seed),
    levels: values.levels?.split(",").map(Number) as [number, ...number[]] | undefined,
  });
  const rows = makeMathReplayRows(problems, {
    samples: Number(values.samples),
    correctFraction: Number(values.correct),
    seed: Number(values.seed),
  });
  writeFileSync(values.out, writeReplayRows(rows));
  process.stdout.write(`wrote ${rows.length} problems × ${values.samples} samples to ${values.out}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}

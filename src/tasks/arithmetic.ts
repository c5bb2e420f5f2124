/**
 * The synthetic multi-step arithmetic task that the bundled model (models/reckon-tiny.gguf)
 * was trained on. Problems are drawn from src/tasks/arithmetic-spec.json with a seeded PRNG
 * shared with the training tool, so a (level, seed, index) triple is the same problem in both.
 *
 * Prompt: `Q: 5+12*3-7*4=?\n`; solution: one reduction per line, products first (left to
 * right), then sums and differences left to right, then the answer:
 * `12*3=36\n7*4=28\n5+36=41\n41-28=13\nA: 13`.
 */
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { Mulberry32, mixSeed } from "../core/random.js";
import { type Problem, referenceTask } from "../core/types.js";
import rawSpec from "./arithmetic-spec.json" with { type: "json" };

export type Operator = "+" | "-" | "*";

const levelSpecSchema = z.object({
  level: z.number().int().positive(),
  operations: z.number().int().positive(),
  operators: z.array(z.enum(["+", "-", "*"])).min(1),
  minOperand: z.number().int().nonnegative(),
  maxOperand: z.number().int().positive(),
  maxFactor: z.number().int().min(2),
});

const specSchema = z.object({
  description: z.string().optional(),
  maxValue: z.number().int().positive(),
  maxAttempts: z.number().int().positive(),
  levels: z.array(levelSpecSchema).min(1),
});

export type ArithmeticLevelSpec = z.infer<typeof levelSpecSchema>;
export type ArithmeticSpec = z.infer<typeof specSchema>;

export const arithmeticSpec: ArithmeticSpec = specSchema.parse(rawSpec);
export const arithmeticLevels: readonly number[] = arithmeticSpec.levels.map((l) => l.level);

/** The exact text the model was trained to continue. */
export function arithmeticPrompt(expression: string): string {
  return `Q: ${expression}=?\n`;
}

/** The trained prompt for a question given as `5+3`, `5+3=?` or an already formatted prompt. */
export function formatArithmeticPrompt(question: string): string {
  const trimmed = question.trim();
  const expression = parseArithmeticPrompt(`${trimmed}\n`) ?? trimmed.replace(/=\s*\??$/, "");
  return arithmeticPrompt(expression.replace(/\s+/g, ""));
}

/** The expression inside a prompt of the trained format, or undefined for any other text. */
export function parseArithmeticPrompt(prompt: string): string | undefined {
  const match = /^Q: ([0-9+\-*]+)=\?\n?$/.exec(prompt);
  return match?.[1];
}

export interface ArithmeticStep {
  left: number;
  op: Operator;
  right: number;
  result: number;
}

export interface ArithmeticProblem {
  id: string;
  level: number;
  expression: string;
  prompt: string;
  reference: string;
  /** Worked steps in canonical order, e.g. `12*3=36`. */
  steps: string[];
  /** The full target text: steps, one per line, then `A: n`. */
  solution: string;
}

export function applyOperator(a: number, op: Operator, b: number): number {
  if (op === "+") return a + b;
  if (op === "-") return a - b;
  return a * b;
}

export const formatStep = (s: ArithmeticStep): string => `${s.left}${s.op}${s.right}=${s.result}`;

/** Canonical reduction; undefined when an intermediate value leaves [0, maxValue]. */
export function solveCanonical(
  numbers: readonly number[],
  operators: readonly Operator[],
  maxValue = Number.POSITIVE_INFINITY,
): ArithmeticStep[] | undefined {
  const nums = [...numbers];
  const ops = [...operators];
  const steps: ArithmeticStep[] = [];
  while (ops.length > 0) {
    const mul = ops.indexOf("*");
    const j = Math.max(mul, 0);
    const left = nums[j]!;
    const op = ops[j]!;
    const right = nums[j + 1]!;
    const result = applyOperator(left, op, right);
    if (result < 0 || result > maxValue) return undefined;
    steps.push({ left, op, right, result });
    nums.splice(j, 2, result);
    ops.splice(j, 1);
  }
  return steps;
}

export function formatSolution(steps: readonly ArithmeticStep[]): string {
  const last = steps[steps.length - 1];
  if (!last) throw new InvalidInputError("steps", "a solution needs at least one step");
  return `${steps.map((s) => `${formatStep(s)}\n`).join("")}A: ${last.result}`;
}

function levelSpec(level: number): ArithmeticLevelSpec {
  const spec = arithmeticSpec.levels.find((l) => l.level === level);
  if (!spec)
    throw new InvalidInputError(
      "level",
      `unknown level ${level}`,
      `use one of ${arithmeticLevels.join(", ")}`,
    );
  return spec;
}

/** Problem `index` of (level, seed): independent of how many are drawn. */
export function generateArithmeticProblem(level: number, seed: number, index: number): ArithmeticProblem {
  const cfg = levelSpec(level);
  const rng = new Mulberry32(mixSeed(seed, level, index));
  const n = cfg.operations;
  for (let attempt = 0; attempt < arithmeticSpec.maxAttempts; attempt++) {
    const ops = Array.from({ length: n }, () => rng.pick(cfg.operators));
    const nums: number[] = [];
    for (let i = 0; i <= n; i++) {
      const nextToMul = (i > 0 && ops[i - 1] === "*") || (i < n && ops[i] === "*");
      nums.push(nextToMul ? rng.int(2, cfg.maxFactor) : rng.int(cfg.minOperand, cfg.maxOperand));
    }
    const steps = solveCanonical(nums, ops, arithmeticSpec.maxValue);
    if (!steps) continue;
    const expression = nums.map((v, i) => (i === 0 ? `${v}` : `${ops[i - 1]}${v}`)).join("");
    return {
      id: `arith-L${level}-s${seed}-${index}`,
      level,
      expression,
      prompt: arithmeticPrompt(expression),
      reference: String(steps[steps.length - 1]!.result),
      steps: steps.map(formatStep),
      solution: formatSolution(steps),
    };
  }
  throw new InvalidInputError(
    "level",
    `no valid problem found for level ${level}, seed ${seed}, index ${index}`,
  );
}

export const generateOptionsSchema = z.object({
  level: z.number().int().positive(),
  count: z.number().int().nonnegative(),
  seed: z.number().int().min(0).max(0xffffffff).default(0),
  /** Index of the first problem, to continue a sequence. */
  start: z.number().int().nonnegative().default(0),
});
export type GenerateOptions = z.input<typeof generateOptionsSchema>;

export function generateArithmeticProblems(options: GenerateOptions): ArithmeticProblem[] {
  const parsed = generateOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(issue.path.join(".") || "options", issue.message);
  }
  const { level, count, seed, start } = parsed.data;
  return Array.from({ length: count }, (_, i) => generateArithmeticProblem(level, seed, start + i));
}

/** Integers with optional sign and leading zeros normalised; undefined for anything else. */
function normaliseInteger(text: string): string | undefined {
  const match = /^\s*([+-]?)0*(\d+)\s*$/.exec(text);
  if (!match) return undefined;
  const digits = match[2]!;
  return digits === "0" || match[1] !== "-" ? digits : `-${digits}`;
}

/** Reads the first `A: n` line; the model stops after it, later text is not an answer. */
export function extractArithmeticAnswer(text: string): string | undefined {
  const match = /(?:^|\n)\s*A:\s*([+-]?\d+)/.exec(text);
  return match ? normaliseInteger(match[1]!) : undefined;
}

function sameInteger(a: string, b: string): boolean {
  const x = normaliseInteger(a);
  return x !== undefined && x === normaliseInteger(b);
}

export const arithmeticTask = referenceTask({
  name: "arithmetic",
  extractAnswer: extractArithmeticAnswer,
  equivalent: sameInteger,
  isCorrect: sameInteger,
  prompt: formatArithmeticPrompt,
  /** One reduction per line. */
  stepDelimiter: "\n",
});

/** Whether a task name is this task's (the step checker judges only its steps). */
export const isArithmeticTask = (name: string): boolean => name === arithmeticTask.name;

/** A generated problem as the engine's Problem (completion-style prompt). */
export function toProblem(p: ArithmeticProblem): Problem {
  return { id: p.id, prompt: p.prompt, reference: p.reference, task: arithmeticTask };
}

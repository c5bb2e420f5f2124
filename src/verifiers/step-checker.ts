/**
 * Exact checker for solutions of the arithmetic task (src/tasks/arithmetic.ts).
 *
 * It replays the solution against the problem's expression: every line `a op b = c` must
 * reduce two adjacent numbers of the current expression in a way precedence allows, with the
 * right result; `A: n` must state the fully reduced value. After a wrong result the replay
 * continues from the stated value, so each verdict is about that step alone (a process
 * reward model's view); aggregate with min or product for "everything so far is right".
 * Optional noise flips verdicts at a seeded rate to imitate an imperfect learned verifier.
 */
import { z } from "zod";
import { InvalidInputError } from "../core/errors.js";
import { hashText, Mulberry32, mixSeed } from "../core/random.js";
import type { Candidate, Problem } from "../core/types.js";
import type { Verifier } from "../core/verifier.js";
import { applyOperator, type Operator, parseArithmeticPrompt } from "../tasks/arithmetic.js";

export type StepVerdictKind =
  | "valid"
  | "wrong-result"
  | "illegal-reduction"
  | "malformed"
  | "answer-consistent"
  | "answer-inconsistent"
  | "answer-incomplete";

export interface StepVerdict {
  /** 0-based line index among the checked lines (blank lines skipped). */
  index: number;
  line: string;
  /** True for steps and answers the replay accepts. */
  valid: boolean;
  kind: StepVerdictKind;
  /** The expression after this line, as the replay tracks it. */
  expression: string;
  /** The value the step should have produced, for wrong results. */
  expected?: number;
}

export interface StepCheck {
  steps: StepVerdict[];
  /** The verdict of the `A:` line, when there is one (also the last entry of `steps`). */
  answer?: StepVerdict;
  /** Every line valid, expression fully reduced and a consistent `A:` line. */
  complete: boolean;
  /** Complete and the stated answer is the true value of the expression. */
  correct: boolean;
  /** The true value of the expression. */
  value: number;
}

interface State {
  nums: number[];
  ops: Operator[];
}

function parseExpression(expression: string): State {
  const parts = expression.split(/([+\-*])/);
  const nums: number[] = [];
  const ops: Operator[] = [];
  parts.forEach((part, i) => {
    if (i % 2 === 1) ops.push(part as Operator);
    else if (/^\d+$/.test(part)) nums.push(Number(part));
    else throw new InvalidInputError("expression", `cannot read "${expression}" as an arithmetic expression`);
  });
  return { nums, ops };
}

const render = (s: State): string =>
  s.nums.map((v, i) => (i === 0 ? `${v}` : `${s.ops[i - 1]}${v}`)).join("");

/** Whether reducing nums[j] ops[j] nums[j+1] first keeps the expression's value. */
function legalAt(s: State, j: number): boolean {
  if (s.ops[j] === "*") return true;
  const before = s.ops[j - 1];
  const after = s.ops[j + 1];
  return (before === undefined || before === "+") && after !== "*";
}

function evaluate(s: State): number {
  const state: State = { nums: [...s.nums], ops: [...s.ops] };
  while (state.ops.length > 0) {
    const mul = state.ops.indexOf("*");
    const j = Math.max(mul, 0);
    state.nums.splice(j, 2, applyOperator(state.nums[j]!, state.ops[j]!, state.nums[j + 1]!));
    state.ops.splice(j, 1);
  }
  return state.nums[0]!;
}

const STEP_LINE = /^\s*(-?\d+)\s*([+\-*])\s*(-?\d+)\s*=\s*(-?\d+)\s*$/;
const ANSWER_LINE = /^\s*A:\s*(-?\d+)\s*$/;

/** Replays `solution` (the model's text after the prompt) against `expression`. */
export function checkArithmeticSolution(expression: string, solution: string): StepCheck {
  const state = parseExpression(expression);
  const value = evaluate(state);
  const steps: StepVerdict[] = [];
  let answer: StepVerdict | undefined;
  const lines = solution.split("\n").filter((l) => l.trim() !== "");
  for (const line of lines) {
    const index = steps.length;
    const answerMatch = ANSWER_LINE.exec(line);
    if (answerMatch) {
      const stated = Number(answerMatch[1]);
      const reduced = state.ops.length === 0;
      const kind: StepVerdictKind = !reduced
        ? "answer-incomplete"
        : stated === state.nums[0]
          ? "answer-consistent"
          : "answer-inconsistent";
      answer = { index, line, valid: kind === "answer-consistent", kind, expression: render(state) };
      steps.push(answer);
      break; // text after the answer is not part of the solution
    }
    const m = STEP_LINE.exec(line);
    if (!m) {
      steps.push({ index, line, valid: false, kind: "malformed", expression: render(state) });
      continue;
    }
    const [a, op, b, c] = [Number(m[1]), m[2] as Operator, Number(m[3]), Number(m[4])];
    let position = -1;
    for (let j = 0; j < state.ops.length; j++) {
      if (state.nums[j] === a && state.ops[j] === op && state.nums[j + 1] === b && legalAt(state, j)) {
        position = j;
        break;
      }
    }
    if (position < 0) {
      steps.push({ index, line, valid: false, kind: "illegal-reduction", expression: render(state) });
      continue;
    }
    const expected = applyOperator(a, op, b);
    state.nums.splice(position, 2, c);
    state.ops.splice(position, 1);
    const ok = expected === c;
    const verdict: StepVerdict = {
      index,
      line,
      valid: ok,
      kind: ok ? "valid" : "wrong-result",
      expression: render(state),
    };
    if (!ok) verdict.expected = expected;
    steps.push(verdict);
  }
  const complete = answer !== undefined && steps.every((s) => s.valid);
  const correct = complete && Number(ANSWER_LINE.exec(answer!.line)![1]) === value;
  const check: StepCheck = { steps, complete, correct, value };
  if (answer) check.answer = answer;
  return check;
}

export const stepCheckerOptionsSchema = z.object({
  /** Probability of flipping each verdict, to imitate an imperfect learned verifier. */
  noise: z.number().min(0).max(1).default(0),
  seed: z.number().int().min(0).max(0xffffffff).default(0),
});
export type StepCheckerOptions = z.input<typeof stepCheckerOptionsSchema>;

function parseOptions(options: StepCheckerOptions | undefined): z.output<typeof stepCheckerOptionsSchema> {
  const parsed = stepCheckerOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(`stepChecker.${issue.path.join(".")}`, issue.message);
  }
  return parsed.data;
}

/** The expression a problem asks about; its prompt must be in the trained format. */
export function problemExpression(problem: Problem): string {
  const prompt =
    typeof problem.prompt === "string"
      ? problem.prompt
      : ([...problem.prompt].reverse().find((m) => m.role === "user")?.content ?? "");
  const expression = parseArithmeticPrompt(prompt);
  if (expression === undefined) {
    throw new InvalidInputError(
      "problem.prompt",
      `problem ${problem.id} is not an arithmetic prompt "Q: <expr>=?"`,
    );
  }
  return expression;
}

/**
 * One verdict per line of `text` (steps, then the `A:` line if present): 1 valid, 0 not.
 * With noise, each verdict flips with that probability; the flip depends only on the seed,
 * the problem and the text up to that line, so re-scoring a shared prefix gives the same value.
 */
export function scoreArithmeticSteps(problem: Problem, text: string, options?: StepCheckerOptions): number[] {
  const { noise, seed } = parseOptions(options);
  const expression = problemExpression(problem);
  const check = checkArithmeticSolution(expression, text);
  let prefix = "";
  return check.steps.map((step) => {
    prefix += `${step.line}\n`;
    const exact = step.valid ? 1 : 0;
    if (noise === 0) return exact;
    const rng = new Mulberry32(mixSeed(seed, hashText(expression), hashText(prefix)));
    return rng.next() < noise ? 1 - exact : exact;
  });
}

/**
 * Outcome score of a whole candidate from its step verdicts: the fraction of valid steps,
 * 0 when the stated answer is judged inconsistent, halved when there is no answer yet.
 * Exactly 1 only for a complete solution whose every line is judged valid.
 */
export function scoreArithmeticCandidate(
  problem: Problem,
  text: string,
  options?: StepCheckerOptions,
): number {
  const scores = scoreArithmeticSteps(problem, text, options);
  if (scores.length === 0) return 0;
  const hasAnswer = checkArithmeticSolution(problemExpression(problem), text).answer !== undefined;
  const stepScores = hasAnswer ? scores.slice(0, -1) : scores;
  const answerScore = hasAnswer ? scores[scores.length - 1]! : 0.5;
  if (answerScore === 0) return 0;
  const fraction = stepScores.length === 0 ? 1 : stepScores.reduce((s, x) => s + x, 0) / stepScores.length;
  return fraction * answerScore;
}

/** The exact step checker as a Verifier; `noise` > 0 makes it an imperfect, seeded verifier. */
export function stepCheckerVerifier(options?: StepCheckerOptions): Verifier {
  const parsed = parseOptions(options);
  return {
    name: parsed.noise > 0 ? `step-checker(noise=${parsed.noise})` : "step-checker",
    async score(problem: Problem, candidates: readonly Candidate[]) {
      return candidates.map((c) => scoreArithmeticCandidate(problem, c.text, parsed));
    },
    // As a process verifier: a step (one or more lines) is as good as its worst line.
    async scoreSteps(problem: Problem, prefix: string, steps: readonly string[]) {
      const lineCount = (text: string) => text.split("\n").filter((line) => line.trim() !== "").length;
      const verdicts = scoreArithmeticSteps(problem, prefix + steps.join(""), parsed);
      let at = lineCount(prefix);
      return steps.map((step) => {
        const lines = lineCount(step);
        const own = verdicts.slice(at, at + lines);
        at += lines;
        return own.length === 0 ? 0 : Math.min(...own);
      });
    },
  };
}
